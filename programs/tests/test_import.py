"""Staff imports through the admin: encodings, every row error with its line, all or nothing, speed."""

import io

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.testing.admin import (  # noqa: F401  (fixtures)
    admin_url,
    csv_bytes,
    db_dump,
    editor_client,
    editor_user,
    import_file,
    problems,
    upload,
    viewer_client,
    viewer_user,
    world,
)
from programs.models import Outcome, Program
from programs.resources import OutcomeResource

HEADER = ["slug", "metric", "kind", "value", "unit", "value_printed", "qualifier", "period_start",
          "period_end", "program", "fund", "county", "source", "quote", "note"]


def outcome_row(slug="new-outcome", **changes):
    row = {
        "slug": slug, "metric": "就业人数", "kind": "result", "value": "3000", "unit": "人",
        "value_printed": "3000人", "qualifier": "", "period_start": "2019", "period_end": "2020-06",
        "program": "retu-jihua", "fund": "", "county": "puan-xian", "source": "tuopin-wenzhang",
        "quote": "帮助3000人就业", "note": "",
    }
    row.update(changes)
    return [row[key] for key in HEADER]


def xlsx_bytes(header, rows):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    stream = io.BytesIO()
    book.save(stream)
    return stream.getvalue()


def assert_imported(confirm, slugs):
    assert confirm is not None and confirm.status_code == 302
    for slug in slugs:
        outcome = Outcome.objects.get(slug=slug)
        assert outcome.value == 3000
        assert (outcome.period_start.year, outcome.period_start_precision) == (2019, "year")
        assert (outcome.period_end.month, outcome.period_end_precision) == (6, "month")
        assert outcome.county.slug == "puan-xian"


# ---------------------------------------------------------------------------
# Valid files


def test_valid_csv_previews_then_imports(editor_client, world):
    content = csv_bytes(HEADER, [outcome_row("a"), outcome_row("b")])
    before = db_dump()
    preview = upload(editor_client, Outcome, content)
    assert preview.status_code == 200
    assert problems(preview) == []
    assert [row.import_type for row in preview.context["result"].valid_rows()] == ["new", "new"]
    assert db_dump() == before  # the preview writes nothing
    _, confirm = import_file(editor_client, Outcome, content)
    assert_imported(confirm, ["a", "b"])


def test_valid_xlsx_imports(editor_client, world):
    content = xlsx_bytes(HEADER, [outcome_row("a"), outcome_row("b", value=3000)])
    _, confirm = import_file(editor_client, Outcome, content, name="data.xlsx", file_format="xlsx")
    assert_imported(confirm, ["a", "b"])


@pytest.mark.parametrize("encoding,file_format", [
    ("gbk", "csv"), ("gb18030", "csv"), ("utf-8-sig", "csv"), ("utf-8", "csv"),
    ("gbk", "csv-gb18030"), ("utf-8-sig", "csv-utf8"),
])
def test_the_same_data_in_gbk_and_utf8_imports_the_same(editor_client, world, encoding, file_format):
    content = csv_bytes(HEADER, [outcome_row("a", note="繁體：脫貧"), outcome_row("b")], encoding=encoding)
    _, confirm = import_file(editor_client, Outcome, content, file_format=file_format)
    assert_imported(confirm, ["a", "b"])
    assert Outcome.objects.get(slug="a").note == "繁體：脫貧"
    assert Outcome.objects.get(slug="a").metric == "就业人数"


def test_the_wrong_chosen_encoding_is_a_message(editor_client, world):
    content = csv_bytes(HEADER, [outcome_row("a")], encoding="gbk")
    before = db_dump()
    response = upload(editor_client, Outcome, content, file_format="csv-utf8")
    assert response.status_code == 200
    assert "UTF-8" in str(response.context["form"].errors["import_file"])
    assert db_dump() == before


def test_an_update_changes_only_what_the_file_changes_and_bumps_the_version(editor_client, world):
    outcome = world["outcome"]
    content = csv_bytes(HEADER + ["version"], [outcome_row("puan-jiuye", note="核实") + ["1"]])
    _, confirm = import_file(editor_client, Outcome, content)
    assert confirm.status_code == 302
    outcome.refresh_from_db()
    assert (outcome.note, outcome.version) == ("核实", 2)
    record = outcome.history.first()
    assert (record.history_user.username, record.version, record.note) == ("editor", 2, "核实")
    changed = [change.field for change in record.diff_against(record.prev_record).changes]
    assert changed == ["note", "period_end", "period_end_precision", "period_start", "period_start_precision"]


# ---------------------------------------------------------------------------
# Malformed files: every error with its line, nothing written


def rejected(client, content, name="data.csv", file_format="csv"):
    """Upload, then try to confirm anyway; assert nothing changed and return the problems."""
    before = db_dump()
    response = upload(client, Outcome, content, name=name, file_format=file_format)
    assert response.status_code == 200
    assert "confirm_form" not in response.context or not response.context["confirm_form"]
    assert db_dump() == before
    return response


def messages_of(response):
    return [(p["where"], p["column"], p["message"]) for p in problems(response)]


def test_unknown_county_is_a_row_error_naming_it(editor_client, world):
    content = csv_bytes(HEADER, [outcome_row("a"), outcome_row("b", county="nowhere-xian")])
    response = rejected(editor_client, content)
    assert messages_of(response) == [("line 3", "county", "unknown county 'nowhere-xian'")]
    page = response.content.decode()
    assert "nothing was imported" in page
    assert "<td>line 3</td><td>county</td><td>unknown county &#x27;nowhere-xian&#x27;</td>" in page
    assert "Rows without problems" in page  # the good row is still previewed


def test_ambiguous_county_name_is_a_row_error(editor_client, world, make_county):
    make_county(name="城关镇", slug="chengguan-a")
    make_county(name="城关镇", slug="chengguan-b")
    content = csv_bytes(HEADER, [outcome_row("a", county="城关镇")])
    [(where, column, message)] = messages_of(rejected(editor_client, content))
    assert (where, column) == ("line 2", "county")
    assert "ambiguous county '城关镇'" in message and "chengguan-a, chengguan-b" in message


def test_a_county_by_unambiguous_name_is_accepted(editor_client, world):
    content = csv_bytes(HEADER, [outcome_row("a", county="普安县")])
    _, confirm = import_file(editor_client, Outcome, content)
    assert_imported(confirm, ["a"])


def test_duplicate_key_is_a_row_error_on_both_lines(editor_client, world):
    content = csv_bytes(HEADER, [outcome_row("a"), outcome_row("b"), outcome_row("a")])
    found = messages_of(rejected(editor_client, content))
    assert [(where, column) for where, column, _ in found] == [("line 2", "slug"), ("line 4", "slug")]
    assert "appears more than once in this file (line 2, line 4)" in found[0][2]


def test_bad_number_is_a_row_error(editor_client, world):
    content = csv_bytes(HEADER, [outcome_row("a", value="3,000"), outcome_row("b", value="三千x")])
    assert messages_of(rejected(editor_client, content)) == [("line 3", "value", "'三千x' is not a number")]


def test_value_disagreeing_with_its_printed_form_is_a_row_error(editor_client, world):
    content = csv_bytes(HEADER, [outcome_row("a", value="300")])
    [(where, column, message)] = messages_of(rejected(editor_client, content))
    assert (where, column) == ("line 2", "value")
    assert "disagrees with printed form '3000人'" in message


def test_every_error_of_every_row_is_listed(editor_client, world):
    content = csv_bytes(HEADER, [
        outcome_row("a", county="x-xian", value="abc"),
        outcome_row("b"),
        outcome_row("c", period_start="20x9", source="nope"),
    ])
    found = messages_of(rejected(editor_client, content))
    assert [(where, column) for where, column, _ in found] == [
        ("line 2", "county"), ("line 2", "value"), ("line 4", "period_start"), ("line 4", "source"),
    ]


def test_line_numbers_count_multiline_cells(editor_client, world):
    content = csv_bytes(HEADER, [outcome_row("a", note="第一行\n第二行"), outcome_row("b", county="x")])
    assert messages_of(rejected(editor_client, content))[0][0] == "line 4"


def test_missing_required_column_is_a_file_error(editor_client, world):
    header = [h for h in HEADER if h != "quote"]
    rows = [[v for h, v in zip(HEADER, outcome_row("a")) if h != "quote"]]
    [(where, column, message)] = messages_of(rejected(editor_client, csv_bytes(header, rows)))
    assert where == ""
    assert "lacks the required column(s) quote" in message


@pytest.mark.parametrize("junk", [
    bytes(range(256)) * 4,
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200),
    b"\xff\xfe\x00\x00garbage\x00\x01",
])
def test_binary_junk_is_refused_with_a_message(editor_client, world, junk):
    before = db_dump()
    response = upload(editor_client, Outcome, junk)
    assert response.status_code == 200
    message = str(response.context["form"].errors["import_file"])
    assert "UTF-8" in message or "binary" in message
    assert db_dump() == before


def test_a_workbook_uploaded_as_csv_is_refused_with_a_message(editor_client, world):
    response = upload(editor_client, Outcome, xlsx_bytes(HEADER, [outcome_row("a")]))
    assert "XLSX" in str(response.context["form"].errors["import_file"])


def test_junk_uploaded_as_xlsx_is_refused_with_a_message(editor_client, world):
    response = upload(editor_client, Outcome, b"not a zip", name="x.xlsx", file_format="xlsx")
    assert "not an XLSX workbook" in str(response.context["form"].errors["import_file"])


def test_a_formula_cell_is_a_row_error(editor_client, world):
    content = csv_bytes(HEADER, [outcome_row("a", note="=HYPERLINK(\"http://x\")"), outcome_row("b")])
    [(where, column, message)] = messages_of(rejected(editor_client, content))
    assert (where, column) == ("line 2", "note")
    assert "spreadsheet formula" in message


def test_a_formula_in_a_workbook_is_a_row_error(editor_client, world):
    content = xlsx_bytes(HEADER, [outcome_row("a", value="=1500*2")])
    [(where, column, message)] = messages_of(rejected(editor_client, content, name="x.xlsx", file_format="xlsx"))
    assert (where, column) == ("line 2", "value")


def test_an_escaped_formula_is_text(editor_client, world):
    content = csv_bytes(HEADER, [outcome_row("a", note="'=不是公式")])
    _, confirm = import_file(editor_client, Outcome, content)
    assert confirm.status_code == 302
    assert Outcome.objects.get(slug="a").note == "=不是公式"


def test_a_stale_version_is_a_row_error(editor_client, world):
    outcome = world["outcome"]
    outcome.note = "别人改的"
    outcome.version = 2
    outcome.save()
    content = csv_bytes(HEADER + ["version"], [outcome_row("puan-jiuye", note="我改的") + ["1"]])
    [(where, column, message)] = messages_of(rejected(editor_client, content))
    assert (where, column) == ("line 2", "version")
    assert "someone else changed this record" in message
    outcome.refresh_from_db()
    assert outcome.note == "别人改的"


def test_a_good_row_is_not_written_when_another_row_is_bad(editor_client, world):
    resource = OutcomeResource()
    import tablib

    dataset = tablib.Dataset(headers=HEADER)
    dataset.append(outcome_row("good"))
    dataset.append(outcome_row("bad", county="nowhere"))
    before = db_dump()
    result = resource.import_data(dataset, dry_run=False)
    assert result.has_validation_errors()
    assert db_dump() == before


def test_viewer_cannot_import(viewer_client, world):
    content = csv_bytes(HEADER, [outcome_row("a")])
    assert upload(viewer_client, Outcome, content).status_code == 403
    assert not Outcome.objects.filter(slug="a").exists()


def test_history_records_who_imported(editor_client, world):
    content = csv_bytes(HEADER, [outcome_row("a")])
    import_file(editor_client, Outcome, content)
    record = Outcome.objects.get(slug="a").history.get()
    assert (record.history_type, record.history_user.username) == ("+", "editor")


# ---------------------------------------------------------------------------
# Lookups are cached: the work per row does not grow with the file


def lookup_queries(client, n):
    rows = [outcome_row(f"o-{i}") for i in range(n)]
    with CaptureQueriesContext(connection) as queries:
        preview = upload(client, Outcome, csv_bytes(HEADER, rows))
    assert problems(preview) == []
    tables = ("programs_program", "counties_county", "programs_source", "programs_fund")
    return [q["sql"] for q in queries.captured_queries
            if q["sql"].lstrip().upper().startswith("SELECT") and any(f'FROM "{t}"' in q["sql"] for t in tables)]


def test_foreign_key_lookups_do_not_grow_with_rows(editor_client, world):
    ten = lookup_queries(editor_client, 10)
    hundred = lookup_queries(editor_client, 100)
    assert len(ten) == len(hundred) <= 6


def test_queries_per_row_are_constant(editor_client, world):
    def count(n):
        rows = [outcome_row(f"q{n}-{i}") for i in range(n)]
        with CaptureQueriesContext(connection) as queries:
            upload(editor_client, Outcome, csv_bytes(HEADER, rows))
        return len(queries)

    ten, hundred = count(10), count(100)
    per_row = (hundred - ten) / 90
    assert per_row <= 6, (ten, hundred)  # the row's own insert and history; no lookups


# The speed of a 10,000-row import is measured by the benchmark (make bench, BENCHMARKS.md), not
# asserted here: a timed test fails on a busy machine and proves nothing on a fast one.
