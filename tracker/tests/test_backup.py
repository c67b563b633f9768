"""export_all / import_all: a backup restores every record exactly, and a damaged backup writes nothing."""

import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import models

from core.testing.admin import admin_url, form_data
from tracker.backup import MANIFEST, BackupError, export_all, import_all, parts, sha256


def run(command, *args, **options):
    """A management command with its output captured."""
    call_command(command, *args, stdout=io.StringIO(), stderr=io.StringIO(), **options)


def natural_dump() -> dict:
    """Every record of every backed-up model by slug: its fields, other records by slug,
    many-to-many links as sorted slugs, county designations; no ids, no timestamps."""
    dump = {}
    for part in parts():
        model = part.model
        rows = {}
        for obj in model._base_manager.all():
            row = {}
            for field in model._meta.concrete_fields:
                if field.primary_key or field.name in ("created_at", "updated_at"):
                    continue
                if field.is_relation:
                    related = getattr(obj, field.name)
                    row[field.name] = related.slug if related is not None else None
                else:
                    row[field.name] = getattr(obj, field.attname)
            for field in model._meta.many_to_many:
                row[field.name] = sorted(getattr(obj, field.name).values_list("slug", flat=True))
            if part.label == "counties.County":
                row["designations"] = sorted(
                    (d.designation, d.source.slug if d.source_id else None, d.quote)
                    for d in obj.designations.all()
                )
            rows[obj.slug] = row
        dump[part.label] = rows
    return dump


def delete_everything():
    for part in reversed(parts()):  # records that refer to others go first
        part.model._base_manager.all().delete()
    assert not any(part.model._base_manager.exists() for part in parts())


def record_count() -> int:
    return sum(part.model._base_manager.count() for part in parts())


@pytest.fixture
def small_world(make_source, make_fund, make_program, make_county, make_outcome, make_posting, make_organization):
    """A few records with the awkward cases: a parent that sorts after its child, a fund's successor,
    a version above 1, many-to-many links, formula-like text and an exact decimal."""
    source = make_source(title="文章甲")
    new_fund = make_fund(name="乡村振兴基金", slug="a-new-fund")
    old_fund = make_fund(name="脱贫基金", slug="b-old-fund", successor=new_fund, commitment=Decimal("10000000000"))
    parent = make_program(name="热土计划", slug="z-parent", fund=old_fund)
    child = make_program(name="热土子计划", slug="a-child", parent=parent, summary="=SUM(A1) is text")
    county = make_county(name="普安县")
    child.counties.add(county)
    child.sources.add(source)
    child.organizations.add(make_organization(name="淘宝大学"))
    make_outcome(program=child, county=county, source=source, value=Decimal("10000000000"), unit="元")
    make_posting(county=county)
    type(parent)._base_manager.filter(pk=parent.pk).update(version=4)
    return {"source": source, "parent": parent, "child": child}


@pytest.mark.django_db
def test_seeded_database_round_trips_exactly(tmp_path):
    run("load_seeds", verbosity=0)
    before = natural_dump()
    assert sum(len(rows) for rows in before.values()) > 100
    export_all(directory=tmp_path / "one")

    delete_everything()
    import_all(directory=tmp_path / "one")

    assert natural_dump() == before
    export_all(directory=tmp_path / "two")
    for part in parts():
        assert (tmp_path / "one" / part.file).read_bytes() == (tmp_path / "two" / part.file).read_bytes(), part.file


@pytest.mark.django_db
def test_awkward_records_round_trip(small_world, tmp_path):
    before = natural_dump()
    assert before["programs.Program"]["z-parent"]["version"] == 4
    manifest = export_all(directory=tmp_path)
    delete_everything()
    counts = import_all(directory=tmp_path)
    assert natural_dump() == before
    assert counts == {entry["model"]: entry["rows"] for entry in manifest["files"]}


@pytest.mark.django_db
def test_manifest_lists_every_file_with_rows_and_checksum(small_world, tmp_path):
    run("export_all", str(tmp_path))
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert manifest["format"] == "rural-programs-tracker-backup" and manifest["format_version"] == 1
    files = [entry["file"] for entry in manifest["files"]]
    assert files == [part.file for part in parts()] + ["county-designations.csv"]
    programs = next(entry for entry in manifest["files"] if entry["file"] == "programs.csv")
    assert programs["rows"] == 2 and len(programs["sha256"]) == 64
    text = (tmp_path / "programs.csv").read_text(encoding="utf-8")
    assert "'=SUM(A1) is text" in text  # formula-escaped like every export


@pytest.fixture
def backup(small_world, tmp_path):
    export_all(directory=tmp_path)
    delete_everything()
    return tmp_path


def refused(directory, message):
    with pytest.raises(CommandError):
        run("import_all", str(directory))
    with pytest.raises(BackupError) as caught:
        import_all(directory=directory)
    assert message in str(caught.value), caught.value
    assert record_count() == 0


@pytest.mark.django_db
def test_a_changed_byte_is_refused_and_nothing_is_written(backup):
    path = backup / "outcomes.csv"
    data = bytearray(path.read_bytes())
    data[-5] = ord("9") if data[-5] != ord("9") else ord("8")
    path.write_bytes(bytes(data))
    refused(backup, "SHA-256 does not match")


@pytest.mark.django_db
def test_a_truncated_file_is_refused_and_nothing_is_written(backup):
    path = backup / "postings.csv"
    path.write_bytes(path.read_bytes()[:-20])
    refused(backup, "truncated or changed")


@pytest.mark.django_db
def test_a_missing_file_or_manifest_is_refused(backup):
    (backup / "envoys.csv").unlink()
    refused(backup, "envoys.csv is missing")
    (backup / MANIFEST).unlink()
    refused(backup, "no manifest.json")


@pytest.mark.django_db
def test_another_format_version_is_refused(backup):
    manifest = json.loads((backup / MANIFEST).read_text())
    manifest["format_version"] = 99
    (backup / MANIFEST).write_text(json.dumps(manifest))
    refused(backup, "format version 99 is not supported")


@pytest.mark.django_db
def test_a_bad_row_late_in_the_backup_rolls_back_everything(backup):
    """Checksums recomputed (the manifest agrees), but a posting names an unknown county: the files
    before it were already imported inside the transaction, and are rolled back with it."""
    path = backup / "postings.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    cells = lines[1].rstrip("\n").split(",")
    cells[header.index("county")] = "nowhere-xian"
    lines[1] = ",".join(cells) + "\n"
    data = "".join(lines).encode("utf-8")
    path.write_bytes(data)
    manifest = json.loads((backup / MANIFEST).read_text())
    for entry in manifest["files"]:
        if entry["file"] == "postings.csv":
            entry.update(bytes=len(data), sha256=sha256(data))
    (backup / MANIFEST).write_text(json.dumps(manifest))
    refused(backup, "unknown county 'nowhere-xian'")


@pytest.mark.django_db
def test_only_an_empty_database_is_restored_into(small_world, tmp_path):
    export_all(directory=tmp_path)
    before = natural_dump()
    with pytest.raises(CommandError, match="nothing was written"):
        run("import_all", str(tmp_path))
    assert natural_dump() == before


@pytest.mark.django_db
def test_export_refuses_a_folder_that_holds_a_backup(small_world, tmp_path):
    export_all(directory=tmp_path)
    with pytest.raises(CommandError, match="already holds a backup"):
        run("export_all", str(tmp_path))


def test_every_record_model_is_in_the_backup():
    """A new record model must be registered in core.registry (the backup is built from it)."""
    from django.apps import apps

    from core.records import Record

    record_models = {
        f"{m._meta.app_label}.{m.__name__}" for m in apps.get_models()
        if issubclass(m, Record) and not m._meta.abstract and isinstance(m._meta.pk, models.Field)
    }
    assert record_models == {part.label for part in parts()}


# ---------------------------------------------------------------------------
# Every write path runs the same rules: what the admin saves, a restore takes


def refused_on_the_page(client, model, obj, changes, field, inline=None):
    """Post ``obj``'s change form with ``changes``; the admin refuses it with a message on ``field``
    (of the form, or of the first row of the inline formset ``inline``). Returns the message."""
    url = admin_url(model, "change", obj.pk)
    data = form_data(client.get(url))
    data.update(changes)
    response = client.post(url, data)
    assert response.status_code == 200, "the admin saved what an import refuses"
    if inline is None:
        errors = response.context["adminform"].form.errors
    else:
        formsets = {f.formset.prefix: f.formset for f in response.context["inline_admin_formsets"]}
        errors = formsets[inline].forms[0].errors
    assert field in errors, errors
    return " ".join(errors[field])


@pytest.mark.django_db
def test_a_database_edited_through_the_admin_restores(editor_client, world, tmp_path):
    """The admin's forms run each record's rules (``rule_errors``), the very ones an import runs: a
    figure its printed form contradicts is refused on the page with the import's message, so a backup
    of whatever the admin saved restores."""
    from programs.models import Fund, Outcome, Program

    outcome, fund, program = world["outcome"], world["fund"], world["program"]
    before = natural_dump()
    # The review's case: value 10 and a printed form that is not a number.
    message = refused_on_the_page(editor_client, Outcome, outcome, {
        "value": "10", "value_printed": "国家级", "quote": "普安县是国家级贫困县"}, "value")
    assert message == "value 10 given but printed form '国家级' is not a plain number"
    assert "disagrees with printed form '3000人'" in refused_on_the_page(
        editor_client, Outcome, outcome, {"value": "10"}, "value")
    assert "not verbatim in the source tuopin-wenzhang" in refused_on_the_page(
        editor_client, Outcome, outcome, {"quote": "帮助3000人就业了"}, "quote")
    assert "does not occur in the quote" in refused_on_the_page(
        editor_client, Outcome, outcome, {"value_printed": "100亿元", "value": "10000000000", "unit": "元"},
        "value_printed")
    assert "disagrees with printed form '100亿元'" in refused_on_the_page(
        editor_client, Fund, fund, {"commitment": "10"}, "commitment")
    assert "disagrees with printed form '3000人'" in refused_on_the_page(
        editor_client, Program, program, {"outcomes-0-value": "10"}, "value", inline="outcomes")
    # Django's SlugField takes capitals and underscores; an import takes neither.
    assert "“Retu_Jihua” is not a slug" in refused_on_the_page(
        editor_client, Program, program, {"slug": "Retu_Jihua"}, "slug")
    assert natural_dump() == before  # nothing was saved

    # What the admin does save goes through a backup and back unchanged.
    url = admin_url(Outcome, "change", outcome.pk)
    data = form_data(editor_client.get(url))
    data.update({"value": "3000.0", "note": "核实过", "period_end": "2020-06"})
    assert editor_client.post(url, data).status_code == 302
    url = admin_url(Fund, "change", fund.pk)
    data = form_data(editor_client.get(url))
    data.update({"commitment": "", "commitment_printed": "数十亿元", "summary": "=1+1 不是公式"})
    assert editor_client.post(url, data).status_code == 302
    edited = natural_dump()
    assert edited != before
    export_all(directory=tmp_path)
    delete_everything()
    import_all(directory=tmp_path)
    assert natural_dump() == edited


# ---------------------------------------------------------------------------
# Regular files only: no link is followed, no size is taken on trust, nothing is written through a link


@pytest.mark.django_db
def test_a_symlinked_or_special_backup_file_is_refused_before_it_is_read(backup, tmp_path_factory):
    """A link is refused even when it points at the very bytes the manifest expects (a link elsewhere
    would give away the size of what it points at); a link to /dev/zero or a FIFO is never read."""
    import os

    elsewhere = tmp_path_factory.mktemp("elsewhere") / "sources.csv"
    os.replace(backup / "sources.csv", elsewhere)
    (backup / "sources.csv").symlink_to(elsewhere)
    refused(backup, "sources.csv is a symbolic link; a backup holds regular files only")

    (backup / "sources.csv").unlink()
    (backup / "sources.csv").symlink_to("/dev/zero")
    refused(backup, "sources.csv is a symbolic link")

    (backup / "sources.csv").unlink()
    os.mkfifo(backup / "sources.csv")  # reading it would wait for a writer forever
    refused(backup, "sources.csv is not a regular file")

    (backup / "sources.csv").unlink()
    os.replace(elsewhere, backup / "sources.csv")
    os.replace(backup / MANIFEST, elsewhere.with_name(MANIFEST))
    (backup / MANIFEST).symlink_to(elsewhere.with_name(MANIFEST))
    refused(backup, "manifest.json is a symbolic link")


@pytest.mark.django_db
def test_sizes_are_checked_before_reading(backup, monkeypatch):
    from tracker import backup as module

    manifest = json.loads((backup / MANIFEST).read_text())
    biggest = max(manifest["files"], key=lambda entry: entry["bytes"])
    monkeypatch.setattr(module, "MAX_FILE_BYTES", biggest["bytes"] - 1)
    size = biggest["bytes"]
    refused(backup, f"{biggest['file']}: {size} bytes, more than the {size - 1} a backup file may have")
    monkeypatch.setattr(module, "MAX_MANIFEST_BYTES", 100)
    refused(backup, "manifest.json: ")


@pytest.mark.django_db
def test_export_refuses_a_folder_with_anything_in_it_and_never_writes_through_a_link(small_world, tmp_path):
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    folder = tmp_path / "backup"
    folder.mkdir()
    (folder / "programs.csv").symlink_to(target)  # planted
    with pytest.raises(CommandError, match="is not empty .*programs.csv.*choose a new or empty folder"):
        run("export_all", str(folder))
    assert target.read_text() == "keep me" and not (folder / MANIFEST).exists()


@pytest.mark.django_db
def test_export_creates_each_file_exclusively(small_world, tmp_path, monkeypatch):
    """A link planted after the folder was found empty is not written through either."""
    from tracker import backup as module

    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    folder = tmp_path / "backup"
    export_csv = module.export_csv

    def plant_then_export(part):
        if not (folder / "provinces.csv").is_symlink():
            (folder / "provinces.csv").symlink_to(target)
        return export_csv(part)

    monkeypatch.setattr(module, "export_csv", plant_then_export)
    with pytest.raises(BackupError, match="provinces.csv appeared in"):
        export_all(directory=folder)
    assert target.read_text() == "keep me" and not (folder / MANIFEST).exists()
    assert (folder / "sources.csv").is_file()  # written before the link appeared, into the new folder
