"""Places in files: by slug or by name, narrowed by province when a name repeats."""

import tablib
from django.utils import translation

from core.testing.admin import csv_bytes, db_dump, import_file, problems
from counties.models import County, Prefecture
from counties.resources import CountyResource, PrefectureResource

HEADER = ["slug", "name", "kind", "prefecture", "province", "code", "note", "designations"]


def test_a_new_county_by_names(editor_client, world):
    province, prefecture = world["province"], world["prefecture"]
    content = csv_bytes(HEADER, [["wangmo-xian", "望谟县", "xian", prefecture.name, province.name, "522326", "",
                                  "guojiaji-pinkunxian:tuopin-wenzhang|sanqu-sanzhou"]], encoding="gbk")
    preview, confirm = import_file(editor_client, County, content)
    assert problems(preview) == []
    county = County.objects.get(slug="wangmo-xian")
    assert (county.prefecture, county.province, county.code) == (prefecture, province, "522326")
    assert sorted(county.designations.values_list("designation", flat=True)) == ["guojiaji-pinkunxian",
                                                                                 "sanqu-sanzhou"]
    assert county.history.get().history_user.username == "editor"


def test_a_prefecture_name_in_two_provinces_is_narrowed_by_the_province(world, make_province, make_prefecture):
    elsewhere = make_province(name="四川省", slug="sichuan-sheng")
    make_prefecture(name=world["prefecture"].name, slug="same-name-elsewhere", province=elsewhere)
    dataset = tablib.Dataset(headers=["slug", "name", "prefecture", "province"])
    dataset.append(["a-xian", "甲县", world["prefecture"].name, world["province"].slug])
    dataset.append(["b-xian", "乙县", world["prefecture"].name, ""])
    result = CountyResource().import_data(dataset, dry_run=True)
    # Line 2 names the province, so its prefecture is found; line 3 does not.
    assert [(p["where"], p["column"]) for p in result.problems] == [("line 3", "prefecture"), ("line 3", "province")]
    problem = result.problems[0]
    assert "ambiguous prefecture" in problem["message"]
    assert "same-name-elsewhere" in problem["message"]


def test_a_prefecture_outside_the_province_is_a_row_error(world, make_province):
    elsewhere = make_province(name="四川省", slug="sichuan-sheng")
    dataset = tablib.Dataset(headers=["slug", "name", "prefecture", "province"])
    dataset.append(["a-xian", "甲县", world["prefecture"].slug, elsewhere.slug])
    with translation.override("en"):  # the rule's message is translated; outside a request Chinese is the default
        result = CountyResource().import_data(dataset, dry_run=True)
    [problem] = result.problems
    assert problem["column"] == "prefecture"
    assert problem["message"] == f"prefecture '{world['prefecture'].slug}' is not in province 'sichuan-sheng'"


def test_an_unknown_designation_is_a_row_error(world):
    before = db_dump()
    dataset = tablib.Dataset(headers=["slug", "name", "province", "designations"])
    dataset.append(["a-xian", "甲县", world["province"].slug, "pinkun|guojiaji-pinkunxian:nowhere"])
    result = CountyResource().import_data(dataset, dry_run=False)
    [problem] = result.problems
    assert problem["column"] == "designations"
    assert "unknown designation 'pinkun'" in problem["message"] and "unknown source 'nowhere'" in problem["message"]
    assert db_dump() == before


def test_a_duplicate_name_in_one_prefecture_is_a_row_error(world):
    county = world["county"]
    dataset = tablib.Dataset(headers=["slug", "name", "prefecture", "province"])
    dataset.append(["another-puan", county.name, county.prefecture.slug, county.province.slug])
    result = CountyResource().import_data(dataset, dry_run=True)
    assert [p["where"] for p in result.problems] == ["line 2"]


def test_prefectures_round_trip(world):
    dataset = PrefectureResource().export(Prefecture.objects.all())
    before = db_dump()
    result = PrefectureResource().import_data(tablib.Dataset(*dataset, headers=dataset.headers), dry_run=False)
    assert result.problems == []
    assert {row.import_type for row in result.rows} == {"skip"}
    assert db_dump() == before
