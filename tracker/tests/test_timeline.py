"""/timeline/: dated events drawn from the records, with their precision, links, filters, order and exports."""

import csv
import datetime
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db

ROW = re.compile(r'<tr class="event event-([a-z-]+)" data-date="([0-9-]+)">(.*?)</tr>', re.S)
RECORD_LINK = re.compile(r'<a class="event-record" href="([^"]+)">')


def html_rows(response):
    """``(event, date, record path)`` of each row of a timeline page, in order."""
    assert response.status_code == 200, response.content[:500]
    return [(code, date, RECORD_LINK.search(cells).group(1))
            for code, date, cells in ROW.findall(response.content.decode())]


def json_rows(response):
    assert response.status_code == 200, response.content[:500]
    return [(row["event"], row["date"], row["url"].removeprefix("http://testserver"))
            for row in response.json()["results"]]


def read_all(response) -> bytes:
    """A response's body. Reading a streamed one to its end closes it (the test client's wrapper), which
    gives back its export slot (core.middleware); closing it again would close the database connection."""
    return b"".join(response.streaming_content) if response.streaming else response.content


def csv_dicts(response):
    assert response.status_code == 200
    raw = read_all(response)
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def csv_rows(response):
    return [(row["event"], row["date"], row["url"].removeprefix("http://testserver")) for row in csv_dicts(response)]


def day(text):
    return datetime.date.fromisoformat(text)


# ---------------------------------------------------------------------------
# Precision


def test_a_year_only_founding_is_shown_and_exported_as_its_year(client, make_fund):
    make_fund(name="甲基金", slug="jia-jijin", founded=day("2019-01-01"), founded_precision="year")

    assert html_rows(client.get("/timeline/")) == [("fund-founded", "2019", "/funds/jia-jijin/")]
    html = client.get("/timeline/").content.decode()
    assert '<time datetime="2019">2019</time>' in html
    assert "2019-01-01" not in html
    assert client.get("/timeline/?format=json").json()["results"][0]["date"] == "2019"
    assert csv_dicts(client.get("/timeline/?format=csv"))[0]["date"] == "2019"


def test_a_year_only_event_sorts_after_the_dated_events_of_its_year(client, make_fund, make_program, make_posting,
                                                                     make_source):
    make_fund(name="甲基金", slug="jia-jijin", founded=day("2019-01-01"), founded_precision="year")
    make_program(name="乙项目", slug="yi", start=day("2019-03-05"), start_precision="day")
    make_program(name="丙项目", slug="bing", start=day("2019-11-01"), start_precision="month")
    make_program(name="丁项目", slug="ding", start=day("2019-11-20"), start_precision="day")
    make_source(title="戊文章", slug="wu", published=day("2018-12-31"), published_precision="day")
    posting = make_posting(start=day("2020-01-01"), start_precision="day")

    oldest_first = [
        ("article-published", "2018-12-31", "/sources/wu/"),
        ("program-started", "2019-03-05", "/programs/yi/"),
        ("program-started", "2019-11-20", "/programs/ding/"),  # a day of November before November itself
        ("program-started", "2019-11", "/programs/bing/"),
        ("fund-founded", "2019", "/funds/jia-jijin/"),  # 2019, not 1 January 2019: after every day of it
        ("envoy-posted", "2020-01-01", posting.envoy.get_absolute_url()),
    ]
    assert html_rows(client.get("/timeline/")) == oldest_first
    assert html_rows(client.get("/timeline/?sort=date")) == oldest_first
    assert html_rows(client.get("/timeline/?sort=-date")) == oldest_first[::-1]
    # paged, the order holds across pages
    pages = [html_rows(client.get(f"/timeline/?sort=-date&per_page=4&page={n}")) for n in (1, 2)]
    assert pages[0] + pages[1] == oldest_first[::-1]


def test_events_read_a_few_rows_at_a_time_come_in_the_same_order(make_program, make_posting):
    """The walks read keyset pages (tracker.timeline): rows sharing a date are neither lost nor repeated
    across pages, in either direction."""
    from tracker.timeline import Timeline

    for _ in range(5):
        make_program(start=day("2019-01-01"), start_precision="year", end=day("2020-06-30"), end_precision="day")
        make_program(start=day("2019-06-01"), start_precision="month")
        make_posting(start=day("2019-06-15"), start_precision="day")
    expected = [entry.key for entry in Timeline().entries(chunk=1000)]
    assert len(expected) == 20 and expected == sorted(expected)
    for chunk in (1, 2, 3):
        assert [entry.key for entry in Timeline().entries(chunk=chunk)] == expected
        assert [entry.key for entry in Timeline(descending=True).entries(chunk=chunk)] == expected[::-1]
    # the postings of 15 June, then the programs of June, then those of 2019, then the ends
    assert [(e.code, e.date_display) for e in Timeline().page(9, 3)] == [
        ("program-started", "2019-06"), ("program-started", "2019"), ("program-started", "2019")]


# ---------------------------------------------------------------------------
# Links to records and sources


def test_each_event_links_to_its_record_and_its_sources(client, world):
    tuopin, s1, s2 = world["tuopin"], world["s1"], world["s2"]
    tuopin.sources.add(s1)
    world["dianshang"].sources.add(s2)
    niu_posting = world["niu"].postings.get()
    niu_posting.sources.add(s1)

    html = client.get("/timeline/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    rows = {(code, date): cells for code, date, cells in ROW.findall(html)}

    founded = rows[("fund-founded", "2017-12")]
    assert f'href="{tuopin.get_absolute_url()}"' in founded
    assert f'href="{s1.get_absolute_url()}"' in founded  # the fund's source
    upgraded = rows[("fund-upgraded", "2021")]
    assert f'href="{tuopin.get_absolute_url()}"' in upgraded
    assert f'href="{world["zhenxing"].get_absolute_url()}"' in upgraded  # the fund it became
    started = rows[("program-started", "2018")]
    assert f'href="{world["dianshang"].get_absolute_url()}"' in started
    assert f'href="{s2.get_absolute_url()}"' in started
    posted = rows[("envoy-posted", "2019-07")]
    assert f'href="{world["niu"].get_absolute_url()}"' in posted
    assert f'href="{world["puan"].get_absolute_url()}"' in posted and "副县长" in posted
    assert f'href="{s1.get_absolute_url()}"' in posted
    published = rows[("article-published", "2021-05-01")]
    assert f'href="{s1.get_absolute_url()}"' in published and "人民网" in published

    exported = {(row["event"], row["date"]): row for row in client.get("/timeline/?format=json").json()["results"]}
    assert exported[("fund-founded", "2017-12")]["sources"] == s1.slug
    assert exported[("fund-founded", "2017-12")]["url"] == f"http://testserver{tuopin.get_absolute_url()}"
    assert exported[("fund-upgraded", "2021")]["related_slug"] == world["zhenxing"].slug
    assert exported[("envoy-posted", "2019-07")]["related_slug"] == "puan-xian"
    assert exported[("envoy-posted", "2019-07")]["sources"] == s1.slug
    assert exported[("article-published", "2019")]["sources"] == s2.slug


def test_records_without_a_date_have_no_event(client, world):
    codes = [(code, path) for code, _date, path in html_rows(client.get("/timeline/"))]
    assert not any(path == "/programs/retu-jihua/" for _code, path in codes)  # 热土计划 has no start
    assert not any(path == "/sources/tuopin-wenzhang/" for _code, path in codes)  # an undated article
    assert len(codes) == 11


# ---------------------------------------------------------------------------
# Filters


def events_of(client, query):
    return {(code, date, path) for code, date, path in html_rows(client.get(f"/timeline/?{query}&per_page=200"))}


def test_filter_by_fund_keeps_its_own_events_its_programs_and_their_articles(client, world):
    found = events_of(client, "fund=alibabatuopin-jijin")
    assert found == {
        ("fund-founded", "2017-12", "/funds/alibabatuopin-jijin/"),
        ("fund-upgraded", "2021", "/funds/alibabatuopin-jijin/"),
        ("program-started", "2017", "/programs/jiaoyufupin/"),
        ("program-ended", "2020", "/programs/jiaoyufupin/"),
        ("program-started", "2018", "/programs/dianshangtuopin/"),
        ("article-published", "2021-05-01", world["s1"].get_absolute_url()),  # figures of its programs
    }
    # the fund it became sees the upgrade too, and its own founding and program
    assert events_of(client, "fund=xiangcunzhenxing-jijin") == {
        ("fund-founded", "2021", "/funds/xiangcunzhenxing-jijin/"),
        ("fund-upgraded", "2021", "/funds/alibabatuopin-jijin/"),
        ("program-started", "2021-03", "/programs/jiankangbaoxian/"),
    }


def test_filter_by_program_and_by_county(client, world):
    assert events_of(client, "program=cunbo-jihua") == {
        ("program-started", "2019-06", "/programs/cunbo-jihua/"),
        ("article-published", "2019", world["s2"].get_absolute_url()),
    }
    assert events_of(client, "county=puan-xian") == {
        ("program-started", "2017", "/programs/jiaoyufupin/"),
        ("program-ended", "2020", "/programs/jiaoyufupin/"),
        ("program-started", "2018", "/programs/dianshangtuopin/"),
        ("envoy-posted", "2019-07", "/envoys/niushaolong/"),
        ("article-published", "2021-05-01", world["s1"].get_absolute_url()),
    }
    # filters combine with AND
    assert events_of(client, "county=puan-xian&program=dianshangtuopin") == {
        ("program-started", "2018", "/programs/dianshangtuopin/"),
        ("article-published", "2021-05-01", world["s1"].get_absolute_url()),
    }
    assert events_of(client, "county=dushan-xian&program=cunbo-jihua") == set()
    html = client.get("/timeline/?county=dushan-xian&program=cunbo-jihua").content.decode()
    assert 'class="empty"' in html


# ---------------------------------------------------------------------------
# CSV and JSON: the same rows as the page


@pytest.mark.parametrize("query", ["", "sort=-date", "county=puan-xian", "fund=alibabatuopin-jijin&sort=-date"])
def test_csv_and_json_hold_the_rows_of_the_page(client, world, query):
    page = html_rows(client.get(f"/timeline/?{query}"))
    assert page
    assert json_rows(client.get(f"/timeline/?{query}&format=json")) == page
    assert csv_rows(client.get(f"/timeline/?{query}&format=csv")) == page


def test_json_is_paged_like_the_page_and_the_csv_holds_every_page(client, world):
    second = html_rows(client.get("/timeline/?per_page=4&page=2"))
    data = client.get("/timeline/?per_page=4&page=2&format=json").json()
    assert data["count"] == 11
    assert data["next"] == "http://testserver/timeline/?per_page=4&page=3&format=json"
    assert data["previous"] == "http://testserver/timeline/?per_page=4&page=1&format=json"
    assert [(r["event"], r["date"], r["url"].removeprefix("http://testserver")) for r in data["results"]] == second
    everything = csv_rows(client.get("/timeline/?per_page=4&page=2&format=csv"))
    assert everything == html_rows(client.get("/timeline/?per_page=50"))
    assert len(everything) == 11


def test_csv_is_an_attachment_with_formulas_escaped(client, make_program):
    make_program(name="=HYPERLINK(\"http://evil\")", slug="evil", start=day("2019-01-01"), start_precision="year")
    response = client.get("/timeline/?program=evil&format=csv")
    assert re.fullmatch(r'attachment; filename="timeline-\d{4}-\d{2}-\d{2}\.csv"', response["Content-Disposition"])
    assert [row["record"] for row in csv_dicts(response)] == ["'=HYPERLINK(\"http://evil\")"]
    data = client.get("/timeline/?program=evil&format=json").json()
    assert [row["record"] for row in data["results"]] == ["=HYPERLINK(\"http://evil\")"]


# ---------------------------------------------------------------------------
# Values that cannot be understood: a 400 naming them, never a 500


@pytest.mark.parametrize(("query", "parameter", "words"), [
    ("fund=no-such-fund", "fund", "no-such-fund"),
    ("county=Puan_Xian", "county", "Puan_Xian"),
    ("program=no-such-program", "program", "no-such-program"),
    ("sort=name", "sort", "name"),
    ("page=abc", "page", "abc"),
    ("page=99", "page", "99"),
    ("per_page=100000", "per_page", "200"),
    ("format=xml", "format", "xml"),
])
def test_a_value_that_cannot_be_understood_is_a_400_naming_it(client, world, query, parameter, words):
    html = client.get(f"/timeline/?{query}", HTTP_ACCEPT_LANGUAGE="en")
    assert html.status_code == 400
    text = html.content.decode()
    assert f"<code>{parameter}=" in text and words in text
    if parameter != "format":
        data = client.get(f"/timeline/?{query}&format=json", HTTP_ACCEPT_LANGUAGE="en")
        assert data.status_code == 400
        assert words in " ".join(data.json()["errors"][parameter])
    if parameter not in ("format", "page"):  # a CSV is every page: it ignores page, as the lists' do
        text = client.get(f"/timeline/?{query}&format=csv", HTTP_ACCEPT_LANGUAGE="en")
        assert text.status_code == 400 and words in text.content.decode()


def test_unknown_parameters_are_ignored(client, world):
    assert html_rows(client.get("/timeline/?colour=red&q=x")) == html_rows(client.get("/timeline/"))


# ---------------------------------------------------------------------------
# Queries: a page costs the same however many events there are


def add_events(n, make_fund, make_program, make_posting, make_source):
    for _ in range(n):
        source = make_source(published=day("2019-05-01"), published_precision="day")
        fund = make_fund(founded=day("2018-01-01"), founded_precision="year")
        fund.sources.add(source)
        program = make_program(fund=fund, start=day("2018-03-01"), start_precision="month",
                               end=day("2020-06-30"), end_precision="day")
        program.sources.add(source)
        posting = make_posting(start=day("2019-07-01"), start_precision="month")
        posting.sources.add(source)


@pytest.mark.parametrize("fmt", ["", "&format=json", "&format=csv"])
def test_query_count_does_not_grow_with_the_number_of_events(client, make_fund, make_program, make_posting,
                                                             make_source, fmt):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"/timeline/?per_page=200{fmt}")
            read_all(response)
        assert response.status_code == 200
        return len(captured)

    add_events(3, make_fund, make_program, make_posting, make_source)
    read_all(client.get(f"/timeline/?per_page=200{fmt}"))  # the counts and choices are cached from here on
    few = queries()
    add_events(12, make_fund, make_program, make_posting, make_source)
    read_all(client.get(f"/timeline/?per_page=200{fmt}"))
    many = queries()
    assert many == few


# ---------------------------------------------------------------------------
# Both languages, and the way in


def test_the_page_speaks_both_languages_and_is_in_the_navigation(client, world):
    chinese = client.get("/timeline/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "<h1>时间线</h1>" in chinese and "基金成立" in chinese and "项目启动" in chinese
    english = client.get("/timeline/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<h1>Timeline</h1>" in english and "fund founded" in english and "program started" in english
    assert client.get("/timeline/?format=json", HTTP_ACCEPT_LANGUAGE="zh-hans").json()["results"][0][
        "event_label"] == "基金成立"
    home = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert '<a href="/timeline/">时间线</a>' in home
