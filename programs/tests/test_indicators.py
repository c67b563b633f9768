"""Indicators (issue 12): one measure followed across time and articles, where articles disagree
(报道不一致) and where one restates another; the seeds' assignment and its checks; /indicators/."""

import csv
import datetime
import io
import re
import shutil
from decimal import Decimal

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.charts import Point, position, series_chart
from core.seeding import SEEDS_DIR
from core.testing.admin import csv_bytes, db_dump, problems, upload
from core.testing.world import html_slugs
from programs.models import Indicator, Outcome
from programs.resources import IndicatorResource, OutcomeResource
from programs.services import read_series

DONATIONS = "dingliangzhuxiangmujuankuan"  # 顶梁柱项目捐款
TERM = "tuopintepaiyuangongzuoshixian"  # 脱贫特派员工作时限: 一年 (001) and 兩年 (004), both of 2019
COMMITMENT = "alibabatuopinjijinchengnuotouru"  # the 100亿 commitment, printed by all five articles


@pytest.fixture
def seeded(db):
    call_command("load_seeds", stdout=io.StringIO())


def page(client, url, language="en"):
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, url
    return response.content.decode()


def svg_of(html):
    start = html.index('<svg class="chart"')
    return html[start:html.index("</svg>", start)]


# ---------------------------------------------------------------------------
# The seeds


def test_the_dingliangzhu_donations_are_one_series_in_yuan_from_several_articles_and_drawn(client, seeded):
    indicator = Indicator.objects.get(slug=DONATIONS)
    values = list(indicator.outcomes.filter(value__isnull=False))
    assert len(values) >= 3
    assert len({o.source_id for o in values}) >= 2
    assert indicator.base_unit == "元" and {o.unit for o in values} == {"元"}
    html = page(client, indicator.get_absolute_url())
    svg = svg_of(html)
    assert svg.count('class="chart-point"') == len(values) == 3
    for outcome in values:  # each point labelled as printed, and the same numbers in the table
        assert f"{outcome.qualifier}{outcome.value_printed}" in svg
        assert f"{outcome.value.normalize():f}" in html
    # on one axis in yuan, later figures higher: 7500万 (2018-06) < 1.6亿 (2019-06) < 3.4亿 (2021)
    heights = [float(y) for y in re.findall(r'<circle class="chart-point" cx="[\d.]+" cy="([\d.]+)"', svg)]
    assert heights == sorted(heights, reverse=True)
    assert "<script" not in html.split("</header>", 1)[1]


def test_the_indicator_columns_are_the_keys_of_the_seed_file():
    rows = yaml.safe_load((SEEDS_DIR / "data" / "indicators.yaml").read_text(encoding="utf-8"))
    columns = IndicatorResource().get_export_headers()
    assert columns == ["slug", "name", "aliases", "quantity", "base_unit", "units", "fund", "program", "county",
                       "description", "sources", "version"]
    assert all(list(row) == columns[:-1] for row in rows)


def test_every_assigned_seed_figure_fits_its_indicator_and_loading_twice_changes_nothing(seeded, capsys):
    assigned = Outcome.objects.filter(indicator__isnull=False).select_related("indicator")
    assert assigned.count() == 29
    assert all(o.unit in o.indicator.unit_list for o in assigned)
    call_command("load_seeds")
    assert "nothing changed" in capsys.readouterr().out


def test_the_seeds_disagree_on_the_envoys_term_only_and_restate_the_commitment(seeded):
    assert list(Indicator.objects.disputed().values_list("slug", flat=True)) == [TERM]
    term = read_series(indicator=Indicator.objects.get(slug=TERM))
    assert [sorted(o.value_printed for o in group) for group in term.disagreements] == [["一年", "兩年"]]
    commitment = read_series(indicator=Indicator.objects.get(slug=COMMITMENT))
    assert not commitment.disagreements
    # 000 (2018-03) prints it first; 003 (2018-10) restates it; 001, 002 and 004 are undated or of a year
    # only, so each is known to be later than 000 only where the dates say so.
    first = next(o for o in commitment.outcomes if o.slug.startswith("o000-"))
    assert first.pk not in commitment.restates
    assert commitment.restates[next(o.pk for o in commitment.outcomes if o.slug.startswith("o003-"))] == first
    # 001 and 004 both print 3037亿元 for 2020, both of 2021: neither is known to be the later
    sales = read_series(indicator=Indicator.objects.get(slug="alipingtainongchanpinxiaoshoue"))
    assert not sales.restates and not sales.disagreements


# ---------------------------------------------------------------------------
# A disagreement, from data


@pytest.fixture
def two_articles(make_source):
    first = make_source(title="甲报", text="甲报:该项目获得捐款1.6亿元。", published=datetime.date(2019, 8, 1),
                        published_precision="day")
    second = make_source(title="乙报", text="乙报:该项目募集善款2亿元。", published=datetime.date(2020, 1, 1),
                         published_precision="year")
    return first, second


def donation(make_outcome, source, printed, value, **kwargs):
    kwargs.setdefault("period_end", datetime.date(2019, 6, 1))
    kwargs.setdefault("period_end_precision", "month")
    quote = next(s for s in source.text.split(":")[1:] if printed in s).rstrip("。")
    return make_outcome(source=source, value_printed=printed, value=Decimal(value), unit="元", quote=quote,
                        metric="捐款", **kwargs)


def test_a_disagreement_is_found_in_the_data_and_shown_side_by_side_with_both_quotes(
    client, make_indicator, make_program, make_outcome, two_articles
):
    first, second = two_articles
    program = make_program()
    indicator = make_indicator(program=program)
    a = donation(make_outcome, first, "1.6亿元", "160000000", indicator=indicator, program=program)
    b = donation(make_outcome, second, "2亿元", "200000000", indicator=indicator, program=program)
    assert list(Indicator.objects.disputed()) == [indicator]
    assert set(Outcome.objects.disagreeing()) == {a, b}
    assert list(Outcome.objects.disagreeing_with(a)) == [b]
    series = read_series(indicator=indicator)
    assert series.disagreements == [[a, b]]

    html = page(client, indicator.get_absolute_url())
    section = html[html.index('id="disagreements"'):html.index('id="h-values"')]
    for outcome in (a, b):
        assert outcome.quote in section and outcome.source.get_absolute_url() in section
    assert section.count('class="figure-card disputed"') == 2 and "reported differently" in section
    assert svg_of(html).count("chart-disputed") == 2
    assert "报道不一致" in page(client, indicator.get_absolute_url(), "zh-hans")
    # each outcome's page links to the value that disagrees with it
    assert f'href="{b.get_absolute_url()}"' in page(client, a.get_absolute_url())
    assert f'href="{a.get_absolute_url()}"' in page(client, b.get_absolute_url())
    assert "报道不一致" in page(client, a.get_absolute_url(), "zh-hans")


@pytest.mark.parametrize("case", ["same source", "other period", "other precision", "other kind", "same value",
                                  "no indicator"])
def test_what_is_not_a_disagreement(make_indicator, make_program, make_outcome, two_articles, case):
    first, second = two_articles
    program = make_program()
    indicator = make_indicator(program=program)
    one = {"indicator": indicator, "program": program}
    other = dict(one)
    source, printed, value = second, "2亿元", "200000000"
    if case == "same source":
        source = first
        first.text += "另称:该项目获得捐款2亿元。"
        first.save()
    elif case == "other period":
        other["period_end"] = datetime.date(2020, 6, 1)
    elif case == "other precision":
        other["period_end_precision"] = "day"
    elif case == "other kind":
        other["kind"] = "target"
    elif case == "same value":
        second.text = "乙报:该项目获得捐款1.6亿元。"
        second.save()
        printed, value = "1.6亿元", "160000000"
    elif case == "no indicator":
        other["indicator"] = None
    a = donation(make_outcome, first, "1.6亿元", "160000000", **one)
    b = donation(make_outcome, source, printed, value, **other)
    assert not Indicator.objects.disputed().exists()
    assert not Outcome.objects.disagreeing_with(a).exists()
    series = read_series(indicator=indicator)
    assert series.disagreements == []
    # the same value from a later article restates the earlier; nothing else restates anything
    assert series.restates == ({b.pk: a} if case == "same value" else {})


def four_indicators(make_indicator, make_program, make_outcome, two_articles):
    """A program's indicators: one whose two articles disagree on a year, one whose figures are of two years, one
    with a single figure and one with none."""
    first, second = two_articles
    program = make_program()
    disputed, apart, quiet, empty = (make_indicator(program=program) for _ in range(4))
    donation(make_outcome, first, "1.6亿元", "160000000", indicator=disputed, program=program)
    donation(make_outcome, second, "2亿元", "200000000", indicator=disputed, program=program)
    donation(make_outcome, first, "1.6亿元", "160000000", indicator=apart, program=program)
    donation(make_outcome, second, "2亿元", "200000000", indicator=apart, program=program,
             period_end=datetime.date(2021, 1, 1), period_end_precision="year")
    donation(make_outcome, first, "1.6亿元", "160000000", indicator=quiet, program=program)
    return program, disputed, apart, quiet, empty


def test_the_lists_disputed_mark_is_the_disputed_filters_answer(make_indicator, make_program, make_outcome,
                                                                 two_articles):
    from programs.filtersets import indicators_with_counts

    program, disputed, apart, quiet, empty = four_indicators(make_indicator, make_program, make_outcome,
                                                             two_articles)
    marked = {row.slug: row.is_disputed for row in indicators_with_counts()}
    assert marked == {row.slug: row.slug in set(Indicator.objects.disputed().values_list("slug", flat=True))
                      for row in Indicator.objects.all()}
    assert marked[disputed.slug] and not (marked[apart.slug] or marked[quiet.slug] or marked[empty.slug])


def test_disputed_1_lists_exactly_the_indicators_whose_sources_disagree(
    client, make_indicator, make_program, make_outcome, two_articles
):
    program, disputed, apart, quiet, empty = four_indicators(make_indicator, make_program, make_outcome,
                                                             two_articles)

    def slugs(query):
        return {r["slug"] for r in client.get(f"/indicators/?format=json&{query}").json()["results"]}

    assert slugs("disputed=1") == {disputed.slug}
    assert slugs("disputed=0") == {apart.slug, quiet.slug, empty.slug}
    assert slugs("disputed=1&program=" + program.slug) == {disputed.slug}
    assert html_slugs(client.get("/indicators/?disputed=1")) == [disputed.slug]
    facets = {f.name: f for f in client.get("/indicators/", HTTP_ACCEPT_LANGUAGE="en").context["facets"]}
    assert [(c.value, c.label, c.count) for c in facets["disputed"].choices] == [
        ("1", "reported differently", 1), ("0", "no disagreement", 3)]
    assert '<option value="1">reported differently (1)</option>' in page(client, "/indicators/")
    assert client.get("/indicators/?disputed=yes").status_code == 400


# ---------------------------------------------------------------------------
# The checks every write path runs


def copy_seeds(tmp_path):
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS_DIR, seeds, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return seeds


def check_fails(seeds) -> str:
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("load_seeds", "--check", "--path", str(seeds), stderr=err, stdout=io.StringIO())
    return err.getvalue()


def edit_yaml(path, change):
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(rows)
    path.write_text(yaml.safe_dump(rows, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_load_seeds_check_refuses_an_outcome_whose_unit_does_not_fit_its_indicator(tmp_path):
    seeds = copy_seeds(tmp_path)

    def count_people(rows):  # the 顶梁柱 donations indicator now counts people: its 元 figures do not fit
        row = next(r for r in rows if r["slug"] == DONATIONS)
        row["base_unit"], row["units"], row["quantity"] = "人", ["人"], "people"

    edit_yaml(seeds / "data" / "indicators.yaml", count_people)
    message = check_fails(seeds)
    assert "o001-015-dingliangzhu-mujishankuan: unit: The unit “元” does not fit the indicator " in message
    assert message.count("does not fit the indicator") == 3


def test_load_seeds_check_refuses_a_note_with_a_number_no_article_prints(tmp_path):
    seeds = copy_seeds(tmp_path)

    def invent(rows):
        rows[0]["note"] += " 另一篇文章报道了5500万棵树。"

    edit_yaml(seeds / "data" / "outcomes-000.yaml", invent)
    message = check_fails(seeds)
    assert "o000-001-tuopin-jijin-chengnuo: note prints 5500, which no article prints" in message
    assert message.count("which no article prints") == 1  # slugs, ISO dates and 000 … 004 are not figures


def test_load_seeds_check_passes_the_real_seeds_with_their_notes():
    out = io.StringIO()
    call_command("load_seeds", "--check", stdout=out)
    assert "OK" in out.getvalue()


@pytest.mark.django_db
def test_an_import_refuses_an_outcome_whose_unit_does_not_fit_its_indicator(
    editor_client, make_indicator, make_outcome
):
    outcome = make_outcome()
    make_indicator(slug="renshu", name="人数", quantity="people", base_unit="人", units="人\n人次")
    resource = OutcomeResource()
    header = resource.get_export_headers()
    row = dict(zip(header, resource.export_row(outcome), strict=True))
    row["indicator"] = "renshu"
    before = db_dump()
    preview = upload(editor_client, Outcome, csv_bytes(header, [[row[h] for h in header]]))
    assert "confirm_form" not in preview.context
    assert "does not fit the indicator renshu" in str(problems(preview))
    assert db_dump() == before


# ---------------------------------------------------------------------------
# /indicators/: the three formats, the values in the JSON, the outcome's indicator


QUERIES = ["", "disputed=1", "quantity=money&sort=-outcomes", "q=顶梁柱", "q=頂梁柱",
           "fund=alibabatuopin-jijin&sort=-name", "program=dingliangzhujiankangfupingongyibaoxian", "sort=unit"]


def test_html_csv_and_json_of_the_indicator_list_are_the_same_rows(client, seeded):
    for query in QUERIES:
        html = html_slugs(client.get(f"/indicators/?{query}&per_page=200"))
        data = client.get(f"/indicators/?{query}&format=json&per_page=200").json()
        body = b"".join(client.get(f"/indicators/?{query}&format=csv").streaming_content).decode("utf-8-sig")
        table = list(csv.reader(io.StringIO(body, newline="")))
        csv_slugs = [row[table[0].index("slug")] for row in table[1:]]
        assert html == [r["slug"] for r in data["results"]] == csv_slugs, query
        assert html and data["count"] == len(html), query


def test_the_json_of_an_indicator_carries_its_values_and_an_outcome_its_indicator(client, seeded):
    results = client.get("/indicators/?format=json&q=顶梁柱项目捐款").json()["results"]
    (item,) = [r for r in results if r["slug"] == DONATIONS]
    assert [(v["value"], v["unit"], v["period_end"]) for v in item["values"]] == [
        ("75000000", "元", "2018-06"), ("160000000", "元", "2019-06"), ("340000000", "元", "2021")]
    assert len({v["source"] for v in item["values"]}) == 3
    assert all(v["url"].startswith("http://testserver/outcomes/o00") for v in item["values"])
    outcome = client.get("/outcomes/?format=json&indicator=" + DONATIONS).json()["results"]
    assert len(outcome) == 3 and {o["indicator"] for o in outcome} == {DONATIONS}
    header = next(csv.reader(io.StringIO(
        b"".join(client.get("/outcomes/?format=csv").streaming_content).decode("utf-8-sig"))))
    assert "indicator" in header


def test_the_indicator_list_and_page_work_in_both_languages(client, seeded):
    for language, words in (("en", ["Indicators", "reported differently"]), ("zh-hans", ["指标", "报道不一致"])):
        html = page(client, "/indicators/", language)
        assert all(word in html for word in words), language
        assert words[0] in page(client, f"/indicators/{TERM}/", language)


# ---------------------------------------------------------------------------
# Query counts do not grow with the data


def build(make_indicator, make_program, make_outcome, make_source, indicators, figures):
    program = make_program()
    sources = [make_source(text=f"文章{n}:捐款{n + 1}万元。") for n in range(figures)]
    made = []
    for _ in range(indicators):
        indicator = make_indicator(program=program)
        indicator.sources.set(sources[:2])
        for n, source in enumerate(sources):
            make_outcome(indicator=indicator, program=program, source=source, value_printed=f"{n + 1}万元",
                         value=Decimal((n + 1) * 10000), unit="元", quote=f"捐款{n + 1}万元",
                         period_end=datetime.date(2015 + n % 3, 1, 1), period_end_precision="year")
        made.append(indicator)
    return made


def fetch(client, url):
    """Get ``url`` and read it to the end (a CSV export holds its export slot until its last row is read)."""
    response = client.get(url)
    assert response.status_code == 200, url
    if response.streaming:
        b"".join(response.streaming_content)


def query_counts(client, urls):
    counts = {}
    for url in urls:
        with CaptureQueriesContext(connection) as cold:
            fetch(client, url)
        with CaptureQueriesContext(connection) as warm:
            fetch(client, url)
        counts[url] = (len(cold.captured_queries), len(warm.captured_queries))
    return counts


def test_indicator_pages_cost_the_same_queries_at_any_size(
    client, django_capture_on_commit_callbacks, make_indicator, make_program, make_outcome, make_source
):
    urls = ["/indicators/", "/indicators/?disputed=1", "/indicators/?format=json", "/indicators/?q=测试",
            "/indicators/?sort=-outcomes&quantity=money", "/indicators/?format=csv"]

    def counts(indicators, figures):
        with django_capture_on_commit_callbacks(execute=True):  # as if committed: cached counts are stale
            made = build(make_indicator, make_program, make_outcome, make_source, indicators, figures)
        return query_counts(client, [*urls, made[0].get_absolute_url(),
                                     made[0].outcomes.first().get_absolute_url()]).values()

    small = list(counts(2, 2))
    with django_capture_on_commit_callbacks(execute=True):
        Outcome.objects.all().delete()
        Indicator.objects.all().delete()
    large = list(counts(30, 12))
    assert small == large


# ---------------------------------------------------------------------------
# The chart's geometry (core.charts): pure


def test_a_year_only_date_sits_in_the_middle_of_its_year_and_a_month_in_its_month():
    assert position(datetime.date(2021, 1, 1), "year") == 2021.5
    assert 2019.40 < position(datetime.date(2019, 6, 1), "month") < 2019.46  # mid June, not 1 June
    assert position(datetime.date(2019, 1, 1), "day") < 2019.01


def test_the_chart_marks_whole_years_starts_at_zero_and_ends_at_a_round_number():
    chart = series_chart([
        Point(datetime.date(2018, 6, 1), "month", Decimal("75000000"), "超过7500万元"),
        Point(datetime.date(2019, 6, 1), "month", Decimal("160000000"), "1.6亿元"),
        Point(datetime.date(2021, 1, 1), "year", Decimal("340000000"), "3.4亿元"),
    ], width=640, height=260)
    assert [t["label"] for t in chart["x_ticks"]] == ["2018", "2019", "2020", "2021"]
    assert [t["label"] for t in chart["y_ticks"]] == ["0", "1亿", "2亿", "3亿", "4亿"]
    assert chart["y_ticks"][0]["y"] == chart["plot"]["bottom"]
    xs = [p["x"] for p in chart["points"]]
    assert xs == sorted(xs) and [p["date"] for p in chart["points"]] == ["2018-06", "2019-06", "2021"]
    # the year-only point is drawn in the middle of 2021's band, not at its start
    band = chart["x_ticks"][-1]
    assert chart["points"][-1]["x"] == band["label_x"] > band["x"]
    assert series_chart([]) is None


def test_two_values_of_one_date_are_labelled_beside_their_points_not_on_each_other():
    when = datetime.date(2019, 1, 1)
    chart = series_chart([Point(when, "year", Decimal(1), "一年", marked=True),
                          Point(when, "year", Decimal(2), "兩年", marked=True)])
    one, two = chart["points"]
    assert one["x"] == two["x"] and one["y"] > two["y"]
    assert {p["anchor"] for p in (one, two)} == {"start"} and one["label_x"] == two["label_x"] == one["x"] + 10
    assert all(p["marked"] for p in (one, two))
