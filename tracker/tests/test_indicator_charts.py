"""Pages that use indicators: a program, fund or county page draws its indicators as small charts above its table
of figures, the home page a few headline series; their queries do not grow with the indicators."""

import datetime
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db

FIGURE = re.compile(r'<figure class="chart-figure chart-small">.*?</figure>', re.S)
CAPTION = re.compile(r'<figcaption><a href="[^"]+">([^<]+)</a>')


def page(client, path, language="en"):
    response = client.get(path, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, path
    return response.content.decode()


def small_charts(html):
    """The indicator names of the small charts of a page, in order."""
    return [CAPTION.search(figure).group(1) for figure in FIGURE.findall(html)]


def series(make_indicator, make_outcome, make_source, *, values=(100, 200), **scope):
    """An indicator scoped by ``scope`` with one figure a year (2018, 2019 …), each from its own article."""
    indicator = make_indicator(**scope)
    belongs = {key: value for key, value in scope.items() if key in ("program", "fund", "county")}
    for year, value in enumerate(values, start=2018):
        source = make_source(text=f"到{year}年捐款{value}元。", published=datetime.date(year + 1, 1, 1),
                             published_precision="year")
        make_outcome(indicator=indicator, source=source, metric="捐款", value=Decimal(value), unit="元",
                     value_printed=f"{value}元", quote=f"捐款{value}元", period_end=datetime.date(year, 1, 1),
                     period_end_precision="year", **belongs)
    return indicator


def test_a_program_page_draws_its_indicators_above_its_figures(client, make_program, make_indicator,
                                                                make_outcome, make_source):
    program, other = make_program(), make_program()
    fewer = series(make_indicator, make_outcome, make_source, program=program, name="捐款额")
    more = series(make_indicator, make_outcome, make_source, values=(1, 2, 3), program=program, name="受益人次")
    series(make_indicator, make_outcome, make_source, program=other, name="别的指标")

    html = page(client, program.get_absolute_url())
    assert small_charts(html) == [more.name, fewer.name]  # the longest series first
    assert f'href="{more.get_absolute_url()}"' in html
    figures = html[html.index('id="h-figures"'):]
    assert figures.index("chart-small") < figures.index('<table class="data')  # above the flat table
    assert FIGURE.findall(html)[0].count('class="chart-point"') == 3


def test_fund_and_county_pages_draw_theirs(client, make_fund, make_county, make_indicator, make_outcome,
                                           make_source):
    fund, county = make_fund(), make_county()
    of_fund = series(make_indicator, make_outcome, make_source, fund=fund, name="基金投入")
    of_county = series(make_indicator, make_outcome, make_source, county=county, name="县销售额")

    assert small_charts(page(client, fund.get_absolute_url())) == [of_fund.name]
    assert small_charts(page(client, county.get_absolute_url())) == [of_county.name]


def test_a_disputed_indicator_is_marked_on_the_program_page(client, make_program, make_indicator, make_outcome,
                                                           make_source):
    program = make_program()
    indicator = series(make_indicator, make_outcome, make_source, program=program, name="捐款额")
    source = make_source(text="到2018年捐款999元。")  # the same period as the first value, another value
    make_outcome(indicator=indicator, program=program, source=source, metric="捐款", value=Decimal(999),
                 unit="元", value_printed="999元", quote="捐款999元", period_end=datetime.date(2018, 1, 1),
                 period_end_precision="year")

    chart = FIGURE.findall(page(client, program.get_absolute_url(), "zh-hans"))[0]
    assert "报道不一致" in chart and chart.count("chart-disputed") == 2


def test_past_the_limit_the_page_links_to_the_filtered_list(client, make_program, make_indicator, make_outcome,
                                                           make_source):
    from programs.templatetags.indicators import CHART_LIMIT

    program = make_program()
    for _ in range(CHART_LIMIT + 1):
        series(make_indicator, make_outcome, make_source, program=program)
    html = page(client, program.get_absolute_url())
    assert len(small_charts(html)) == CHART_LIMIT
    assert f'href="/indicators/?program={program.slug}"' in html


def test_the_home_page_shows_the_longest_series(client, make_program, make_indicator, make_outcome, make_source):
    from programs.templatetags.indicators import HEADLINE_LIMIT

    program = make_program()
    names = [series(make_indicator, make_outcome, make_source, values=range(1, n + 3), program=program).name
             for n in range(HEADLINE_LIMIT + 1)]
    series(make_indicator, make_outcome, make_source, values=(5,), program=program, name="只有一个值")
    repeated = series(make_indicator, make_outcome, make_source, values=(7,), program=program, name="一再重复")
    for _ in range(10):  # ten articles print the same figure for the same date: many values, one point
        make_outcome(indicator=repeated, program=program, metric="捐款", value=Decimal(7), unit="元",
                     value_printed="7元", quote="捐款7元", period_end=datetime.date(2018, 1, 1),
                     period_end_precision="year")

    html = page(client, "/")
    assert small_charts(html) == names[::-1][:HEADLINE_LIMIT]  # the most dates first; one date is no line
    assert "Headline series" in html and 'href="/indicators/"' in html
    assert "Headline series" not in page(client, "/?q=捐款")  # a search shows matches instead


def test_no_indicator_no_chart_and_no_heading(client, make_program):
    program = make_program()
    assert small_charts(page(client, program.get_absolute_url())) == []
    assert "<h3>Indicators</h3>" not in page(client, program.get_absolute_url())
    assert "Headline series" not in page(client, "/")


def test_record_pages_link_to_their_timeline(client, make_program, make_fund, make_county):
    for record, scope in ((make_program(), "program"), (make_fund(), "fund"), (make_county(), "county")):
        assert f'href="/timeline/?{scope}={record.slug}"' in page(client, record.get_absolute_url())


def test_the_pages_queries_do_not_grow_with_the_indicators(client, make_program, make_fund, make_county,
                                                            make_indicator, make_outcome, make_source):
    program, fund, county = make_program(), make_fund(), make_county()
    paths = [program.get_absolute_url(), fund.get_absolute_url(), county.get_absolute_url(), "/"]

    def queries():
        counts = []
        for path in paths:
            page(client, path)  # the home page's counts are cached from here on
            with CaptureQueriesContext(connection) as captured:
                page(client, path)
            counts.append(len(captured))
        return counts

    def add(n):
        for _ in range(n):
            for scope in ({"program": program}, {"fund": fund}, {"county": county}):
                series(make_indicator, make_outcome, make_source, values=(1, 2, 3), **scope)

    add(1)
    few = queries()
    add(3)
    assert queries() == few
