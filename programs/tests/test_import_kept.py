"""An import's confirm writes the rows its preview checked (core.admin_tools.KeptRows,
core.importing.RecordResource.import_kept) only when nothing was committed since the preview read the data
generation, and only for the same user, file, resource and format; otherwise it checks every row again. The
preview of a large file shows its counts, every problem and its first rows. Run on SQLite, and on PostgreSQL when
DATABASE_URL names one."""

import datetime

import pytest
from django.core.cache import cache, caches

import core.importing
import core.search
from core.admin_tools import KeptRows, UploadStorage, delete_expired_uploads
from core.importing import PREVIEW_ROWS, RecordResource
from core.listing import new_data_generation
from core.testing.admin import (
    OUTCOME_HEADER,
    admin_url,
    csv_bytes,
    db_dump,
    outcome_row,
    outcome_rows,
    problems,
    upload,
)
from programs.models import Outcome, Source

HEADER = OUTCOME_HEADER


def rows(n, prefix="kept", **changes):
    return outcome_rows(n, prefix, **changes)


@pytest.fixture
def calls(monkeypatch):
    """How the confirms write: "kept" (the preview's rows as they are) or "checked" (every row checked again)."""
    seen = []
    kept, checked = RecordResource.import_kept, RecordResource._import_bulk

    def spy_kept(self, *args, **kwargs):
        seen.append("kept")
        return kept(self, *args, **kwargs)

    def spy_checked(self, dataset, write, *args, **kwargs):
        if write:
            seen.append("checked")
        return checked(self, dataset, write, *args, **kwargs)

    monkeypatch.setattr(RecordResource, "import_kept", spy_kept)
    monkeypatch.setattr(RecordResource, "_import_bulk", spy_checked)
    return seen


def confirm(client, preview, **changes):
    form = preview.context["confirm_form"].initial
    data = {key: form[key] for key in ("import_file_name", "original_file_name", "format", "resource")}
    data.update(changes)
    return client.post(admin_url(Outcome, "process_import"), data)


def kept_entry(preview):
    return cache.get(KeptRows.key(preview.context["confirm_form"].initial["import_file_name"]))


def test_a_confirm_right_after_its_preview_writes_the_kept_rows_with_every_guarantee(
        editor_client, world, calls, django_capture_on_commit_callbacks):
    preview = upload(editor_client, Outcome, csv_bytes(HEADER, rows(30, note="保留标记")))
    assert kept_entry(preview) is not None
    generation = core.importing.data_generation()
    with django_capture_on_commit_callbacks(execute=True):
        response = confirm(editor_client, preview)
    assert response.status_code == 302
    assert calls == ["kept"]
    assert kept_entry(preview) is None  # used once
    assert core.importing.data_generation() != generation  # a new data generation
    imported = Outcome.objects.filter(slug__startswith="kept-").order_by("slug")
    assert imported.count() == 30
    for outcome in imported:
        [record] = outcome.history.all()
        assert (record.history_type, record.history_user.username, record.version) == ("+", "editor", 1)
        assert record.history_change_reason == "import of data.csv"
        assert outcome.created_at is not None and outcome.updated_at is not None
        fresh = Outcome(metric=outcome.metric, value_printed=outcome.value_printed, quote=outcome.quote,
                        note=outcome.note)
        core.search.fill_search_text(Outcome, fresh)
        assert (outcome.search_text, outcome.search_tokens) == (fresh.search_text, fresh.search_tokens)
    from django.contrib.admin.models import LogEntry

    logged = LogEntry.objects.filter(object_id__in=[str(o.pk) for o in imported])
    assert logged.count() == 30 and {e.user.username for e in logged} == {"editor"}
    assert {e.object_repr for e in logged} == {str(o) for o in imported}
    page = editor_client.get("/outcomes/", {"q": "保留标记"}).content.decode()
    assert "/outcomes/kept-0/" in page and "/outcomes/kept-29/" in page

    # Updates from kept rows: the version goes up, a "~" record each; created_at stays, updated_at moves.
    stamps = {o.slug: (o.created_at, o.updated_at) for o in imported}
    preview = upload(editor_client, Outcome, csv_bytes(HEADER + ["version"], [
        row + ["1"] for row in rows(30, note="改过")]))
    assert confirm(editor_client, preview).status_code == 302
    assert calls == ["kept", "kept"]
    for outcome in Outcome.objects.filter(slug__startswith="kept-"):
        assert (outcome.note, outcome.version, outcome.history.first().history_type) == ("改过", 2, "~")
        assert outcome.created_at == stamps[outcome.slug][0] and outcome.updated_at > stamps[outcome.slug][1]


def test_a_change_committed_after_the_preview_makes_the_confirm_check_again_and_refuse(editor_client, world, calls):
    preview = upload(editor_client, Outcome, csv_bytes(HEADER, rows(5)))
    assert problems(preview) == []
    # The source's text no longer holds the quote: the rows the preview checked are no longer valid.
    source = Source.objects.get(slug="tuopin-wenzhang")
    source.text = "另一篇文章的文字。"
    source.save()
    new_data_generation()  # what the save's commit does (the test's transaction never commits)
    before = db_dump()
    response = confirm(editor_client, preview)
    assert calls == ["checked"]
    assert response.status_code == 200 and db_dump() == before
    found = problems(response)
    assert [(p["where"], p["column"]) for p in found] == [(f"line {i}", "quote") for i in range(2, 7)]
    assert "nothing was imported" in response.content.decode()


def test_a_change_committed_after_the_preview_makes_the_confirm_check_again_and_accept(editor_client, world, calls):
    preview = upload(editor_client, Outcome, csv_bytes(HEADER, rows(5)))
    other = world["outcome"]
    other.note = "别处的修改"
    other.save()
    new_data_generation()  # what the save's commit does
    response = confirm(editor_client, preview)
    assert calls == ["checked"]
    assert response.status_code == 302
    assert Outcome.objects.filter(slug__startswith="kept-").count() == 5


def test_without_a_new_generation_the_kept_rows_are_written_as_checked(editor_client, world, calls):
    # What the generation decides: a write whose on-commit never ran (so no new generation) leaves the kept rows
    # in use, and a row whose version moved is still caught by the UPDATE … WHERE version, then checked again.
    outcome = world["outcome"]
    content = csv_bytes(HEADER + ["version"], [outcome_row(outcome.slug, note="我改的") + [str(outcome.version)],
                                               outcome_row("kept-new") + [""]])
    preview = upload(editor_client, Outcome, content)
    Outcome.objects.filter(pk=outcome.pk).update(version=outcome.version + 5)  # no signal, no generation
    before = db_dump()
    response = confirm(editor_client, preview)
    assert calls == ["kept", "checked"]
    assert db_dump() == before
    assert "someone else changed this record" in response.content.decode()


def test_another_users_confirm_cannot_use_the_kept_rows(editor_client, second_editor_client, world, calls):
    preview = upload(editor_client, Outcome, csv_bytes(HEADER, rows(3)))
    response = confirm(second_editor_client, preview)
    assert calls == ["checked"]  # the file is checked again for this user
    assert response.status_code == 302
    assert kept_entry(preview) is None
    for outcome in Outcome.objects.filter(slug__startswith="kept-"):
        assert outcome.history.first().history_user.username != "editor"


def test_kept_rows_are_tied_to_the_exact_file(editor_client, world, calls):
    preview = upload(editor_client, Outcome, csv_bytes(HEADER, rows(3)))
    name = preview.context["confirm_form"].initial["import_file_name"]
    # The upload under that name is now another file (as if replaced on the server): its own rows are checked
    # and imported, never the kept rows of the first.
    UploadStorage(name=name, read_mode="rb").save(csv_bytes(HEADER, rows(2, prefix="other")))
    response = confirm(editor_client, preview)
    assert calls == ["checked"]
    assert response.status_code == 302
    assert sorted(Outcome.objects.filter(slug__regex=r"^(kept|other)-").values_list("slug", flat=True)) == [
        "other-0", "other-1"]


def test_kept_rows_cannot_come_from_the_client(editor_client, world, calls):
    preview = upload(editor_client, Outcome, csv_bytes(HEADER, rows(3)))
    # Whatever the client adds to the confirm, the rows come from the server's cache or from the file.
    response = confirm(editor_client, preview, kept="forged", generation="0", rows="[]")
    assert response.status_code == 302
    assert calls == ["kept"]
    assert Outcome.objects.filter(slug__startswith="kept-").count() == 3
    # A confirm naming an upload that was never previewed is sent back; there are no kept rows to use.
    response = confirm(editor_client, preview)
    assert response.status_code == 302 and calls == ["kept"]


def test_kept_rows_go_with_their_upload(editor_client, world):
    refused = upload(editor_client, Outcome, csv_bytes(HEADER, [outcome_row("a", county="nowhere-xian")]))
    assert refused.context.get("confirm_form") is None
    from django.core.cache.backends.db import DatabaseCache

    backend = caches["default"]
    if not isinstance(backend, DatabaseCache):
        pytest.skip("the uploads live in the database cache")
    from django.db import connection

    def stored(prefix):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {backend._table} WHERE cache_key LIKE %s",
                           [backend.make_key(prefix) + "%"])
            return cursor.fetchone()[0]

    assert stored(KeptRows.CACHE_PREFIX) == 0  # a refused preview keeps nothing
    preview = upload(editor_client, Outcome, csv_bytes(HEADER, rows(2)))
    assert stored(KeptRows.CACHE_PREFIX) == 1 and stored(UploadStorage.CACHE_PREFIX) == 1
    # Both expire after the same hour, and the sweep takes both.
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {backend._table} SET expires = %s",
                       [connection.ops.adapt_datetimefield_value(datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC))])
    delete_expired_uploads()
    assert stored(KeptRows.CACHE_PREFIX) == 0 and stored(UploadStorage.CACHE_PREFIX) == 0
    assert confirm(editor_client, preview).status_code == 302  # back to the import page: the upload expired
    assert not Outcome.objects.filter(slug__startswith="kept-").exists()


def test_the_preview_of_a_large_file_shows_counts_every_problem_and_the_first_rows(editor_client, world):
    n = PREVIEW_ROWS + 30
    preview = upload(editor_client, Outcome, csv_bytes(HEADER, rows(n)))
    page = preview.content.decode()
    assert f"{n} new, 0 updated, 0 unchanged, 0 with problems" in page
    assert page.count('<tr class="new">') == PREVIEW_ROWS
    assert "and 30 more rows not shown" in page
    result = preview.context["result"]
    assert all(row.diff for row in result.valid_rows()[:PREVIEW_ROWS])
    assert not any(row.diff for row in result.valid_rows()[PREVIEW_ROWS:])  # not computed for rows not shown

    # Problems beyond the rows shown are all listed, with their lines; nothing can be confirmed.
    file_rows = rows(n)
    file_rows[5] = outcome_row("kept-5", county="nowhere-xian")  # line 7
    file_rows[n - 2] = outcome_row(f"kept-{n - 2}", value="300")  # line n
    file_rows[n - 1] = outcome_row(f"kept-{n - 1}", quote="不在文章里的话3000人")  # line n + 1
    preview = upload(editor_client, Outcome, csv_bytes(HEADER, file_rows))
    assert preview.context.get("confirm_form") is None
    assert [(p["where"], p["column"]) for p in problems(preview)] == [
        ("line 7", "county"), (f"line {n}", "value"), (f"line {n + 1}", "quote")]
    page = preview.content.decode()
    assert f"{n - 3} new, 0 updated, 0 unchanged, 3 with problems" in page
    assert page.count('<tr class="new">') == PREVIEW_ROWS and "and 27 more rows not shown" in page


def test_a_small_file_shows_all_its_rows(editor_client, world):
    preview = upload(editor_client, Outcome, csv_bytes(HEADER, rows(3)))
    page = preview.content.decode()
    assert page.count('<tr class="new">') == 3 and "not shown" not in page
    assert "3 new, 0 updated, 0 unchanged, 0 with problems" in page


def test_search_columns_of_many_rows_are_those_of_one_row_at_a_time():
    texts = ["帮助3000人就业", "臺灣的計劃", "乾隆年間的事", "乾隆", "ＡＢＣ全角", "Hello World 萬元", "", "普通文本",
             "帮助3000人就业"]
    many = [Outcome(metric=t, value_printed=t[::-1], quote=t + "。", note=t[:2]) for t in texts]
    one = [Outcome(metric=o.metric, value_printed=o.value_printed, quote=o.quote, note=o.note) for o in many]
    core.search.fill_search_columns(Outcome, many)
    for instance in one:
        core.search.fill_search_text(Outcome, instance)
    assert [(o.search_text, o.search_tokens) for o in many] == [(o.search_text, o.search_tokens) for o in one]
    from programs.models import Program

    programs = [Program(name=name, summary="臺灣") for name in ("热土计划", "熱土計劃", "乾隆")]
    alone = [Program(name=p.name, summary=p.summary) for p in programs]
    core.search.fill_search_columns(Program, programs)
    for instance in alone:
        core.search.fill_search_text(Program, instance)
    assert [(p.search_text, p.search_tokens) for p in programs] == [(p.search_text, p.search_tokens) for p in alone]
