"""The Resources: export then import changes nothing; exports follow filters; cells are safe.

Covers every model's Resource (counties and envoys too), through the admin and directly.
"""

import csv
import io
import json

import openpyxl
import pytest
import tablib

from core.importing import escape_formula, unescape_formula
from core.testing.admin import db_dump, export, import_file, problems, read_csv_response, resource_class
from counties.models import County, Prefecture, Province
from counties.resources import CountyResource
from envoys.models import Envoy, Posting
from programs.models import Fund, Organization, Outcome, Program, Source
from programs.resources import FundResource, OutcomeResource, ProgramResource

MODELS = [Source, Fund, Organization, Program, Outcome, Province, Prefecture, County, Envoy, Posting]
IDS = [model.__name__ for model in MODELS]


@pytest.fixture
def rich_world(world, make_program):
    """The world, with the awkward values: year-only dates, decimals, aliases, a formula-like text."""
    fund = world["fund"]
    fund.founded, fund.founded_precision = "2017-12-01", "day"
    fund.commitment = "10000000000.0000"
    fund.aliases = "阿里巴巴脫貧基金\n脱贫基金"
    fund.save()
    program = world["program"]
    program.start, program.start_precision = "2019-01-01", "year"
    program.end, program.end_precision = "2021-06-01", "month"
    program.summary = "=1+1 不是公式"
    program.parent = make_program(name="乡村振兴", slug="xiangcun-zhenxing")
    program.save()
    outcome = world["outcome"]
    outcome.value = "3000.0000"
    outcome.note = "-5% 是文字, @某人"
    outcome.save()
    return world


@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_export_then_import_changes_nothing(editor_client, rich_world, model):
    response = export(editor_client, model)
    assert response.status_code == 200
    content = response.content
    before = db_dump()
    preview, confirm = import_file(editor_client, model, content)
    assert problems(preview) == []
    assert {row.import_type for row in preview.context["result"].valid_rows()} == {"skip"}
    assert confirm.status_code == 302
    assert db_dump() == before


@pytest.mark.parametrize("file_format,name", [("xlsx", "x.xlsx"), ("json", "x.json")])
@pytest.mark.parametrize("model", [Program, Outcome, County, Fund], ids=["Program", "Outcome", "County", "Fund"])
def test_round_trip_in_xlsx_and_json(editor_client, rich_world, model, file_format, name):
    content = export(editor_client, model, file_format=file_format).content
    before = db_dump()
    preview, confirm = import_file(editor_client, model, content, name=name, file_format=file_format)
    assert problems(preview) == []
    assert confirm.status_code == 302
    assert db_dump() == before


def test_an_edited_export_imports_the_edit_and_nothing_else(editor_client, rich_world):
    rows = read_csv_response(export(editor_client, Program))
    header, data = rows[0], rows[1:]
    row = next(r for r in data if r[0] == "retu-jihua")
    row[header.index("summary")] = "新的简介"
    stream = io.StringIO()
    csv.writer(stream).writerows([header, *data])
    preview, confirm = import_file(editor_client, Program, stream.getvalue().encode("utf-8-sig"))
    types = {r.object_id: r.import_type for r in preview.context["result"].valid_rows()}
    assert sorted(types.values()) == ["skip"] * 5 + ["update"]
    program = Program.objects.get(slug="retu-jihua")
    assert (program.summary, program.version) == ("新的简介", 2)
    assert [c.slug for c in program.counties.all()] == ["puan-xian"]


def test_export_values_are_exact_text(rich_world):
    resource = FundResource()
    dataset = resource.export(Fund.objects.filter(slug="alibabatuopin-jijin"))
    row = dict(zip(dataset.headers, dataset[0], strict=True))
    assert row["commitment"] == "10000000000"
    assert row["founded"] == "2017-12-01"
    assert row["aliases"] == "阿里巴巴脫貧基金|脱贫基金"
    assert row["version"].isdigit()
    dataset = ProgramResource().export(Program.objects.filter(slug="retu-jihua"))
    program = dict(zip(dataset.headers, dataset[0], strict=True))
    assert (program["start"], program["end"]) == ("2019", "2021-06")
    assert program["parent"] == "xiangcun-zhenxing"
    assert program["counties"] == "puan-xian"
    assert program["summary"] == "'=1+1 不是公式"
    assert all(isinstance(value, str) for value in dataset[0])


def test_columns_match_the_seed_keys():
    assert ProgramResource().get_export_headers() == [
        "slug", "name", "aliases", "kind", "area", "fund", "organizations", "parent", "start", "end",
        "summary", "counties", "sources", "version",
    ]
    assert OutcomeResource().get_export_headers() == [
        "slug", "metric", "kind", "value", "unit", "value_printed", "qualifier", "period_start", "period_end",
        "program", "fund", "county", "source", "quote", "note", "indicator", "version",
    ]
    assert CountyResource().get_export_headers()[:10] == [
        "slug", "name", "aliases", "kind", "prefecture", "province", "code", "latitude", "longitude", "note",
    ]


def test_csv_export_starts_with_a_bom_and_escapes_formulas(editor_client, rich_world):
    response = export(editor_client, Outcome)
    assert response.content.startswith(b"\xef\xbb\xbf")
    assert response["Content-Type"].startswith("text/csv")
    rows = read_csv_response(response)
    row = next(dict(zip(rows[0], r, strict=True)) for r in rows[1:] if r[0] == "puan-jiuye")
    assert row["note"] == "'-5% 是文字, @某人"
    assert row["value"] == "3000"  # a number stays a number


def test_xlsx_export_has_no_live_formula(editor_client, rich_world):
    content = export(editor_client, Program, file_format="xlsx").content
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    values = [cell.value for row in sheet.iter_rows() for cell in row]
    assert "'=1+1 不是公式" in values
    assert not any(cell.data_type == "f" for row in sheet.iter_rows() for cell in row)


def test_json_export_is_text(editor_client, rich_world):
    data = json.loads(export(editor_client, Fund, file_format="json").content)
    fund = next(item for item in data if item["slug"] == "alibabatuopin-jijin")
    assert fund["commitment"] == "10000000000"


@pytest.mark.parametrize("text,escaped", [
    ("=SUM(A1)", "'=SUM(A1)"), ("+86 电话", "'+86 电话"), ("-x", "'-x"), ("@cmd", "'@cmd"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("-5", "-5"), ("+3.5", "+3.5"), ("普安县", "普安县"), ("", ""),
])
def test_formula_escaping(text, escaped):
    assert escape_formula(text) == escaped
    assert unescape_formula(escaped) == text


def test_export_follows_the_changelist_filters_and_search(editor_client, rich_world, make_program):
    make_program(name="女性项目", slug="nvxing-xiangmu", area="nvxing")
    everything = read_csv_response(export(editor_client, Program))
    assert {r[0] for r in everything[1:]} == {
        "retu-jihua", "xiangcun-zhenxing", "nvxing-xiangmu",
        "dianshangtuopin", "cunbo-jihua", "jiaoyufupin", "jiankangbaoxian",
    }
    filtered = read_csv_response(export(editor_client, Program, query="area__exact=nvxing"))
    assert [r[0] for r in filtered[1:]] == ["nvxing-xiangmu"]
    searched = read_csv_response(export(editor_client, Program, query="q=热土"))
    assert [r[0] for r in searched[1:]] == ["retu-jihua"]
    by_fund = read_csv_response(export(editor_client, Program, query=f"fund__id__exact={rich_world['fund'].pk}"))
    assert {r[0] for r in by_fund[1:]} == {"retu-jihua", "dianshangtuopin", "jiaoyufupin"}


def test_viewer_can_export(viewer_client, rich_world):
    response = export(viewer_client, Program)
    assert response.status_code == 200
    assert len(read_csv_response(response)) == 7  # the header and six programs


def test_export_over_any_queryset_costs_a_fixed_number_of_queries(rich_world, make_program,
                                                                  django_assert_max_num_queries):
    """The public export iterates ``export_row`` over its own filtered queryset."""
    for number in range(20):
        program = make_program(name=f"项目{number}", slug=f"xiangmu-{number}")
        program.counties.add(rich_world["county"])
    resource = ProgramResource()
    queryset = ProgramResource.prepare_export_queryset(Program.objects.filter(slug__startswith="xiangmu"))
    with django_assert_max_num_queries(4):
        rows = [resource.export_row(program) for program in queryset]
    assert len(rows) == 20
    assert rows[0][resource.get_export_headers().index("counties")] == "puan-xian"


def test_resource_import_of_a_dataset(rich_world):
    """The Resource on its own (no admin): the same rules."""
    dataset = tablib.Dataset(headers=["slug", "name", "province"])
    dataset.append(["xin-xian", "新县", rich_world["province"].slug])
    dataset.append(["bad-xian", "坏县", "nowhere"])
    result = CountyResource().import_data(dataset, dry_run=False)
    assert [(p["where"], p["column"]) for p in result.problems] == [("line 3", "province")]
    assert not County.objects.filter(slug="xin-xian").exists()


def test_county_designations_round_trip_and_change(rich_world, make_source):
    other = make_source(title="另一篇", slug="ling-yipian")
    dataset = CountyResource().export(County.objects.filter(slug="puan-xian"))
    row = dict(zip(dataset.headers, dataset[0], strict=True))
    assert row["designations"] == (
        "guojiaji-pinkunxian:tuopin-wenzhang|shendu-pinkunxian:alibabatuopinjijindewunian"
    )
    changed = tablib.Dataset(headers=dataset.headers)
    row["designations"] = f"guojiaji-pinkunxian:tuopin-wenzhang|sanqu-sanzhou:{other.slug}"
    changed.append([row[h] for h in dataset.headers])
    result = CountyResource().import_data(changed, dry_run=False)
    assert result.problems == []
    county = County.objects.get(slug="puan-xian")
    assert sorted(county.designations.values_list("designation", "source__slug", "quote")) == [
        ("guojiaji-pinkunxian", "tuopin-wenzhang", "普安县是国家级贫困县"),  # its quote kept
        ("sanqu-sanzhou", "ling-yipian", ""),
    ]


def test_every_admin_uses_its_models_resource():
    for model in MODELS:
        assert resource_class(model)._meta.model is model
