"""The seed files and the helpers every record app's seed loader uses, as plain functions.

``seeds/articles/*.txt`` are the cleaned articles (:func:`parse_article`); ``seeds/data/<key>.yaml`` (and
``<key>-*.yaml``) hold one record type each, keyed as ``core.registry`` names them. Loaders upsert on the
slug and save a row only when something in it differs (:func:`upsert`), so a second run changes nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist

from core.importing import PartialDateField, SlugForeignKeyWidget, SlugManyToManyWidget
from core.records import SLUG_RE, parse_partial_date

SEEDS_DIR = Path(settings.BASE_DIR) / "seeds"
HEADER_KEYS = ("slug", "title", "publisher", "published", "script", "original_file", "date_note", "note")


def parse_article(text: str) -> dict:
    """One cleaned article file → the fields of its Source. Pure: text in, dict out.

    The file is ``key: value`` header lines, a ``---`` line, then the article as printed.
    """
    text = text.lstrip("\ufeff").replace("\r\n", "\n")
    head, sep, body = text.partition("\n---\n")
    if not sep:
        raise ValueError("no '---' line between header and text")
    fields = {}
    for number, line in enumerate(head.split("\n"), start=1):
        if not line.strip():
            continue
        key, colon, value = line.partition(":")
        if not colon:
            raise ValueError(f"header line {number} is not 'key: value': {line!r}")
        fields[key.strip()] = value.strip()
    missing = [key for key in ("slug", "title", "script") if not fields.get(key)]
    if missing:
        raise ValueError(f"header lacks {', '.join(missing)}")
    unknown = sorted(set(fields) - set(HEADER_KEYS))
    if unknown:
        raise ValueError(f"unknown header keys: {', '.join(unknown)}")
    fields["text"] = body
    return fields


@dataclass
class SeedRow:
    """One record read from a seed file, with where it came from for error messages."""

    file: str
    index: int
    data: dict

    @property
    def where(self) -> str:
        slug = self.data.get("slug") if isinstance(self.data, dict) else None
        return f"{self.file}: {slug or f'record {self.index}'}"


@dataclass
class Seeds:
    rows: dict[str, list[SeedRow]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def of(self, kind: str) -> list[SeedRow]:
        return self.rows.get(kind, [])

    def slugs(self, kind: str) -> set[str]:
        return {row.data.get("slug") for row in self.of(kind)}



def read_seeds(kinds, root: Path | str = SEEDS_DIR) -> Seeds:
    """Read ``articles/`` (as ``sources``) and ``data/<kind>.yaml`` for each of ``kinds`` under ``root``;
    unreadable files become problems."""
    root = Path(root)
    seeds = Seeds()
    sources = []
    for path in sorted((root / "articles").glob("*.txt")):
        name = f"articles/{path.name}"
        try:
            fields = parse_article(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            seeds.problems.append(f"{name}: {exc}")
            continue
        fields["file_name"] = path.name
        sources.append(SeedRow(name, len(sources) + 1, fields))
    seeds.rows["sources"] = sources

    for kind in kinds:
        if kind == "sources":
            continue
        paths = sorted((root / "data").glob(f"{kind}.yaml")) + sorted((root / "data").glob(f"{kind}-*.yaml"))
        rows = []
        for path in paths:
            name = f"data/{path.name}"
            try:
                content = yaml.safe_load(path.read_text(encoding="utf-8")) or []
            except (yaml.YAMLError, UnicodeDecodeError) as exc:
                seeds.problems.append(f"{name}: not readable YAML: {exc}")
                continue
            if not isinstance(content, list):
                seeds.problems.append(f"{name}: expected a list of records")
                continue
            for index, data in enumerate(content, start=1):
                if not isinstance(data, dict):
                    seeds.problems.append(f"{name}: record {index} is not a mapping")
                    continue
                rows.append(SeedRow(name, index, data))
        seeds.rows[kind] = rows
    return seeds


def as_list(value) -> list:
    if value in (None, ""):
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def cycles(rows: list[SeedRow], key: str) -> list[str]:
    """A record that is, through ``key``, its own parent (or successor)."""
    target = {row.data.get("slug"): row.data.get(key) for row in rows}
    problems = []
    for row in rows:
        slug, seen = row.data.get("slug"), set()
        step = target.get(slug)
        while step and step not in seen:
            if step == slug:
                problems.append(f"{row.where}: {key} chain leads back to itself")
                break
            seen.add(step)
            step = target.get(step)
    return problems


def exact_decimal(value) -> Decimal | None:
    if value in (None, ""):
        return None
    if isinstance(value, float):
        raise InvalidOperation("floats are not exact; quote the value as a string")
    return Decimal(str(value).replace(",", ""))


def decimal_problem(where: str, key: str, value) -> list[str]:
    try:
        exact_decimal(value)
    except (InvalidOperation, ValueError) as exc:
        return [f"{where}: {key} {value!r} is not an exact decimal ({exc or 'unparseable'})"]
    return []


def joined(value) -> str:
    """A YAML list (or string) of aliases → the newline-separated text the models keep."""
    return "\n".join(str(v).strip() for v in as_list(value) if str(v).strip())


def text(value) -> str:
    return "" if value is None else str(value).strip()


def dates(data: dict, key: str, field_name: str | None = None) -> dict:
    value, precision = parse_partial_date(data.get(key))
    field_name = field_name or key
    return {field_name: value, f"{field_name}_precision": precision}


def upsert(model, *, slug: str, values: dict, many: dict | None = None, counts: Counter) -> object:
    """Create or update the row with ``slug`` so it holds ``values``; touch it only if it differs.

    ``many`` maps a many-to-many field to the objects it must hold. ``counts`` gets one of
    ``created``, ``updated`` or ``unchanged`` per call.
    """
    instance = model.objects.filter(slug=slug).first()
    if instance is None:
        instance = model(slug=slug, **values)
        instance.save()
        outcome = "created"
    else:
        changed = [name for name, value in values.items() if _differs(getattr(instance, name), value)]
        if changed:
            for name in changed:
                setattr(instance, name, values[name])
            # The seed load runs in one transaction, so a plain increment is safe here; an F()
            # expression would also reach simple-history's insert of the historical row and fail.
            instance.version += 1
            instance.save()
            outcome = "updated"
        else:
            outcome = "unchanged"
    for name, objects in (many or {}).items():
        manager = getattr(instance, name)
        wanted = {obj.pk for obj in objects}
        if set(manager.values_list("pk", flat=True)) != wanted:
            manager.set(objects)
            if outcome == "unchanged":
                outcome = "updated"
    counts[outcome] += 1
    return instance


def _differs(current, wanted) -> bool:
    if isinstance(current, Decimal) or isinstance(wanted, Decimal):
        if current is None or wanted is None:
            return current is not wanted
        return Decimal(current) != Decimal(wanted)
    if hasattr(current, "pk") or hasattr(wanted, "pk"):
        return getattr(current, "pk", None) != getattr(wanted, "pk", None)
    return current != wanted


def parents_first(rows: list[SeedRow], key: str) -> list[SeedRow]:
    """Order rows so that the row a ``key`` points to (a parent, a successor) comes first."""
    by = {row.data["slug"]: row for row in rows}
    ordered, placed = [], set()

    def place(row, trail=()):
        slug = row.data["slug"]
        if slug in placed or slug in trail:
            return
        target = by.get(row.data.get(key) or "")
        if target is not None:
            place(target, (*trail, slug))
        placed.add(slug)
        ordered.append(row)

    for row in rows:
        place(row)
    return ordered


def by_slug(model) -> dict:
    return {obj.slug: obj for obj in model.objects.all()}


class SeedError(Exception):
    """The seed set has problems; nothing was written."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in the seed data")



# ---------------------------------------------------------------------------
# Checking a seed file against its record type: the columns, required columns, references, dates,
# choices and decimals are the import Resource's own (a seed file is an import file in YAML), and the
# record's rules are its model's ``rule_errors``, run on unsaved rows.


@dataclass(frozen=True)
class SeedColumns:
    """What a seed file of one record type may hold, read off its Resource."""

    keys: frozenset[str]
    required: frozenset[str]
    references: dict[str, tuple[str, bool]]  # column → (record type key it names, many)
    fields: dict  # column → the Resource's Field


def seed_columns(record_type, keys_by_model: dict) -> SeedColumns:
    resource = record_type.resource_class()
    fields = {f.column_name: f for f in resource.get_export_fields() if f.column_name != "version"}
    references = {}
    for column, f in fields.items():
        if isinstance(f.widget, SlugManyToManyWidget):
            references[column] = (keys_by_model[f.widget.model], True)
        elif isinstance(f.widget, SlugForeignKeyWidget):
            references[column] = (keys_by_model[f.widget.model], False)
    return SeedColumns(frozenset(fields), frozenset(record_type.resource_class.required_columns), references, fields)


def is_plain_field(model, name: str) -> bool:
    """A concrete column of the model itself (not a relation, not a derived column such as a county's
    designations, not aliases, which seeds give as a list)."""
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:  # a derived column
        return False
    return field.concrete and not field.is_relation and name != "aliases"


def cell(value) -> str:
    """A YAML value as the text of a file's cell (YAML reads 2019-06-01 as a date; a list is ``|``-joined,
    as a file's list cell is)."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "|".join(cell(item) for item in value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def check_rows(seeds: Seeds, record_types) -> list[str]:
    """Every problem in the seed set, one line each, naming file and record. Writes nothing.

    Each row is read through its Resource's widgets, as an import reads a cell, into an unsaved instance
    whose references are the other rows' unsaved instances; then the model's ``rule_errors`` run on it (the
    quote verbatim in its source, the value agreeing with its printed form, periods in order …).
    """
    problems = list(seeds.problems)
    keys_by_model = {t.model_class: t.key for t in record_types}
    columns = {t.key: seed_columns(t, keys_by_model) for t in record_types}
    instances: dict[str, dict[str, object]] = {}
    bad_fields: dict[int, set[str]] = {}

    for record_type in record_types:
        kind, model, spec = record_type.key, record_type.model_class, columns[record_type.key]
        seen: dict[str, str] = {}
        index = instances.setdefault(kind, {})
        for row in seeds.of(kind):
            data, where = row.data, row.where
            unknown = sorted(set(data) - spec.keys - ({"file_name"} if kind == "sources" else set()))
            if unknown:
                problems.append(f"{where}: unknown keys {', '.join(unknown)}")
            missing = sorted(key for key in spec.required if data.get(key) in (None, ""))
            if missing:
                problems.append(f"{where}: missing {', '.join(missing)}")
            slug = data.get("slug")
            if not isinstance(slug, str) or not SLUG_RE.match(slug):
                problems.append(f"{where}: slug {slug!r} is not lowercase ASCII words joined by hyphens")
            elif slug in seen:
                problems.append(f"{where}: duplicate slug {slug!r} (also in {seen[slug]})")
            else:
                seen[slug] = row.file
            instance, bad = model(), set()
            for column, f in spec.fields.items():
                if column in spec.references or column not in data or not is_plain_field(model, f.attribute):
                    continue
                value = data[column]
                if isinstance(value, float):
                    problems.append(f"{where}: {column} {value!r} is not exact; quote it as a string")
                    bad.add(column)
                    continue
                try:
                    cleaned = f.widget.clean(cell(value))
                except (ValueError, TypeError) as exc:
                    problems.append(f"{where}: {column}: {exc}")
                    bad.add(column)
                    continue
                if isinstance(f, PartialDateField):
                    setattr(instance, f.attribute, cleaned[0])
                    setattr(instance, f.precision_attribute, cleaned[1])
                else:
                    setattr(instance, f.attribute, cleaned)
            if isinstance(slug, str):
                instance.slug = slug
                index.setdefault(slug, instance)
            bad_fields[id(row)] = bad

    # references resolve, and point at the other rows' instances
    for record_type in record_types:
        kind, spec = record_type.key, columns[record_type.key]
        for row in seeds.of(kind):
            data, where = row.data, row.where
            instance = instances[kind].get(data.get("slug"))
            for column, (target, many) in spec.references.items():
                values = as_list(data.get(column)) if many else [data.get(column)]
                for value in values:
                    if value in (None, ""):
                        continue
                    found = instances.get(target, {}).get(value)
                    if found is None:
                        problems.append(f"{where}: {column} {value!r} does not resolve to a record in {target}")
                        bad_fields[id(row)].add(column)
                    elif not many and instance is not None:
                        setattr(instance, spec.fields[column].attribute, found)
        for relation in ("successor", "parent"):
            if relation in spec.references and spec.references[relation][0] == kind:
                problems.extend(cycles(seeds.of(kind), relation))

    # the record's own rules
    for record_type in record_types:
        kind = record_type.key
        for row in seeds.of(kind):
            instance = instances[kind].get(row.data.get("slug"))
            if instance is None:
                continue
            for name, message in instance.rule_errors(skip=bad_fields.get(id(row), set())).items():
                problems.append(f"{row.where}: {name}: {message}")
    return problems
