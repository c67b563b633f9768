"""The bulk path of an admin import (core.importing.RecordResource.import_bulk): a file of many rows keeps every
guarantee of the per-row path (history with the user, the search index, every row error with its line, all or
nothing, the version check, the preview's counts and rows) at a number of queries that does not grow with the
file. Run on SQLite, and on PostgreSQL when DATABASE_URL names one."""

from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.listing import FACET_GENERATION_KEY
from core.testing.admin import (
    OUTCOME_HEADER,
    csv_bytes,
    db_dump,
    import_file,
    outcome_row,
    outcome_rows,
    problems,
    upload,
)
from programs.models import Outcome
from programs.resources import OutcomeResource

HEADER = OUTCOME_HEADER


def rows(n, prefix="bulk", **changes):
    return outcome_rows(n, prefix, **changes)


def test_outcomes_take_the_bulk_path():
    assert OutcomeResource().takes_bulk_path()


def test_a_bulk_import_keeps_history_of_each_row_with_the_user(editor_client, world):
    _, confirm = import_file(editor_client, Outcome, csv_bytes(HEADER, rows(40)))
    assert confirm.status_code == 302
    imported = Outcome.objects.filter(slug__startswith="bulk-")
    assert imported.count() == 40
    for outcome in imported:
        [record] = outcome.history.all()
        assert (record.history_type, record.history_user.username, record.version) == ("+", "editor", 1)
        assert record.history_change_reason == "import of data.csv"
        assert (record.metric, record.value, record.county_id) == (outcome.metric, outcome.value, outcome.county_id)

    # The same rows again, changed, at the version they were exported at: one "~" record each, version 2.
    changed = [row + ["1"] for row in rows(40, note="核实")]
    _, confirm = import_file(editor_client, Outcome, csv_bytes(HEADER + ["version"], changed))
    assert confirm.status_code == 302
    for outcome in Outcome.objects.filter(slug__startswith="bulk-"):
        assert (outcome.note, outcome.version) == ("核实", 2)
        latest = outcome.history.first()
        assert (latest.history_type, latest.history_user.username, latest.version, latest.note) == (
            "~", "editor", 2, "核实")
        assert [c.field for c in latest.diff_against(latest.prev_record).changes] == ["note"]


def test_the_preview_counts_and_shows_every_row(editor_client, world):
    import_file(editor_client, Outcome, csv_bytes(HEADER, rows(3)))
    mixed = [
        outcome_row("bulk-0") + ["1"],  # unchanged
        outcome_row("bulk-1", note="改") + ["1"],  # changed
        outcome_row("bulk-new") + [""],  # new
    ]
    before = db_dump()
    preview = upload(editor_client, Outcome, csv_bytes(HEADER + ["version"], mixed))
    assert db_dump() == before
    result = preview.context["result"]
    assert [row.import_type for row in result.valid_rows()] == ["skip", "update", "new"]
    assert (result.totals["new"], result.totals["update"], result.totals["skip"]) == (1, 1, 1)
    page = preview.content.decode()
    assert '<ins style="background:#e6ffe6;">改</ins>' in page  # the changed cell, marked
    assert page.count('<tr class="new">') == 1 and page.count('<tr class="update">') == 1


def test_imported_rows_are_found_by_search_at_once(editor_client, world, django_capture_on_commit_callbacks):
    before = cache.get(FACET_GENERATION_KEY)
    with django_capture_on_commit_callbacks(execute=True):
        import_file(editor_client, Outcome, csv_bytes(HEADER, rows(5, note="稀有标记")))
    assert cache.get(FACET_GENERATION_KEY) != before  # cached counts and pages are out of date
    page = editor_client.get("/outcomes/", {"q": "稀有标记"}).content.decode()
    assert all(f"/outcomes/bulk-{i}/" in page for i in range(5))

    # Updated in bulk, the index follows: the new word finds them, the old one no longer does.
    changed = [row + ["1"] for row in rows(5, note="另一标记")]
    import_file(editor_client, Outcome, csv_bytes(HEADER + ["version"], changed))
    assert "/outcomes/bulk-0/" in editor_client.get("/outcomes/", {"q": "另一标记"}).content.decode()
    assert "/outcomes/bulk-0/" not in editor_client.get("/outcomes/", {"q": "稀有标记"}).content.decode()


def test_errors_on_several_rows_are_all_reported_with_their_lines_and_nothing_is_written(editor_client, world):
    file_rows = rows(30)
    file_rows[3] = outcome_row("bulk-3", county="nowhere-xian")  # line 5
    file_rows[15] = outcome_row("bulk-15", value="300")  # line 17: disagrees with 3000人 (check_outcome)
    file_rows[29] = outcome_row("bulk-29", quote="不在文章里的话3000人")  # line 31: not verbatim in the source
    before = db_dump()
    preview = upload(editor_client, Outcome, csv_bytes(HEADER, file_rows))
    assert not preview.context.get("confirm_form")  # no confirm is offered
    assert [(p["where"], p["column"]) for p in problems(preview)] == [
        ("line 5", "county"), ("line 17", "value"), ("line 31", "quote")]
    assert db_dump() == before


def test_a_row_changed_between_preview_and_confirm_stops_the_whole_import(editor_client, world):
    outcome = world["outcome"]
    content = csv_bytes(HEADER + ["version"], [outcome_row("puan-jiuye", note="我改的") + ["1"],
                                               outcome_row("bulk-new") + [""]])
    preview = upload(editor_client, Outcome, content)
    assert problems(preview) == []
    outcome.note = "别人改的"
    outcome.version = 2
    outcome.save()
    before = db_dump()
    form = preview.context["confirm_form"].initial
    confirm = editor_client.post(
        "/admin/programs/outcome/process_import/",
        {key: form[key] for key in ("import_file_name", "original_file_name", "format", "resource")})
    assert db_dump() == before
    page = confirm.content.decode()
    assert "nothing was imported" in page and "someone else changed this record" in page
    assert not Outcome.objects.filter(slug="bulk-new").exists()


def test_a_stale_update_found_while_writing_rolls_everything_back(editor_client, world, monkeypatch):
    # The version is read inside the confirm's transaction; the UPDATE checks it again (WHERE version = …).
    import core.importing

    outcome = world["outcome"]
    real = core.importing.update_rows

    def racing(model, instances, expected, using):
        Outcome.objects.filter(pk=outcome.pk).update(version=7)  # another writer got in first
        return real(model, instances, expected, using)

    monkeypatch.setattr(core.importing, "update_rows", racing)
    content = csv_bytes(HEADER + ["version"], [outcome_row("puan-jiuye", note="我改的") + ["1"],
                                               outcome_row("bulk-new") + [""]])
    preview, confirm = import_file(editor_client, Outcome, content)
    assert confirm.status_code == 200
    assert "someone else changed these records while the file was being imported" in confirm.content.decode()
    outcome.refresh_from_db()
    assert (outcome.note, outcome.version) != ("我改的", 2)
    assert not Outcome.objects.filter(slug="bulk-new").exists()


def queries_of_import(client, n, prefix):
    content = csv_bytes(HEADER, rows(n, prefix=prefix))
    with CaptureQueriesContext(connection) as captured:
        preview, confirm = import_file(client, Outcome, content)
    assert confirm.status_code == 302
    assert Outcome.objects.filter(slug__startswith=f"{prefix}-").count() == n
    return len(captured.captured_queries)


def test_the_number_of_queries_does_not_grow_with_the_rows(editor_client, world):
    queries_of_import(editor_client, 3, "warm")  # first-time lookups (content types, the session …)
    ten = queries_of_import(editor_client, 10, "ten")
    three_hundred = queries_of_import(editor_client, 300, "many")
    assert ten == three_hundred, (ten, three_hundred)
