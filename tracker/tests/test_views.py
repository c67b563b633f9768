"""Detail pages, the overview, malformed queries, methods, languages and query counts."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db

LISTS = ["/programs/", "/funds/", "/counties/", "/envoys/", "/outcomes/", "/sources/"]


def page(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.content.decode()


# ---------------------------------------------------------------------------
# Detail pages, cross-linked


def test_program_page_links_everything_around_it(client, world):
    html = page(client, "/programs/dianshangtuopin/")
    for link in ("/funds/alibabatuopin-jijin/", "/programs/?area=dianshang", "/programs/?organization=taobaodaxue",
                 "/counties/puan-xian/", "/counties/dushan-xian/", "/envoys/niushaolong/", "/envoys/wangkaibei/",
                 "/outcomes/puan-sales-2019/", "/sources/alibabatuopinjijindewunian/#quote-puan-sales-2020"):
        assert f'href="{link}"' in html, link
    assert "100万元" in html and "300万元" in html  # values as printed
    assert "2019年销售额达到100万元" in html  # the quote


def test_program_chart_is_svg_with_the_numbers_in_a_table(client, world):
    html = page(client, "/programs/dianshangtuopin/")
    # 销售额 at two dates is drawn once: its figures belong to an indicator, whose chart draws them (a metric
    # chart would draw the same series again); none for single figures (test_indicator_charts.py)
    assert html.count('<svg class="chart"') == 1
    start = html.index('<svg class="chart"')
    svg = html[start:html.index("</svg>", start)]
    assert "<polyline" in svg and svg.count('class="chart-point"') == 2 and "<script" not in svg
    assert "100万元" in html and "300万元" in html
    assert 'style="' not in html


def test_fund_page_shows_successor_programs_and_figures(client, world):
    html = page(client, "/funds/alibabatuopin-jijin/")
    assert 'href="/funds/xiangcunzhenxing-jijin/"' in html and "2021" in html
    assert 'href="/programs/dianshangtuopin/"' in html and 'href="/programs/jiaoyufupin/"' in html
    assert "100亿元" in html and "10000000000" in html
    assert 'href="/outcomes/tuopin-commitment/"' in html
    successor = page(client, "/funds/xiangcunzhenxing-jijin/")
    assert 'href="/funds/alibabatuopin-jijin/"' in successor  # what it continues


def test_county_page_lists_programs_postings_and_figures(client, world):
    html = page(client, "/counties/puan-xian/")
    for link in ("/programs/dianshangtuopin/", "/programs/jiaoyufupin/", "/envoys/niushaolong/",
                 "/outcomes/puan-sales-2019/", "/counties/?province=guizhou-sheng",
                 "/counties/?prefecture=qianxinan-zhou"):
        assert f'href="{link}"' in html, link
    assert "深度贫困县" in html or "deep-poverty" in html


def test_envoy_page_lists_postings_and_the_figures_of_their_counties(client, world):
    html = page(client, "/envoys/niushaolong/")
    assert 'href="/counties/puan-xian/"' in html and "副县长" in html and "2019-07" in html
    assert 'href="/outcomes/puan-sales-2020/"' in html


def test_outcome_page_links_to_its_sentence(client, world):
    html = page(client, "/outcomes/lushui-broadcasts/")
    assert 'href="/sources/cunbojihuazailushui/#quote-lushui-broadcasts"' in html
    assert "累计1200場" in html and 'href="/programs/cunbo-jihua/"' in html


def test_source_page_marks_every_quote_and_links_it_to_its_figure(client, world):
    html = page(client, "/sources/alibabatuopinjijindewunian/")
    marks = re.findall(r'<mark class="quote" id="quote-([a-z0-9-]+)"><a href="([^"]+)"', html)
    assert dict(marks) == {
        "tuopin-commitment": "/outcomes/tuopin-commitment/",
        "puan-sales-2019": "/outcomes/puan-sales-2019/",
        "puan-sales-2020": "/outcomes/puan-sales-2020/",
        "jiaoyu-teachers": "/outcomes/jiaoyu-teachers/",
        "dushan-schools": "/outcomes/dushan-schools/",
    }
    assert "2019年销售额达到100万元</a></mark>" in html


def test_overlapping_quotes_share_one_mark_and_keep_every_anchor():
    from types import SimpleNamespace

    from core.presenting import highlight_quotes

    class Outcome(SimpleNamespace):
        def __str__(self):
            return self.slug

    def outcome(slug, quote):
        return Outcome(slug=slug, quote=quote, pk=len(slug), get_absolute_url=lambda: f"/outcomes/{slug}/")

    text = "前文。销售额100万元,利润<b>20万元。后文"
    html = str(highlight_quotes(text, [outcome("a", "销售额100万元"), outcome("bb", "100万元,利润<b>20万元")]))
    assert html.count("<mark") == 1 and 'id="quote-a"' in html and 'id="quote-bb"' in html
    assert "&lt;b&gt;" in html and "<b>" not in html
    assert html.startswith("前文。") and html.endswith("后文")
    # The markup format_html gives for the same texts (the function joins escaped texts itself).
    from django.utils.html import format_html

    expected = (
        "前文。" + format_html('<span class="quote-anchor" id="quote-{}"></span>', "bb")
        + format_html('<mark class="quote" id="quote-{}"><a href="{}" title="{}">{}</a></mark>', "a",
                      "/outcomes/a/", "a", "销售额100万元,利润<b>20万元")
        + "".join(format_html('<a class="quote-ref" href="{}" title="{}">[{}]</a>', f"/outcomes/{slug}/", slug, n)
                  for n, slug in ((1, "a"), (2, "bb")))
        + "。后文"
    )
    assert html == expected


@pytest.mark.parametrize("path", [
    "/", "/outcomes/", "/programs/dianshangtuopin/", "/funds/alibabatuopin-jijin/", "/counties/puan-xian/",
    "/envoys/niushaolong/", "/outcomes/puan-sales-2019/", "/sources/alibabatuopinjijindewunian/",
])
def test_pages_leave_articles_and_search_columns_unread(client, world, path):
    # A source's search text and tokens hold its whole article again: only the source's own page reads
    # the article, and no page reads a source's search columns (nor loads them one row at a time later).
    with CaptureQueriesContext(connection) as queries:
        page(client, path)
    sql = [query["sql"] for query in queries.captured_queries]
    assert not [q for q in sql if '"programs_source"."search_' in q]
    assert any('"programs_source"."text"' in q for q in sql) == path.startswith("/sources/")


def test_unknown_detail_slug_is_404(client, world):
    for path in LISTS:
        assert client.get(f"{path}no-such-thing/").status_code == 404


# ---------------------------------------------------------------------------
# The overview


def test_home_has_counts_largest_figures_search_and_links(client, world):
    html = page(client, "/")
    for path in LISTS:
        assert f'href="{path}"' in html
    counts = dict(re.findall(r'<a href="(/[a-z]+/)"><span class="card-number">(\d+)</span>', html))
    assert counts == {"/programs/": "5", "/funds/": "2", "/counties/": "3", "/envoys/": "4", "/outcomes/": "7",
                      "/sources/": "3", "/indicators/": "1"}
    assert 'name="q"' in html
    assert html.index("100亿元") < html.index("300万元") < html.index("100万元")  # largest first
    assert 'href="/sources/alibabatuopinjijindewunian/#quote-tuopin-commitment"' in html
    searched = page(client, "/?q=脫貧")
    assert 'href="/programs/?q=%E8%84%AB%E8%B2%A7"' in searched
    matches = dict(re.findall(r'<a href="(/[a-z]+/)\?q=[^"]*"><span class="card-number">(\d+)</span>', searched))
    assert matches["/programs/"] == "1" and matches["/funds/"] == "1" and matches["/envoys/"] == "0"


# ---------------------------------------------------------------------------
# Malformed queries: a 400 naming the problem, never a 500


BAD = [
    ("/programs/", "page=abc", "page"),
    ("/programs/", "page=0", "page"),
    ("/programs/", "page=99999999999999999999999", "page"),
    ("/programs/", "page=50", "page"),  # past the last page
    ("/programs/", "per_page=100000", "per_page"),
    ("/programs/", "per_page=-1", "per_page"),
    ("/programs/", "year_from=20x9", "year_from"),
    ("/programs/", "year_to=99999", "year_to"),
    ("/programs/", "province=atlantis", "province"),
    ("/programs/", "province=Not A Slug!", "province"),
    ("/programs/", "area=space", "area"),
    ("/programs/", "sort=secret", "sort"),
    ("/programs/", "sort=--name", "sort"),
    ("/programs/", "format=xml", "format"),
    ("/programs/", "q=" + "长" * 201, "q"),
    ("/programs/", "q=%00", "q"),
    ("/outcomes/", "fund=nope", "fund"),
    ("/counties/", "designation=rich", "designation"),
    ("/envoys/", "role=king", "role"),
    ("/sources/", "script=latin", "script"),
    ("/funds/", "county=%E6%99%AE%E5%AE%89", "county"),  # a name, not a slug
]


@pytest.mark.parametrize("path,query,parameter", BAD)
def test_values_that_cannot_be_understood_give_400_naming_the_parameter(client, world, path, query, parameter):
    html = page(client, f"{path}?{query}", status=400)
    assert f"<code>{parameter}=" in html
    assert 'role="alert"' in html
    data = client.get(f"{path}?{query}&format=json")
    if parameter != "format" and "page=50" not in query:  # the CSV has no pages: all rows
        assert data.status_code == 400 and parameter in data.json()["errors"]
        assert client.get(f"{path}?{query}&format=csv").status_code == 400


def test_the_400_message_speaks_the_page_language(client, world):
    client.cookies["django_language"] = "en"
    english = page(client, "/programs/?province=atlantis", status=400)
    assert "There is no province with the slug “atlantis”" in english
    client.cookies["django_language"] = "zh-hans"
    chinese = page(client, "/programs/?province=atlantis", status=400)
    assert "没有" in chinese and "atlantis" in chinese
    assert "无法理解" in chinese


def test_unknown_parameters_and_odd_encodings_are_harmless(client, world):
    assert client.get("/programs/?utm_source=x&foo=bar").status_code == 200
    assert client.get("/programs/?q=%FF%FE%C3").status_code == 200  # invalid UTF-8 percent-escapes
    assert client.get("/programs/?q=%E8%84%AB%E8%B2").status_code == 200  # a cut-off character
    assert client.get("/programs/?province=").status_code == 200  # empty means no filter
    assert client.get("/programs/?page=2&page=1").status_code == 200  # the last value counts


QUERY_KEYS = ["q", "page", "per_page", "sort", "format", "province", "county", "area", "fund",
              "year_from", "year_to", "organization", "kind", "unit", "role", "designation", "x"]


@settings(max_examples=120, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    path=st.sampled_from(LISTS),
    pairs=st.lists(
        st.tuples(
            st.sampled_from(QUERY_KEYS),
            st.one_of(
                st.text(max_size=30),
                st.sampled_from(["1", "0", "-1", "2", "abc", "name", "-name", "csv", "json", "puan-xian",
                                 "guizhou-sheng", "dianshang", "2019", "9" * 30, "%", "%ZZ", "%E8%84"]),
            ),
        ),
        max_size=5,
    ),
)
def test_random_query_strings_never_give_a_server_error(client, world, path, pairs):
    from urllib.parse import quote

    query = "&".join(f"{quote(k)}={quote(v, safe='%')}" for k, v in pairs)
    response = client.get(f"{path}?{query}")
    assert response.status_code in (200, 400), (query, response.status_code)
    if response.streaming:
        b"".join(response.streaming_content)


# ---------------------------------------------------------------------------
# Methods


@pytest.mark.parametrize("path", LISTS + ["/", "/programs/dianshangtuopin/", "/sources/cunbojihuazailushui/"])
def test_public_pages_refuse_post(client, world, path):
    assert client.post(path, {"q": "x"}).status_code == 405


# ---------------------------------------------------------------------------
# Languages


def test_language_switch_on_every_page_and_remembered(client, world):
    html = page(client, "/counties/")
    assert 'action="/i18n/setlang/"' in html and 'name="next" value="/counties/"' in html
    # the page's words, not only the data
    assert '<html lang="zh-Hans">' in html and "县" in html and "<h1>县</h1>" in html
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/counties/?province=guizhou-sheng"})
    assert response.status_code == 302 and response["Location"] == "/counties/?province=guizhou-sheng"
    english = page(client, "/counties/?province=guizhou-sheng")
    assert '<html lang="en">' in english and "Counties" in english and "普安县" in english  # data stays Chinese
    assert '<html lang="en">' in page(client, "/programs/dianshangtuopin/")


# ---------------------------------------------------------------------------
# Query counts: a list page costs the same number of queries whatever per_page is

EXPECTED_QUERIES = {
    # count, page, one per facet (+ prefetches where the page shows a to-many column)
    "/programs/": 2 + 7,
    "/funds/": 2 + 3,
    "/outcomes/": 2 + 8,
    # and the map of every county of the filtered list: its query (kept under the request's one generation)
    "/counties/": 2 + 1 + 4 + 1,
    "/envoys/": 2 + 1 + 3,
    "/sources/": 2 + 4,
}


# Reading the data generation from the shared cache is one query, once per request (core.listing.request_generation);
# the counts themselves are kept in process memory (the shared files under gunicorn), so a miss writes nothing to
# the database.
CACHE_READ = 1
# The total and each facet's count run under a time limit: on PostgreSQL a statement_timeout set for
# a savepoint (SHOW, SAVEPOINT, set_config, set_config back, RELEASE); on SQLite a progress handler, no query.
TIME_LIMIT = 5 if connection.vendor == "postgresql" else 0


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("per_page", [1, 5])
def test_list_queries_do_not_grow_with_per_page(client, world, django_assert_num_queries, path, per_page):
    # The whole list's facets are its unfiltered counts, counted without a limit (once per data generation):
    # only its total runs under one.
    with django_assert_num_queries(EXPECTED_QUERIES[path] + CACHE_READ + TIME_LIMIT):
        assert client.get(f"{path}?per_page={per_page}").status_code == 200
    # The second view of the same filters takes its total and facet counts from the cache.
    # (and the counties' map from the cache too)
    kept = 1 if path == "/counties/" else 0
    with django_assert_num_queries(EXPECTED_QUERIES[path] - 1 - len(list_facets(path)) + CACHE_READ - kept):
        assert client.get(f"{path}?per_page={per_page}&page=1").status_code == 200


def list_facets(path):
    from django.urls import resolve

    view = resolve(path).func.view_class
    filterset = view.filterset_class
    return [name for name, flt in filterset.base_filters.items() if getattr(flt, "facet", False)]


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("per_page", [1, 5])
def test_json_queries_do_not_grow_with_per_page(client, world, django_assert_max_num_queries, path, per_page):
    with django_assert_max_num_queries(6 + CACHE_READ):
        assert client.get(f"{path}?format=json&per_page={per_page}").status_code == 200
    with django_assert_max_num_queries(6 - 1 + CACHE_READ):  # the total from the cache
        assert client.get(f"{path}?format=json&per_page={per_page}").status_code == 200
