"""Every public list: each filter, each sort, facet counts, search in both scripts and pinyin, paging.

Rows are read from the JSON (all on one page); tracker/tests/test_export.py checks that the HTML,
CSV and JSON agree, so what holds here holds for all three.
"""

import pytest

from core.testing.world import html_slugs

pytestmark = pytest.mark.django_db


def rows(client, path, query=""):
    response = client.get(f"{path}?format=json&per_page=200&{query}")
    assert response.status_code == 200, response.content
    return [r["slug"] for r in response.json()["results"]]


def as_set(client, path, query=""):
    return set(rows(client, path, query))


# ---------------------------------------------------------------------------
# Filters: (query, expected slugs), one line per filter parameter

FILTERS = {
    "/programs/": [
        ("", {"dianshangtuopin", "cunbo-jihua", "jiaoyufupin", "jiankangbaoxian", "retu-jihua"}),
        ("fund=alibabatuopin-jijin", {"dianshangtuopin", "jiaoyufupin", "retu-jihua"}),
        ("area=dianshang", {"dianshangtuopin", "cunbo-jihua"}),
        ("kind=project", {"jiankangbaoxian"}),
        ("organization=taobaodaxue", {"dianshangtuopin", "jiaoyufupin", "retu-jihua"}),
        ("province=guizhou-sheng", {"dianshangtuopin", "jiaoyufupin", "retu-jihua"}),
        ("prefecture=nujiang-zhou", {"cunbo-jihua"}),
        ("county=dushan-xian", {"dianshangtuopin"}),
        ("year_from=2021", {"dianshangtuopin", "cunbo-jihua", "jiankangbaoxian"}),
        ("year_to=2017", {"jiaoyufupin"}),
        ("year_from=2018&year_to=2018", {"dianshangtuopin", "jiaoyufupin"}),
        ("province=guizhou-sheng&area=dianshang", {"dianshangtuopin"}),
        ("province=yunnan-sheng&area=jiaoyu", set()),
        ("area=", {"dianshangtuopin", "cunbo-jihua", "jiaoyufupin", "jiankangbaoxian", "retu-jihua"}),
    ],
    "/funds/": [
        ("", {"alibabatuopin-jijin", "xiangcunzhenxing-jijin"}),
        ("area=jiaoyu", {"alibabatuopin-jijin"}),
        ("area=jiankang", {"xiangcunzhenxing-jijin"}),
        ("province=guizhou-sheng", {"alibabatuopin-jijin"}),
        ("county=puan-xian", {"alibabatuopin-jijin"}),
        ("year_from=2022", {"xiangcunzhenxing-jijin"}),
        ("year_to=2018", {"alibabatuopin-jijin"}),
    ],
    "/outcomes/": [
        ("program=dianshangtuopin", {"puan-sales-2019", "puan-sales-2020"}),
        ("fund=alibabatuopin-jijin", {"tuopin-commitment"}),
        ("county=puan-xian", {"puan-sales-2019", "puan-sales-2020", "puan-jiuye"}),
        ("province=guizhou-sheng", {"puan-sales-2019", "puan-sales-2020", "dushan-schools", "puan-jiuye"}),
        ("kind=commitment", {"tuopin-commitment"}),
        ("unit=元", {"puan-sales-2019", "puan-sales-2020", "tuopin-commitment"}),
        ("source=cunbojihuazailushui", {"lushui-broadcasts"}),
        ("year_from=2020", {"puan-sales-2020", "jiaoyu-teachers"}),
        ("year_to=2017", {"jiaoyu-teachers"}),
        ("year_from=2019&year_to=2019", {"puan-sales-2019", "lushui-broadcasts", "jiaoyu-teachers"}),
        ("unit=米", set()),
    ],
    "/counties/": [
        ("", {"puan-xian", "dushan-xian", "lushui-shi"}),
        ("province=guizhou-sheng", {"puan-xian", "dushan-xian"}),
        ("prefecture=qiannan-zhou", {"dushan-xian"}),
        ("designation=guojiaji-pinkunxian", {"puan-xian", "dushan-xian"}),
        ("designation=sanqu-sanzhou", {"lushui-shi"}),
        ("kind=xianjishi", {"lushui-shi"}),
    ],
    "/envoys/": [
        ("", {"niushaolong", "wangkaibei", "licunxiao", "wang-xiaoming"}),
        ("role=peixun", {"wangkaibei"}),
        ("county=puan-xian", {"niushaolong", "wang-xiaoming"}),
        ("province=guizhou-sheng", {"niushaolong", "wangkaibei", "wang-xiaoming"}),
        ("province=yunnan-sheng&role=tepaiyuan", set()),
    ],
    "/sources/": [
        ("", {"alibabatuopinjijindewunian", "cunbojihuazailushui", "tuopin-wenzhang"}),
        ("publisher=澎湃", {"cunbojihuazailushui"}),
        ("script=traditional", {"cunbojihuazailushui"}),
        ("program=jiaoyufupin", {"alibabatuopinjijindewunian"}),
        ("county=lushui-shi", {"cunbojihuazailushui"}),
        ("year_from=2020", {"alibabatuopinjijindewunian"}),
        ("year_to=2019", {"cunbojihuazailushui"}),
    ],
}


@pytest.mark.parametrize(
    "path,query,expected",
    [(path, query, expected) for path, cases in FILTERS.items() for query, expected in cases],
)
def test_filter(client, world, path, query, expected):
    assert as_set(client, path, query) == expected


# ---------------------------------------------------------------------------
# Search: simplified, traditional, pinyin, several words


SEARCHES = [
    ("/programs/", "电商", {"dianshangtuopin"}),
    ("/programs/", "電商", {"dianshangtuopin"}),  # traditional query, simplified record
    ("/programs/", "脫貧", {"dianshangtuopin"}),
    ("/programs/", "村播計劃", {"cunbo-jihua"}),
    ("/programs/", "cunbo", {"cunbo-jihua"}),  # pinyin of the name
    ("/programs/", "电商 培训", {"dianshangtuopin"}),  # every word must match
    ("/programs/", "电商 教育", set()),
    ("/counties/", "puan", {"puan-xian"}),
    ("/counties/", "普安縣", {"puan-xian"}),
    ("/funds/", "脫貧", {"alibabatuopin-jijin"}),
    ("/outcomes/", "銷售額", {"puan-sales-2019", "puan-sales-2020"}),
    ("/outcomes/", "直播", {"lushui-broadcasts"}),  # the quote is in traditional script
    ("/sources/", "泸水", {"cunbojihuazailushui"}),  # simplified query, traditional article
    ("/envoys/", "北北", {"wangkaibei"}),
    ("/envoys/", "niushaolong", {"niushaolong"}),
]


@pytest.mark.parametrize("path,q,expected", SEARCHES)
def test_search(client, world, path, q, expected):
    assert as_set(client, path, f"q={q}") == expected


PUNCTUATION = ["%", "·", "。", "--", "% ·", "％", "_"]


def substring_scans(queries):
    return [q["sql"] for q in queries.captured_queries if "search_text" in q["sql"] and " LIKE " in q["sql"].upper()]


@pytest.mark.parametrize("q", PUNCTUATION)
def test_a_search_of_punctuation_only_is_ignored_with_a_notice(client, world, q):
    """No index term answers such a search, so it would read every row: it is left out, and the page says so."""
    from urllib.parse import quote

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    everything = rows(client, "/programs/")
    with CaptureQueriesContext(connection) as queries:
        assert rows(client, "/programs/", f"q={quote(q)}") == everything
        html = client.get(f"/programs/?q={quote(q)}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        home = client.get(f"/?q={quote(q)}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert substring_scans(queries) == []
    for word in q.split():
        assert f"“{word}” was left out of the search: a search word needs a letter or a digit." in html
        assert f"“{word}” was left out of the search" in home
    assert "Matches for" not in home


def test_punctuation_beside_a_real_word_is_dropped_and_shares_its_cache_entry(client, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    assert as_set(client, "/programs/", "q=电商 %25") == as_set(client, "/programs/", "q=电商") == {"dianshangtuopin"}
    assert "left out of the search" in client.get("/programs/?q=电商+。", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    client.get("/programs/?q=电商")
    with CaptureQueriesContext(connection) as warm:
        client.get("/programs/?q=电商")
    with CaptureQueriesContext(connection) as other_punctuation:
        client.get("/programs/?q=电商+·+--")  # a new query string, but the same search: no new counts
    assert len(other_punctuation.captured_queries) == len(warm.captured_queries)


# ---------------------------------------------------------------------------
# Sorting: every column both ways gives the same set; some orders checked exactly


SORT_COLUMNS = {
    "/programs/": ["name", "area", "fund", "start", "end", "counties"],
    "/funds/": ["name", "founded", "commitment", "successor", "programs"],
    "/outcomes/": ["metric", "value", "kind", "period", "program", "fund", "county", "source"],
    "/counties/": ["name", "kind", "prefecture", "province", "designations", "programs"],
    "/envoys/": ["name", "nickname", "role", "joined_year", "batch", "counties"],
    "/sources/": ["title", "publisher", "published", "script", "outcomes"],
}


@pytest.mark.parametrize(
    "path,column", [(path, column) for path, columns in SORT_COLUMNS.items() for column in columns]
)
def test_every_column_sorts_both_ways(client, world, path, column):
    everything = as_set(client, path)
    ascending = rows(client, path, f"sort={column}")
    descending = rows(client, path, f"sort=-{column}")
    assert set(ascending) == set(descending) == everything
    assert len(ascending) == len(everything)
    html = client.get(f"{path}?sort={column}&per_page=200")
    assert html_slugs(html) == ascending


SORT_ORDERS = [
    # programs without a start (retu-jihua) or an end sort last in both directions
    ("/programs/", "sort=start", ["jiaoyufupin", "dianshangtuopin", "cunbo-jihua", "jiankangbaoxian", "retu-jihua"]),
    ("/programs/", "sort=-start", ["jiankangbaoxian", "cunbo-jihua", "dianshangtuopin", "jiaoyufupin", "retu-jihua"]),
    # Ties (no end; one county each) in the direction of the sort: newest record first.
    ("/programs/", "sort=-end",
     ["jiaoyufupin", "retu-jihua", "jiankangbaoxian", "cunbo-jihua", "dianshangtuopin"]),
    ("/programs/", "sort=-counties",
     ["dianshangtuopin", "retu-jihua", "jiaoyufupin", "cunbo-jihua", "jiankangbaoxian"]),
    ("/outcomes/", "sort=-value&unit=元", ["tuopin-commitment", "puan-sales-2020", "puan-sales-2019"]),
    ("/outcomes/", "sort=value&unit=元", ["puan-sales-2019", "puan-sales-2020", "tuopin-commitment"]),
    ("/funds/", "sort=founded", ["alibabatuopin-jijin", "xiangcunzhenxing-jijin"]),
    ("/envoys/", "sort=-joined_year", ["licunxiao", "niushaolong", "wang-xiaoming", "wangkaibei"]),
    # newest first by default, undated last
    ("/sources/", "", ["alibabatuopinjijindewunian", "cunbojihuazailushui", "tuopin-wenzhang"]),
]


@pytest.mark.parametrize("path,query,expected", SORT_ORDERS)
def test_sort_order(client, world, path, query, expected):
    assert rows(client, path, query) == expected


def test_ties_are_broken_by_primary_key_in_the_direction_of_the_sort(client, world):
    # Two programs share area dianshang: oldest first ascending, newest first descending, so a
    # descending sort is its ascending one read backwards (and an index serves both).
    ascending = rows(client, "/programs/", "sort=area&area=dianshang")
    descending = rows(client, "/programs/", "sort=-area&area=dianshang")
    assert ascending == ["dianshangtuopin", "cunbo-jihua"]
    assert descending == ["cunbo-jihua", "dianshangtuopin"]


def test_sort_header_links_toggle_direction(client, world):
    page = client.get("/programs/?sort=name&area=dianshang").content.decode()
    assert 'aria-sort="ascending"' in page
    assert 'href="?sort=-name&amp;area=dianshang"' in page or 'href="?area=dianshang&amp;sort=-name"' in page


# ---------------------------------------------------------------------------
# Facets: each choice counted with the other filters applied


def facet_counts(response, name):
    facet = next(f for f in response.context["facets"] if f.name == name)
    return {c.value: c.count for c in facet.choices}


def test_program_facets_count_with_the_other_filters(client, world):
    response = client.get("/programs/")
    assert facet_counts(response, "province") == {"guizhou-sheng": 3, "yunnan-sheng": 1}
    assert facet_counts(response, "area") == {"dianshang": 2, "jiaoyu": 1, "jiankang": 1, "qita": 1}
    assert facet_counts(response, "county") == {"puan-xian": 3, "dushan-xian": 1, "lushui-shi": 1}
    assert facet_counts(response, "organization") == {"taobaodaxue": 3, "mayijinfu": 1}

    narrowed = client.get("/programs/?province=guizhou-sheng")
    # the area facet counts inside 贵州省 …
    assert facet_counts(narrowed, "area") == {"dianshang": 1, "jiaoyu": 1, "qita": 1}
    # … while the province facet ignores its own choice, so the other provinces stay visible
    assert facet_counts(narrowed, "province") == {"guizhou-sheng": 3, "yunnan-sheng": 1}

    both = client.get("/programs/?province=guizhou-sheng&area=dianshang")
    assert facet_counts(both, "province") == {"guizhou-sheng": 1, "yunnan-sheng": 1}
    assert facet_counts(both, "fund") == {"alibabatuopin-jijin": 1}
    page = both.content.decode()
    assert "贵州省 (1)" in page and "云南省 (1)" in page


def test_facets_of_the_other_lists(client, world):
    assert facet_counts(client.get("/counties/"), "designation") == {
        "guojiaji-pinkunxian": 2, "shendu-pinkunxian": 1, "sanqu-sanzhou": 1,
    }
    assert facet_counts(client.get("/counties/?designation=guojiaji-pinkunxian"), "province") == {
        "guizhou-sheng": 2
    }
    assert facet_counts(client.get("/outcomes/?county=puan-xian"), "unit") == {"元": 2, "人": 1}
    assert facet_counts(client.get("/outcomes/"), "kind") == {"result": 6, "commitment": 1}
    assert facet_counts(client.get("/envoys/"), "role") == {"tepaiyuan": 2, "peixun": 1, "cunxiaoer": 1}
    assert facet_counts(client.get("/sources/"), "script") == {"simplified": 2, "traditional": 1}
    assert facet_counts(client.get("/funds/?area=jiaoyu"), "county") == {"puan-xian": 1, "dushan-xian": 1}


def test_facets_respect_search(client, world):
    assert facet_counts(client.get("/programs/?q=脫貧"), "area") == {"dianshang": 1}


# ---------------------------------------------------------------------------
# Pagination


def test_pages_partition_the_list(client, world):
    everything = rows(client, "/outcomes/", "sort=metric")
    pages = [rows(client, "/outcomes/", f"sort=metric&per_page=4&page={n}") for n in (1, 2)]
    assert pages[0] + pages[1] == everything
    assert len(pages[0]) == 4

    html = client.get("/outcomes/?sort=metric&per_page=4&page=2")
    assert html_slugs(html) == pages[1]
    page = html.content.decode()
    assert 'rel="prev"' in page and 'rel="next"' not in page


def test_json_paging_links(client, world):
    data = client.get("/outcomes/?format=json&per_page=4&sort=metric").json()
    assert data["count"] == 7 and len(data["results"]) == 4
    assert data["previous"] is None
    # next follows by keyset (tracker/tests/test_keyset.py), previous by page
    assert data["next"].startswith("http://testserver/outcomes/?") and "after=" in data["next"]
    second = client.get(data["next"]).json()
    assert second["next"] is None and "page=1" in second["previous"]
    assert second["results"][0]["url"].startswith("http://testserver/outcomes/")


def test_empty_result_is_a_page_not_an_error(client, world):
    response = client.get("/programs/?area=nvxing")
    assert response.status_code == 200
    assert client.get("/programs/?format=json&area=nvxing").json() == {
        "count": 0, "next": None, "previous": None, "results": []
    }


def test_a_broad_filter_walks_the_sort_index_with_exists_and_counts_with_in(client, world):
    """?province= (a tenth of the programs) is an EXISTS when the page is read in an index's order (name, start),
    an IN for a sort no index serves (fund) and for the counts; the rows are the same either way."""
    from django.core.cache import caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from programs.models import Program

    expected = set(Program.objects.filter(counties__province__slug="guizhou-sheng").values_list("slug", flat=True))
    for sort, shape in [("name", "EXISTS"), ("-start", "EXISTS"), ("fund", " IN "), ("-counties", " IN ")]:
        caches["counts"].clear()  # counted again: the sort is not part of their key
        with CaptureQueriesContext(connection) as queries:
            found = rows(client, "/programs/", f"province=guizhou-sheng&sort={sort}")
        assert set(found) == expected and len(found) == len(expected), sort
        page = next(q["sql"] for q in queries.captured_queries if "ORDER BY" in q["sql"] and "LIMIT" in q["sql"])
        assert shape in page.split(" WHERE ", 1)[1].split(" ORDER BY ")[0], (sort, page)
        counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper() and q["sql"] != page]
        assert counts and not any("EXISTS" in q for q in counts), sort  # the total and the facets
