"""CSV and JSON exports: the same records as the page, all of them, in the shape DESIGN.md promises."""

import csv
import io

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.csvexport import CSV_CHUNK_SIZE
from core.testing.world import html_slugs
from counties.resources import CountyResource
from envoys.resources import EnvoyResource
from programs.resources import FundResource, OutcomeResource, ProgramResource, SourceResource

pytestmark = pytest.mark.django_db

RESOURCES = {
    "/programs/": ProgramResource, "/funds/": FundResource, "/outcomes/": OutcomeResource,
    "/sources/": SourceResource, "/counties/": CountyResource, "/envoys/": EnvoyResource,
}

QUERIES = {
    "/programs/": [
        "", "province=guizhou-sheng&area=dianshang", "q=脫貧", "sort=-start", "organization=taobaodaxue&sort=fund",
    ],
    "/funds/": ["", "area=jiaoyu", "sort=-commitment"],
    "/outcomes/": ["", "unit=元&sort=-value", "county=puan-xian", "q=直播", "year_from=2019&sort=period"],
    "/sources/": ["", "script=traditional", "sort=title"],
    "/counties/": ["", "designation=guojiaji-pinkunxian&sort=-name", "q=puan"],
    "/envoys/": ["", "province=guizhou-sheng", "sort=-joined_year"],
}


def read_csv(response):
    assert isinstance(response, StreamingHttpResponse)
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf"), "UTF-8 byte-order mark, so Excel reads Chinese"
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


@pytest.mark.parametrize(
    "path,query", [(path, query) for path, queries in QUERIES.items() for query in queries]
)
def test_html_csv_and_json_show_the_same_records_in_the_same_order(client, world, path, query):
    html = html_slugs(client.get(f"{path}?{query}&per_page=200"))
    data = client.get(f"{path}?{query}&format=json&per_page=200").json()
    table = read_csv(client.get(f"{path}?{query}&format=csv"))
    slug_column = table[0].index("slug")
    csv_slugs = [row[slug_column] for row in table[1:]]
    json_slugs = [r["slug"] for r in data["results"]]
    assert html == json_slugs == csv_slugs
    assert data["count"] == len(table) - 1


@pytest.mark.parametrize("path", RESOURCES)
def test_csv_has_the_resource_header_all_rows_and_a_dated_name(client, world, path):
    response = client.get(f"{path}?format=csv&per_page=1&page=2")  # paging does not apply to the CSV
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    name = path.strip("/")
    assert response["Content-Disposition"] == (
        f'attachment; filename="{name}-{timezone.localdate():%Y-%m-%d}.csv"'
    )
    table = read_csv(response)
    assert table[0] == RESOURCES[path]().get_export_headers()
    assert len(table) - 1 == client.get(f"{path}?format=json").json()["count"]
    assert all(len(row) == len(table[0]) for row in table)


def test_csv_neutralises_formulas_and_keeps_decimals_dates_and_chinese(client, world):
    table = read_csv(client.get("/programs/?format=csv&sort=name"))
    rows = {row[0]: dict(zip(table[0], row, strict=True)) for row in table[1:]}
    assert rows["jiankangbaoxian"]["summary"] == "'=HYPERLINK(\"http://evil\") 保障"
    assert rows["dianshangtuopin"]["start"] == "2018"  # a year-only date stays a year
    assert rows["cunbo-jihua"]["start"] == "2019-06"
    assert rows["dianshangtuopin"]["name"] == "电商脱贫"
    assert rows["dianshangtuopin"]["counties"] == "dushan-xian|puan-xian" or rows["dianshangtuopin"][
        "counties"] == "puan-xian|dushan-xian"

    outcomes = read_csv(client.get("/outcomes/?format=csv&unit=元&sort=-value"))
    value = outcomes[0].index("value")
    assert [row[value] for row in outcomes[1:]] == ["10000000000", "3000000", "1000000"]

    funds = read_csv(client.get("/funds/?format=csv&sort=founded"))
    fund = dict(zip(funds[0], funds[1], strict=True))
    assert fund["commitment"] == "10000000000" and fund["founded"] == "2017-12"
    assert fund["successor"] == "xiangcunzhenxing-jijin"


def test_json_shape_and_detail_urls(client, world):
    data = client.get("/programs/?format=json&area=dianshang&sort=name").json()
    assert set(data) == {"count", "next", "previous", "results"}
    assert data["count"] == 2 and data["next"] is None and data["previous"] is None
    first = data["results"][0]
    assert first["url"] == "http://testserver/programs/cunbo-jihua/"
    assert first["name"] == "村播计划" and first["start"] == "2019-06"
    # JSON keeps the formula text as it is: no spreadsheet reads it
    health = client.get("/programs/?format=json&q=健康").json()["results"][0]
    assert health["summary"].startswith("=HYPERLINK")


def test_csv_is_streamed_in_chunks_not_built_in_memory(client, world, monkeypatch):
    from django.db.models.sql.compiler import SQLCompiler

    chunk_sizes = []
    original = SQLCompiler.execute_sql

    def spy(self, *args, **kwargs):  # a chunked read (QuerySet.iterator, core.csvexport) names its chunk size
        if kwargs.get("chunked_fetch"):
            chunk_sizes.append(kwargs.get("chunk_size"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SQLCompiler, "execute_sql", spy)
    with CaptureQueriesContext(connection) as before:
        response = client.get("/outcomes/?format=csv")
    assert response.streaming
    row_queries = len(before)
    chunks = iter(response.streaming_content)
    header = next(chunks)
    assert header.startswith(b"\xef\xbb\xbf") and b"slug" in header
    assert chunk_sizes == [], "no row is read before the response starts"
    rest = list(chunks)
    assert len(rest) == 1, "the rows of a chunk in one piece (7 rows: one chunk), written as it is read"
    assert len(list(csv.reader(io.StringIO(rest[0].decode(), newline="")))) == 7
    assert chunk_sizes == [CSV_CHUNK_SIZE]
    assert row_queries < 10


def test_export_links_keep_the_query_and_drop_the_page(client, world):
    page = client.get("/programs/?area=dianshang&page=1&per_page=1").content.decode()
    assert 'href="?area=dianshang&amp;per_page=1&amp;format=csv"' in page
    assert 'href="?area=dianshang&amp;per_page=1&amp;format=json"' in page
