"""A whole-database backup as plain files: one CSV per model plus ``manifest.json``.

``export_all(directory=)`` writes every record through the same Resources as the admin and the
public CSV (``<app>/resources.py``), so the files are the familiar columns: other records by slug,
many-to-many links ``|``-separated, county designations ``code:source``, dates with their precision,
exact decimals, and each record's ``version``. One more file, ``county-designations.csv``, keeps
what the counties' column leaves out: the quote behind each designation.

``import_all(directory=)`` puts such a backup into an **empty** database. It reads and checks
everything before writing anything (the manifest's format version, each file's size, SHA-256,
row count and header), then imports all files in one transaction: one bad row and nothing is
written. Each record keeps the version it had.

Both sides handle only regular files in the folder itself. ``import_all`` refuses a symbolic link
or anything else that is not a regular file (a link to a file elsewhere, to ``/dev/zero``, a
FIFO) before reading it, and checks each file's size against the manifest and against
``MAX_FILE_BYTES`` (the manifest against ``MAX_MANIFEST_BYTES``) before reading a byte of it.
``export_all`` writes into a new or empty folder only, and creates each file exclusively
(``O_EXCL``): it never writes through a link or over a file someone put there.

Not in the backup: user accounts, groups and permissions, login attempts, sessions, and the change
history (each restored record's history starts with one "restored from backup …" entry, without
its links). ``pg_dump``
keeps all of those (see README, Deploying).
"""

from __future__ import annotations

import csv
import datetime
import errno
import hashlib
import io
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import tablib
from django.db import transaction
from django.test.utils import override_settings
from django.utils.module_loading import import_string

from core import registry
from core.csvexport import export_rows

FORMAT = "rural-programs-tracker-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
# Larger files are refused before they are read: the restore holds every file in memory at once.
MAX_FILE_BYTES = 1024**3
MAX_MANIFEST_BYTES = 1024**2


class BackupError(Exception):
    """The backup cannot be written or read; ``problems`` lists every reason, one line each."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True)
class Part:
    resource: str  # dotted path of the model's Resource
    file: str
    #: self-referencing column (a program's parent): referenced rows must be imported first
    self_reference: str = ""

    @property
    def resource_class(self):
        return import_string(self.resource)

    @property
    def model(self):
        return self.resource_class._meta.model

    @property
    def label(self) -> str:
        """``app_label.ModelName``, the model's name in the manifest."""
        return self.model._meta.label


def parts() -> list[Part]:
    """Every record type of ``core.registry``, in import order: a record after the records it refers to."""
    return [Part(t.resource, f"{t.key}.csv", t.self_reference) for t in registry.record_types()]


# The quotes of county designations (the County Resource's column has code and source only).
DESIGNATIONS = "counties.CountyDesignation"
DESIGNATIONS_FILE = "county-designations.csv"
DESIGNATIONS_HEADERS = ["county", "designation", "source", "quote"]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------
# Export


def csv_bytes(headers, rows) -> tuple[bytes, int]:
    """A header row and ``rows`` as UTF-8 CSV bytes, and the number of rows."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(headers)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return buffer.getvalue().encode("utf-8"), count


def export_csv(part: Part) -> tuple[bytes, int]:
    """One model as CSV bytes (ordered by slug) and its row count."""
    headers = part.resource_class().get_export_headers()
    return csv_bytes(headers, export_rows(part.resource_class, part.model._base_manager.order_by("slug")))


def export_designations_csv() -> tuple[bytes, int]:
    from counties.models import CountyDesignation

    return csv_bytes(DESIGNATIONS_HEADERS, sorted(
        (d.county.slug, d.designation, d.source.slug if d.source_id else "", d.quote)
        for d in CountyDesignation.objects.select_related("county", "source")
    ))


def export_all(*, directory) -> dict:
    """Write every model's CSV and the manifest into ``directory``: a new folder (created) or an
    empty one. Each file is created exclusively (mode ``x``), never written through a link."""
    directory = Path(directory)
    prepare_empty_folder(directory)
    exports = [(part.label, part.file, lambda part=part: export_csv(part)) for part in parts()]
    exports.append((DESIGNATIONS, DESIGNATIONS_FILE, export_designations_csv))
    files = []
    # One read-only snapshot: on PostgreSQL a transaction sees one state of the database throughout.
    with transaction.atomic():
        for label, file, export in exports:
            data, count = export()
            write_new_file(directory, file, data)
            files.append({"model": label, "file": file, "rows": count, "bytes": len(data), "sha256": sha256(data)})
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "files": files,
    }
    # Written last: a folder without a manifest is an unfinished backup, and import_all refuses it.
    write_new_file(directory, MANIFEST, (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    return manifest


def prepare_empty_folder(directory: Path) -> None:
    """Create ``directory``, or check that it is an empty folder (anything in it, a planted link
    included, could be written through or mistaken for part of the backup)."""
    try:
        directory.mkdir(parents=True)
        return
    except FileExistsError:
        pass
    except OSError as exc:
        raise BackupError([f"cannot create {directory} ({exc.strerror})"]) from None
    if not directory.is_dir():
        raise BackupError([f"{directory} exists and is not a folder; choose a new or empty folder"])
    present = sorted(os.listdir(directory))
    if MANIFEST in present:
        raise BackupError([f"{directory} already holds a backup ({MANIFEST}); choose a new or empty folder"])
    if present:
        shown = ", ".join(present[:5]) + (", …" if len(present) > 5 else "")
        raise BackupError([f"{directory} is not empty ({shown}); choose a new or empty folder"])


def write_new_file(directory: Path, name: str, data: bytes) -> None:
    """``data`` into a file ``name`` that must not exist yet (``O_CREAT | O_EXCL``: not even as a link)."""
    try:
        with open(directory / name, "xb") as file:
            file.write(data)
    except FileExistsError:
        raise BackupError([
            f"{name} appeared in {directory} while the backup was written (something else writes there); "
            f"the backup is unfinished (no {MANIFEST})"
        ]) from None


# ---------------------------------------------------------------------------
# Import


def read_regular_file(directory: Path, name: str, limit: int, expected_size=None) -> bytes:
    """The bytes of ``name`` in ``directory``, which must be a regular file (not a symbolic link, a
    device or a FIFO) of at most ``limit`` bytes, and of ``expected_size`` bytes when given. Both
    are checked before anything is read; the file is opened without following a link
    (``O_NOFOLLOW``), so a link swapped in after the first look is refused too."""
    path = directory / name
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise BackupError([f"{name} is missing"]) from None
    except OSError as exc:
        raise BackupError([f"{name} cannot be read ({exc.strerror})"]) from None
    if stat.S_ISLNK(info.st_mode):
        raise BackupError([f"{name} is a symbolic link; a backup holds regular files only"])
    if not stat.S_ISREG(info.st_mode):
        raise BackupError([f"{name} is not a regular file; a backup holds regular files only"])
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise BackupError([f"{name} is a symbolic link; a backup holds regular files only"]) from None
        raise BackupError([f"{name} cannot be read ({exc.strerror})"]) from None
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise BackupError([f"{name} is not a regular file; a backup holds regular files only"])
        if info.st_size > limit:
            raise BackupError([f"{name}: {info.st_size} bytes, more than the {limit} a backup file may have"])
        if expected_size is not None and info.st_size != expected_size:
            raise BackupError([
                f"{name}: {info.st_size} bytes, the manifest says {expected_size} (truncated or changed)"])
        data = file.read(info.st_size + 1)
    if len(data) != info.st_size:
        raise BackupError([f"{name} changed while it was read"])
    return data


def read_manifest(directory: Path) -> dict:
    if not os.path.lexists(directory / MANIFEST):
        raise BackupError([f"no {MANIFEST} in {directory}: not a backup, or an unfinished one"])
    data = read_regular_file(directory, MANIFEST, MAX_MANIFEST_BYTES)
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BackupError([f"{MANIFEST} is not valid JSON ({exc})"]) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError([f"{MANIFEST} is not a {FORMAT} manifest"])
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError([
            f"backup format version {manifest.get('format_version')!r} is not supported "
            f"(this version reads {FORMAT_VERSION})"
        ])
    return manifest


def read_backup(directory) -> dict[str, tablib.Dataset]:
    """Every file of the backup, checked against the manifest, as Datasets by model label.

    Raises BackupError listing every problem found; reads only, writes nothing.
    """
    directory = Path(directory)
    manifest = read_manifest(directory)
    entries = {entry.get("model"): entry for entry in manifest.get("files", []) if isinstance(entry, dict)}
    problems, datasets = [], {}
    expected_files = [(part, part.label, part.file, part.resource_class().get_export_headers()) for part in parts()]
    expected_files.append((None, DESIGNATIONS, DESIGNATIONS_FILE, DESIGNATIONS_HEADERS))
    for part, label, file, expected in expected_files:
        try:
            headers, body = read_checked_csv(directory, entries.get(label), label, file, expected)
        except BackupError as exc:
            problems += exc.problems
            continue
        if part is not None:
            body = order_parents_first(body, headers, part)
        datasets[label] = tablib.Dataset(*body, headers=headers)
    unknown = set(entries) - {label for _, label, _, _ in expected_files}
    if unknown:
        problems.append(f"{MANIFEST} lists unknown models: {', '.join(sorted(map(str, unknown)))}")
    if problems:
        raise BackupError(problems)
    return datasets


def read_checked_csv(directory: Path, entry, label, file, expected_headers):
    """``(headers, rows)`` of one file after checking it against its manifest entry."""
    if not isinstance(entry, dict) or entry.get("file") != file:
        raise BackupError([f"{MANIFEST} does not list {file} for {label}"])
    size = entry.get("bytes")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise BackupError([f"{MANIFEST}: the size of {file} is not a number of bytes ({size!r})"])
    data = read_regular_file(directory, file, MAX_FILE_BYTES, expected_size=size)
    if sha256(data) != entry.get("sha256"):
        raise BackupError([f"{file}: SHA-256 does not match the manifest (the file was changed or damaged)"])
    try:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise BackupError([f"{file}: cannot be read as UTF-8 CSV ({exc})"]) from None
    headers, body = (rows[0], rows[1:]) if rows else ([], [])
    if headers != expected_headers:
        raise BackupError([f"{file}: columns {headers} are not the expected {expected_headers}"])
    if len(body) != entry.get("rows"):
        raise BackupError([f"{file}: {len(body)} rows, the manifest says {entry.get('rows')}"])
    if any(len(row) != len(headers) for row in body):
        raise BackupError([f"{file}: a row has the wrong number of cells"])
    return headers, body


def order_parents_first(rows: list[list[str]], headers: list[str], part: Part) -> list[list[str]]:
    """Rows reordered so that a row referring to another row of the same file (a parent program, a
    fund's successor) comes after it; the order is otherwise kept."""
    if not part.self_reference:
        return rows
    slug_at, ref_at = headers.index("slug"), headers.index(part.self_reference)
    in_file = {row[slug_at] for row in rows}
    done, ordered, pending = set(), [], list(rows)
    while pending:
        remaining = []
        for row in pending:
            ref = row[ref_at].strip()
            if not ref or ref not in in_file or ref in done:
                ordered.append(row)
                done.add(row[slug_at])
            else:
                remaining.append(row)
        if len(remaining) == len(pending):  # a cycle: let the import report it
            ordered.extend(remaining)
            break
        pending = remaining
    return ordered


def existing_records() -> dict[str, int]:
    return {part.label: part.model._base_manager.count() for part in parts()}


def import_all(*, directory, user=None) -> dict[str, int]:
    """Load a backup into an empty database, all or nothing; returns rows per model."""
    directory = Path(directory)
    datasets = read_backup(directory)  # every check before the first write
    present = {label: count for label, count in existing_records().items() if count}
    if present:
        raise BackupError([
            "the database is not empty (" + ", ".join(f"{label}: {count}" for label, count in present.items())
            + "); import_all only restores into an empty database"
        ])
    counts = {}
    with transaction.atomic():
        # Per-save history (one row per record and per link change) would make a restore many
        # times slower; each restored record gets one history row at the end instead.
        with override_settings(SIMPLE_HISTORY_ENABLED=False):
            import_files(datasets, directory, user, counts)
        from counties.models import CountyDesignation

        for model in [part.model for part in parts()] + [CountyDesignation]:
            model.history.bulk_history_create(
                list(model._base_manager.all()), batch_size=500,
                default_user=user if getattr(user, "pk", None) else None,
                default_change_reason=f"restored from backup {directory.name}"[:100],
            )
    return counts


def import_files(datasets, directory, user, counts):
    """Each file through its Resource, in parts() order; the first problem raises BackupError."""
    for part in parts():
        dataset = datasets[part.label]
        resource = part.resource_class()
        result = resource.import_data(dataset, dry_run=False, raise_errors=False, user=user,
                                      file_name=f"backup {directory.name}/{part.file}")
        problems = getattr(result, "problems", None) or []
        if result.has_errors() or result.has_validation_errors() or problems:
            raise BackupError([
                f"{part.file}: {p['where']} {p['column']}: {p['message']}".replace("  ", " ")
                for p in problems
            ] or [f"{part.file}: the import failed"])
        restore_versions(part, dataset)
        counts[part.label] = len(dataset)
    counts[DESIGNATIONS] = restore_designation_quotes(datasets[DESIGNATIONS])


def restore_designation_quotes(dataset: tablib.Dataset) -> int:
    """The counties' import created each designation without its quote: put the quotes back, and
    check that the designations are exactly the ones the file lists."""
    from counties.models import CountyDesignation

    current = {
        (d.county.slug, d.designation, d.source.slug if d.source_id else ""): d
        for d in CountyDesignation.objects.select_related("county", "source")
    }
    listed = {(row[0], row[1], row[2]): row[3] for row in dataset}
    if listed.keys() != current.keys():
        differ = sorted(set(listed) ^ set(current))[:5]
        raise BackupError([f"{DESIGNATIONS_FILE} does not match counties.csv: {differ}"])
    changed = []
    for key, quote in listed.items():
        if current[key].quote != quote:
            current[key].quote = quote
            changed.append(current[key])
    CountyDesignation.objects.bulk_update(changed, ["quote"], batch_size=500)
    return len(listed)


def restore_versions(part: Part, dataset: tablib.Dataset) -> None:
    """Each record gets back the version it had (a new row is saved as version 1)."""
    model = part.model
    wanted = {slug: int(version) for slug, version in zip(dataset["slug"], dataset["version"], strict=True) if version}
    changed = []
    for obj in model._base_manager.filter(slug__in=list(wanted)).only("pk", "slug", "version"):
        if obj.version != wanted[obj.slug]:
            obj.version = wanted[obj.slug]
            changed.append(obj)
    model._base_manager.bulk_update(changed, ["version"], batch_size=500)
