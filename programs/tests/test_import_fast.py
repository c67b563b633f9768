"""The bulk path's shortcuts give what the general code gives: a row read through its column plan
(RecordResource.import_planned) is the row import-export's import_instance reads, cell for cell and error for
error; core.importing.clean_fields is Django's Model.clean_fields, value for value and message for message; the
collector paused for an import is back as it was after it, however imports nest."""

import datetime
import gc
from decimal import Decimal

import pytest
import tablib
from django.core.exceptions import ValidationError

from core.importing import cell_text, clean_fields, collection_paused
from core.testing.admin import OUTCOME_HEADER, outcome_row
from programs.models import Outcome, Precision, Program
from programs.resources import OutcomeResource

HOSTILE_ROWS = [
    {},
    {"metric": "'=1+1", "note": "'@home", "quote": "'帮助3000人就业"},  # quoted formulas are text
    {"metric": "=SUM(A1)"},  # a formula is refused
    {"note": "@cmd", "qualifier": "+x"},
    {"metric": "-5", "note": "'-5", "qualifier": "'"},
    {"value": "+3000", "value_printed": "3000人"},
    {"value": "1,000", "value_printed": "1000人", "quote": "帮助1000人就业"},
    {"value": "-5"},
    {"value": "abc"},
    {"value": "1e400"},
    {"value": "", "value_printed": "数千人"},
    {"kind": "nonsense"},
    {"kind": ""},
    {"kind": " target "},
    {"period_start": " 2019 ", "period_end": "2019-06-31"},
    {"period_start": "2021", "period_end": "2019"},
    {"period_start": "soon"},
    {"program": "no-such-program"},
    {"program": "Retu_Jihua"},
    {"program": "", "county": "", "fund": ""},
    # keys read in place when they are slugs already looked up; names, padded and unknown keys through resolve
    {"program": " retu-jihua ", "county": "普安县", "fund": "乡村振兴基金"},
    {"program": "热土计划", "county": " 普安县\t", "fund": "阿里巴巴脫貧基金"},
    {"county": "dushan-xian", "fund": "no-such-fund"}, {"county": " ", "fund": "\t"},
    {"county": "=puan-xian"},
    {"source": "'tuopin-wenzhang"},
    {"metric": "\t就业人数", "note": "\r"},
    {"metric": "x" * 250},
    {"unit": "人" * 30},
    {"slug": " spaced-slug "},
    {"slug": "Bad_Slug"},
]

# Cells as a workbook or a JSON file gives them: not text.
TYPED_ROWS = [
    {"value": 3000, "period_start": 2019},
    {"value": 2.5, "value_printed": "2.5人", "quote": "帮助2.5人就业"},
    {"value": Decimal("3000.0000")},
    {"value": None, "note": None},
    {"period_start": datetime.datetime(2019, 6, 1), "period_end": datetime.date(2020, 6, 30)},
    {"metric": 12, "note": True},
    {"value": float("nan")},
]


def read_both(resource, row):
    """The row read through the column plan, and through import-export's import_instance: each instance's
    field values and its errors."""
    plan = resource.column_plan(list(row))
    outcomes = []
    for read in (lambda instance, cells: resource.import_planned(instance, cells, plan, {"row_number": 1}),
                 lambda instance, cells: resource.import_instance(instance, cells, row_number=1)):
        instance = resource.instance_maker()(row)
        try:
            read(instance, row)
            errors = {}
        except ValidationError as exc:
            errors = exc.message_dict
        values = {field.attname: getattr(instance, field.attname) for field in Outcome._meta.concrete_fields}
        # What the descriptors leave besides: the row's database, the related rows cached (the very rows).
        values["_state.db"] = instance._state.db
        values["_state.fields_cache"] = {name: id(row) for name, row in instance._state.fields_cache.items()}
        outcomes.append((values, errors))
    return outcomes


@pytest.mark.parametrize("changes", HOSTILE_ROWS + TYPED_ROWS)
def test_a_row_read_through_the_plan_is_the_row_import_export_reads(world, changes):
    resource = OutcomeResource()
    row = dict(zip(OUTCOME_HEADER, outcome_row("fast-1"), strict=True))
    row.update(changes)
    dataset = tablib.Dataset(list(row.values()), headers=list(row))
    resource.check_file(dataset)
    resource.prefetch_keys(dataset)
    planned, general = read_both(resource, row)
    assert planned == general
    for name, value in planned[0].items():
        assert type(value) is type(general[0][name]), name


@pytest.mark.parametrize("text", ["", " ", "a", "'", "''", "'=", "'=x", "'a", "=", "=x", "+", "+5", "-5", "-5.5e3",
                                  "-x", "@", "@x", " =x", "\t=x", "\r", "'\t", "普安县", "'普安县"])
def test_cell_text_of_text(text):
    """cell_text takes a text that starts with no formula character and no quote as it is; the others as the
    rules say."""
    expected = text
    if text[:1] in ("=", "+", "-", "@") and text not in ("+5", "-5", "-5.5e3"):
        with pytest.raises(ValueError):
            cell_text(text)
        assert cell_text(text, strict=False) == text
        return
    if len(text) > 1 and text[0] == "'" and text[1] in ("=", "+", "-", "@", "\t", "\r"):
        expected = text[1:]
    assert cell_text(text) == expected
    assert type(cell_text(text)) is str


class _Agreeable(str):
    """A str that equals anything: core.importing.clean_fields must leave it to the field's own clean."""

    def __eq__(self, other):
        return True

    __hash__ = str.__hash__


class _Falsy(str):
    def __bool__(self):
        return False


def outcome(world, **values):
    row = dict(zip(OUTCOME_HEADER, outcome_row("fast-2"), strict=True))
    resource = OutcomeResource()
    dataset = tablib.Dataset(list(row.values()), headers=list(row))
    resource.check_file(dataset)
    resource.prefetch_keys(dataset)
    instance = resource.instance_maker()(row)
    resource.import_planned(instance, row, resource.column_plan(list(row)), {})
    for name, value in values.items():
        setattr(instance, name, value)
    return instance


@pytest.mark.parametrize("values", [
    {},
    {"version": 0}, {"version": -1}, {"version": 2**63}, {"version": "7"}, {"version": True}, {"version": None},
    {"value": Decimal("3000.0000")}, {"value": Decimal("1e30")}, {"value": Decimal("1.00001")},
    {"value": Decimal("NaN")}, {"value": Decimal("-Infinity")}, {"value": 2.5}, {"value": 3}, {"value": "12.5"},
    {"value": "abc"}, {"value": Decimal("-0")}, {"value": Decimal("0E-10")},
    {"period_start": datetime.datetime(2019, 6, 1, 12)}, {"period_start": "2019-06-01"}, {"period_start": "x"},
    {"period_end": datetime.date.max}, {"period_start": None, "period_start_precision": "decade"},
    {"kind": "nonsense"}, {"kind": ""}, {"metric": ""}, {"metric": "x" * 201}, {"slug": "a_b"}, {"slug": ""},
    {"id": 5}, {"id": "x"}, {"id": -1},
    # validators checked in place (the slug's pattern, the version's bounds), at and beyond their edges
    {"slug": "A-b_9"}, {"slug": "普安"}, {"slug": "a b"}, {"slug": "a\n"}, {"slug": 5}, {"version": 2**63 - 1},
    {"version": 2**64}, {"version": 1.5},
    # empty values by type, and texts that are str subclasses (a TextChoices member is one)
    {"note": ""}, {"note": []}, {"note": ()}, {"note": {}}, {"value": 0}, {"value": False}, {"value": Decimal(0)},
    {"period_end_precision": Precision.YEAR}, {"period_end_precision": Precision.DAY},
    {"period_start": datetime.date(2019, 6, 1), "period_start_precision": Precision.MONTH},
    {"unit": Precision.YEAR}, {"kind": _Agreeable("nonsense")}, {"kind": _Agreeable("")},
    {"metric": _Agreeable("x" * 201)}, {"metric": _Agreeable("x")}, {"quote": _Agreeable("")},
    {"period_end_precision": _Falsy("year")},
])
def test_clean_fields_is_djangos(world, values):
    exclude = {"program", "fund", "county", "source", "indicator"}
    ours, django = outcome(world, **values), outcome(world, **values)
    found = []
    for instance, clean in ((ours, lambda i: clean_fields(i, exclude)), (django, lambda i: i.clean_fields(exclude))):
        try:
            clean(instance)
            found.append({})
        except ValidationError as exc:
            found.append(exc.message_dict)
    assert found[0] == found[1]
    for field in Outcome._meta.concrete_fields:
        mine, theirs = getattr(ours, field.attname), getattr(django, field.attname)
        assert (mine, type(mine)) == (theirs, type(theirs)), field.name
        if isinstance(mine, Decimal):
            assert str(mine) == str(theirs)


def test_the_collector_is_paused_for_an_import_and_back_after_it():
    assert gc.isenabled()
    with collection_paused():
        assert not gc.isenabled()
        with collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collection_paused():
        raise RuntimeError
    assert gc.isenabled()
    gc.disable()
    try:
        with collection_paused():
            pass
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()


def test_an_import_writes_with_a_larger_sqlite_page_cache_and_gives_it_back(db):
    from django.db import connection

    from core.importing import WRITE_PAGE_CACHE_KIB, page_cache

    if connection.vendor != "sqlite":
        with page_cache("default"):
            pass  # nothing to change elsewhere
        return

    def size():
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            return cursor.fetchone()[0]

    original = size()  # whatever an earlier test left on this connection
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size = -2000")  # SQLite's default
    before = size()
    with page_cache("default"):
        assert size() == -WRITE_PAGE_CACHE_KIB
    assert size() == before
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA cache_size = -{WRITE_PAGE_CACHE_KIB * 2}")  # larger already: kept
    try:
        with page_cache("default"):
            assert size() == -WRITE_PAGE_CACHE_KIB * 2
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {original}")


def test_looked_up_rows_leave_their_search_columns_and_time_stamps_behind(world):
    """A foreign key's rows are read without the columns a lookup never needs (its derived search columns, its
    time stamps); a row read so still gives them when asked."""
    row = dict(zip(OUTCOME_HEADER, outcome_row("fast-3"), strict=True))
    resource = OutcomeResource()
    dataset = tablib.Dataset(list(row.values()), headers=list(row))
    resource.check_file(dataset)
    resource.prefetch_keys(dataset)
    program = resource.fields["program"].widget.lookup.find(row["program"])[0]
    assert {"search_text", "search_tokens", "created_at", "updated_at"} <= program.get_deferred_fields()
    stored = Program.objects.get(pk=program.pk)
    assert (program.created_at, program.updated_at) == (stored.created_at, stored.updated_at)


@pytest.mark.parametrize("cell", ["2019", " 2019-06 ", "2019-06-26", "", "  ", "20x9", "2019-13", "2019-02-30", 2019,
                                  None, datetime.date(2019, 6, 1), datetime.datetime(2019, 6, 1, 12), Precision.YEAR])
def test_a_partial_date_read_again_is_read_the_same(cell):
    """core.records.parse_partial_date keeps its answers for texts: a text read again gives the same date and
    precision (of the same types), and junk is refused every time, with the same message."""
    from core.records import _parse_partial_text, parse_partial_date

    def read():
        try:
            date, precision = parse_partial_date(cell)
        except ValueError as exc:
            return ("refused", str(exc))
        return (date, type(date), precision, type(precision))

    first = read()
    assert read() == first
    _parse_partial_text.cache_clear()
    assert read() == first
    if isinstance(cell, str) and cell.strip() in ("2019", "2019-06", "2019-06-26"):
        assert first[2] in (Precision.YEAR, Precision.MONTH, Precision.DAY) and type(first[2]) is Precision
    if cell in ("20x9", "2019-02-30"):
        assert first[0] == "refused" and repr(cell) in first[1]
