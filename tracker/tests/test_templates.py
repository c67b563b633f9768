"""The shared pieces of the public pages: the list frame, the declared columns, the record head, link_or_dash.

Every list's table head and every one of its rows are drawn from the columns its view declares
(core.listing.Column), so they cannot drift apart; each sortable column's head links to its sort.
"""

from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.template import Context, Template
from django.template.loader import render_to_string
from django.urls import resolve
from django.utils import translation
from django.utils.text import capfirst

from core.listing import Column, sort_filter_of

pytestmark = pytest.mark.django_db

LISTS = ["/programs/", "/funds/", "/counties/", "/envoys/", "/outcomes/", "/sources/"]
SORT_MARKS = "▲▼↕"


class Table(HTMLParser):
    """The first ``table.data`` of a page: its head cells and the cells of each body row."""

    def __init__(self, html):
        super().__init__()
        self.head, self.rows = [], []
        self._where, self._cell, self._done = None, None, False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self._done:
            return
        if tag == "table" and "data" in (attrs.get("class") or "").split():
            self._where = "table"
        elif self._where and tag in ("thead", "tbody"):
            self._where = tag
        elif self._where == "tbody" and tag == "tr":
            self.rows.append([])
        elif self._where in ("thead", "tbody") and tag in ("th", "td"):
            self._cell = {"tag": tag, "attrs": attrs, "text": "", "links": []}
            (self.head if self._where == "thead" else self.rows[-1]).append(self._cell)
        elif self._cell is not None and tag == "a":
            self._cell["links"].append(attrs.get("href"))

    def handle_endtag(self, tag):
        if tag in ("th", "td"):
            self._cell = None
        elif tag == "table" and self._where:
            self._where, self._done = None, True

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data


def view_of(path):
    return resolve(path).func.view_class


@pytest.mark.parametrize("path", LISTS)
def test_every_list_draws_its_head_and_rows_from_its_declared_columns(client, world, path):
    columns = view_of(path).columns
    assert columns, f"{path} declares no columns"
    response = client.get(f"{path}?per_page=200", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "list_base.html" in [t.name for t in response.templates]  # the one list frame
    table = Table(response.content.decode())

    with translation.override("en"):
        labels = [capfirst(str(column.label)) for column in columns]
    assert [cell["text"].strip(SORT_MARKS) for cell in table.head] == labels
    assert all(cell["tag"] == "th" and cell["attrs"].get("scope") == "col" for cell in table.head)

    assert len(table.rows) == response.context["total"] > 0
    for row in table.rows:
        assert len(row) == len(table.head), row
        first, *others = row
        assert first["tag"] == "th" and first["attrs"].get("scope") == "row"
        assert first["links"], "the first cell links to the row's page"
        assert all(cell["tag"] == "td" for cell in others)
        for cell, column in zip(row, columns, strict=True):
            assert (cell["attrs"].get("class") or "") == column.css


@pytest.mark.parametrize("path", LISTS)
def test_each_sortable_column_head_links_to_its_own_sort(client, world, path):
    view = view_of(path)
    table = Table(client.get(path).content.decode())
    linked = []
    for index, (cell, column) in enumerate(zip(table.head, view.columns, strict=True)):
        if column.sort is None:
            assert cell["links"] == []
            continue
        (href,) = cell["links"]
        sort = parse_qs(urlsplit(href).query)["sort"][0]
        assert sort.removeprefix("-") == column.sort
        linked.append(column.sort)
        # following the link sorts the list by that column (ascending first; descending if it already was)
        followed = Table(client.get(path + href).content.decode())
        assert followed.head[index]["attrs"].get("aria-sort") == ("descending" if sort.startswith("-") else "ascending")
        assert sum("aria-sort" in head["attrs"] for head in followed.head) == 1
    # no sort the page does not offer, no column offering a sort that does not exist
    assert set(linked) == set(sort_filter_of(view.filterset_class).orders)


def test_a_column_cannot_sort_by_a_key_its_filterset_does_not_know():
    from counties.views import CountyListView

    with pytest.raises(ImproperlyConfigured, match="nowhere"):
        type("BrokenListView", (CountyListView,), {"columns": (Column("x", sort="nowhere"),)})
    with pytest.raises(ImproperlyConfigured, match="link"):
        Column("x", link="somewhere")


def test_an_unsortable_column_has_a_plain_head_and_no_sort_choice():
    columns = [
        {"label": "name", "key": "name", "state": "ascending", "url": "?sort=-name"},
        {"label": "note", "key": None, "state": "", "url": None},
    ]
    head = render_to_string("includes/table_head.html", {"columns": columns})
    assert head.count("<th ") == 2 and head.count("<a ") == 1 and '<th scope="col">Note</th>' in head
    form = render_to_string("includes/filter_form.html", {"columns": columns, "filterset": {"filters": {}}})
    assert 'value="name"' in form and 'value="-name"' in form and "Note" not in form


def render(source, **context):
    return Template("{% load browsing %}" + source).render(Context(context))


def test_link_or_dash(world):
    fund = world["tuopin"]
    assert render("{{ fund|link_or_dash }}", fund=fund) == f'<a href="/funds/{fund.slug}/">{fund.name}</a>'
    assert render("{{ fund|link_or_dash }}", fund=None) == "—"
    assert render("{{ missing|link_or_dash }}") == "—"
    assert render('{{ fund|link_or_dash:"" }}', fund=None) == ""

    class Named:
        def __str__(self):
            return "<b>&"

        def get_absolute_url(self):
            return '/x/?a=1&b="2"'

    assert render("{{ x|link_or_dash }}", x=Named()) == '<a href="/x/?a=1&amp;b=&quot;2&quot;">&lt;b&gt;&amp;</a>'


def test_the_record_head(world):
    html = render_to_string("includes/record_head.html", {
        "heading": "王开北", "aside": "北北", "aliases": ["王開北", "Wang"], "lead": "培训<讲师>",
    })
    assert '<header class="record-head">' in html
    assert '<h1>王开北 <span class="muted">（北北）</span></h1>' in html
    assert "王開北、Wang" in html and '<p class="lead">培训&lt;讲师&gt;</p>' in html
    figure = render_to_string("includes/record_head.html", {"heading": "销售额", "figure": world["sales2020"]})
    assert '<h1>销售额: <span class="figure">300万元</span></h1>' in figure
    assert "aliases" not in figure and "lead" not in figure


@pytest.mark.parametrize("path", [
    "/programs/dianshangtuopin/", "/funds/alibabatuopin-jijin/", "/counties/puan-xian/", "/envoys/wangkaibei/",
    "/outcomes/puan-sales-2019/", "/sources/alibabatuopinjijindewunian/",
])
def test_every_detail_page_has_the_one_record_head(client, world, path):
    response = client.get(path)
    assert "includes/record_head.html" in [t.name for t in response.templates]
    assert response.content.decode().count('<header class="record-head">') == 1
