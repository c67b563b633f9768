"""Envoys and postings in files: references by slug, years and dates checked."""

import tablib

from core.testing.admin import db_dump
from envoys.models import Envoy, Posting
from envoys.resources import EnvoyResource, PostingResource


def test_postings_round_trip_with_partial_dates(world):
    posting = world["posting"]
    posting.start, posting.start_precision = "2019-01-01", "year"
    posting.end, posting.end_precision = "2021-03-01", "month"
    posting.save()
    dataset = PostingResource().export(Posting.objects.all())
    row = next(row for row in dataset.dict if row["slug"] == "wang-xiaoming-puan-xian")
    assert (row["envoy"], row["county"], row["start"], row["end"]) == ("wang-xiaoming", "puan-xian", "2019", "2021-03")
    before = db_dump()
    result = PostingResource().import_data(tablib.Dataset(*dataset, headers=dataset.headers), dry_run=False)
    assert result.problems == []
    assert db_dump() == before


def test_a_posting_for_an_unknown_envoy_or_with_end_before_start_is_refused(world):
    dataset = tablib.Dataset(headers=["slug", "envoy", "county", "start", "end"])
    dataset.append(["p1", "nobody", "puan-xian", "", ""])
    dataset.append(["p2", "wang-xiaoming", "puan-xian", "2020", "2019"])
    before = db_dump()
    result = PostingResource().import_data(dataset, dry_run=False)
    assert [(p["where"], p["column"]) for p in result.problems] == [("line 2", "envoy"), ("line 3", "end")]
    assert "unknown envoy 'nobody'" in result.problems[0]["message"]
    assert db_dump() == before


def test_envoy_year_and_role_are_checked(world):
    dataset = tablib.Dataset(headers=["slug", "name", "role", "joined_year", "sources"])
    dataset.append(["e1", "甲", "tepaiyuan", "20x5", ""])
    dataset.append(["e2", "乙", "boss", "2015", "tuopin-wenzhang|nope"])
    result = EnvoyResource().import_data(dataset, dry_run=True)
    assert [(p["where"], p["column"]) for p in result.problems] == [
        ("line 2", "joined_year"), ("line 3", "role"), ("line 3", "sources"),
    ]
    assert "unknown source 'nope'" in result.problems[-1]["message"]


def test_envoy_sources_are_set_from_the_file(world):
    dataset = tablib.Dataset(headers=["slug", "name", "sources", "aliases"])
    dataset.append(["wang-xiaoming", "王小明", "tuopin-wenzhang", "小明|王先生"])
    result = EnvoyResource().import_data(dataset, dry_run=False)
    assert result.problems == []
    envoy = Envoy.objects.get(slug="wang-xiaoming")
    assert [s.slug for s in envoy.sources.all()] == ["tuopin-wenzhang"]
    assert envoy.aliases == "小明\n王先生"
    assert envoy.version == 2
