"""``generate_demo``: deterministic, shaped like the real data, searchable, and careful with other rows."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from core.search import build_search_text, search_tokens
from counties.models import County, Prefecture, Province
from envoys.models import Envoy, Posting
from programs.models import Fund, Indicator, Organization, Outcome, Program, Source
from programs.printed import value_agrees
from tracker.demo import DEMO_PREFIX, generate_demo

pytestmark = pytest.mark.django_db

MODELS = [Province, Prefecture, County, Fund, Organization, Source, Program, Indicator, Outcome, Envoy, Posting]


def snapshot():
    return {
        "programs": list(Program.objects.order_by("slug").values_list(
            "slug", "name", "area", "fund__slug", "start", "summary", "search_text")),
        "outcomes": list(Outcome.objects.order_by("slug").values_list(
            "slug", "metric", "value", "value_printed", "quote", "program__slug", "source__slug")),
        "counties": list(County.objects.order_by("slug").values_list("slug", "name", "prefecture__slug")),
        "links": sorted(Program.counties.through.objects.values_list("program__slug", "county__slug")),
        "postings": list(Posting.objects.order_by("slug").values_list("slug", "county__slug", "title")),
    }


def run(*args):
    out = io.StringIO()
    call_command("generate_demo", *args, "--no-progress", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_the_same_seed_gives_the_same_rows_and_a_rerun_replaces_them():
    run("--programs", "40", "--seed", "7")
    first = snapshot()
    run("--programs", "40", "--seed", "7")
    assert snapshot() == first
    run("--programs", "40", "--seed", "8")
    assert snapshot()["programs"] != first["programs"]
    assert Program.objects.count() == 40


def test_rows_have_the_shape_of_the_real_data():
    output = run("--programs", "60", "--seed", "3")
    assert "rows generated (seed 3)" in output
    assert Program.objects.count() == 60
    assert Outcome.objects.count() == 300  # five figures per program
    assert Source.objects.exists() and Envoy.objects.exists() and Posting.objects.exists()
    for model in MODELS:
        assert not model.objects.exclude(slug__startswith=DEMO_PREFIX).exists(), model
    names = list(Program.objects.values_list("name", flat=True))
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in name) for name in names)
    assert Program.objects.filter(counties__isnull=False).distinct().count() == 60  # each in some county
    county = County.objects.select_related("prefecture__province").first()
    assert county.prefecture.province == county.province
    for outcome in Outcome.objects.select_related("source"):
        assert outcome.quote and outcome.quote in outcome.source.text
        assert outcome.value_printed in outcome.quote
        assert value_agrees(outcome.value, outcome.value_printed, outcome.unit) is None, outcome.slug
    # a county's figures of one metric are one indicator's series, in its unit
    assert Indicator.objects.exists()
    for outcome in Outcome.objects.filter(indicator__isnull=False).select_related("indicator"):
        assert outcome.county_id == outcome.indicator.county_id and outcome.unit in outcome.indicator.unit_list
        assert outcome.metric in outcome.indicator.name


def test_search_text_of_bulk_rows_is_what_a_save_would_write():
    generate_demo(programs=50, seed=11)
    for model in MODELS:
        for record in model.objects.all()[:200]:
            assert record.search_text == build_search_text(record), (model.__name__, record.slug)
            assert record.search_tokens == search_tokens(record.search_text), (model.__name__, record.slug)


def test_seed_records_are_allowed_and_never_changed():
    # guizhou-sheng is a slug of seeds/data/provinces.yaml: a record `make run` loads.
    seed_province = Province.objects.create(name="贵州省", slug="guizhou-sheng")
    before = (seed_province.version, seed_province.updated_at)
    run("--programs", "30")
    seed_province.refresh_from_db()
    assert (seed_province.version, seed_province.updated_at) == before
    # The generator refers to the seed province instead of writing a second 贵州省.
    assert Province.objects.filter(name="贵州省").count() == 1


def test_refuses_beside_other_records_unless_forced(make_program):
    mine = make_program(name="别人的项目", slug="bieren-de-xiangmu")
    with pytest.raises(CommandError, match="--force"):
        run("--programs", "20")
    assert not Program.objects.filter(slug__startswith=DEMO_PREFIX).exists()
    run("--programs", "20", "--force")
    assert Program.objects.filter(slug__startswith=DEMO_PREFIX).count() == 20
    run("--programs", "10", "--force")
    assert Program.objects.filter(slug__startswith=DEMO_PREFIX).count() == 10
    mine.refresh_from_db()
    assert mine.version == 1 and Program.objects.count() == 11


def test_rejects_a_nonsense_count():
    with pytest.raises(CommandError):
        run("--programs", "0")
