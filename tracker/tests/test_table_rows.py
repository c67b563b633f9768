"""A list's table drawn in Python (issue 14): the ``table_rows`` tag, the cell functions that replaced the cell
templates, choice labels read once per process and language; the outcomes' province filter; the home page's
largest amounts and headline series. Each is held to what the slower code it replaced gives."""

import pytest
from django.apps import apps
from django.db import connection
from django.template import Context, Template
from django.utils import translation

from core.listing import Column
from core.presenting import NOT_A_CHOICE, cell_value, choice_label
from counties import cells as county_cells
from counties.models import County
from envoys import cells as envoy_cells
from programs import cells as program_cells
from programs.filtersets import OutcomeFilterSet
from programs.filtersets import indicators_with_counts as indicator_rows
from programs.models import Fund, Outcome, Program
from tracker.views import headline_indicators

pytestmark = pytest.mark.django_db

# The cell templates these functions replaced, as they were (templates/*/cells/*.html at ff5f1d6^).
OLD_CELLS = {
    program_cells.program_name: '<a href="{{ row.get_absolute_url }}">{{ row.name }}</a>{% if row.kind != "program" %}'
                                ' <span class="tag">{{ row.get_kind_display }}</span>{% endif %}',
    program_cells.program_area: '<a href="?area={{ row.area }}">{{ row.get_area_display }}</a>',
    program_cells.fund_commitment: "{{ row.commitment_printed }}{% if row.commitment_term %} / "
                                   "{{ row.commitment_term }}{% endif %}",
    program_cells.indicator_name: '{% load i18n %}<a href="{{ row.get_absolute_url }}">{{ row.name }}</a>'
                                  '{% if row.is_disputed %} <span class="tag tag-disputed">'
                                  '{% translate "reported differently" %}</span>{% endif %}',
    program_cells.outcome_value: "{{ row.qualifier }}{{ row.value_printed }}",
    program_cells.outcome_source: '<a href="{{ row.source.get_absolute_url }}#quote-{{ row.slug }}">'
                                  "{{ row.source.title|truncatechars:24 }}</a>",
    envoy_cells.envoy_counties: '{% load browsing %}{% for posting in row.postings.all %}'
                                '{{ posting.county|link_or_dash:"" }}'
                                "{% if not forloop.last %}, {% endif %}{% endfor %}",
    county_cells.county_designations: "{% for d in row.designations.all %}{% ifchanged d.designation %}"
                                      '<span class="tag">{{ d.get_designation_display }}</span> '
                                      "{% endifchanged %}{% endfor %}",
}


def rows_of(cell):
    from counties.filtersets import counties_with_counts
    from envoys.filtersets import envoys_with_postings

    if cell in (program_cells.program_name, program_cells.program_area):
        return Program.objects.all()
    if cell is program_cells.fund_commitment:
        return Fund.objects.all()
    if cell is program_cells.indicator_name:
        return indicator_rows()
    if cell in (program_cells.outcome_value, program_cells.outcome_source):
        return Outcome.objects.select_related("source")
    if cell is envoy_cells.envoy_counties:
        return envoys_with_postings()
    return counties_with_counts()


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("cell", list(OLD_CELLS), ids=lambda cell: cell.__name__)
def test_each_cell_prints_what_its_template_printed(world, cell, language):
    template = Template(OLD_CELLS[cell])
    rows = list(rows_of(cell))
    assert rows
    with translation.override(language):
        for row in rows:
            assert cell(row) == template.render(Context({"row": row})), row


def test_cells_escape_what_they_print(make_program, make_outcome):
    program = make_program(slug="hostile", name='<b>"x" & y</b>', kind="measure")
    html = program_cells.program_name(program)
    assert '&lt;b&gt;&quot;x&quot; &amp; y&lt;/b&gt;' in html and "<b>" not in html
    outcome = make_outcome(qualifier="<i>", value_printed="1&2")
    assert program_cells.outcome_value(outcome) == "&lt;i&gt;1&amp;2"


def test_choice_labels_are_djangos_in_every_language_and_for_unknown_values():
    checked = 0
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if not field.choices or not hasattr(model, f"get_{field.name}_display"):
                continue
            for value in [key for key, _label in field.flatchoices] + ["not-a-choice", None]:
                record = model(**{field.attname: value})
                for language in ("en", "zh-hans"):
                    with translation.override(language):
                        found = choice_label(record, f"get_{field.name}_display")
                        assert found == getattr(record, f"get_{field.name}_display")(), (model, field.name, value)
                        checked += 1
    assert checked > 50
    assert choice_label(Program(), "get_absolute_url") is NOT_A_CHOICE


def test_a_model_of_its_own_display_method_is_asked_itself():
    class Own(Program):
        class Meta:
            proxy = True
            app_label = "programs"

        def get_kind_display(self):
            return "mine"

    try:
        assert choice_label(Own(kind="program"), "get_kind_display") is NOT_A_CHOICE
        assert cell_value(Own(kind="program"), "get_kind_display") == "mine"
    finally:
        # Out of the app registry again: later tests list the record models (the backup's parts).
        from django.apps import apps

        del apps.all_models["programs"]["own"]
        apps.clear_cache()


def test_table_rows_draws_every_kind_of_column(make_program, make_fund):
    fund = make_fund(slug="f", name="基金<1>")
    program = make_program(slug="p", name="项目&", fund=fund)
    columns = [
        {"value": "name", "link": "row", "cell": "", "css": "", "heads_row": True},
        {"value": "fund", "link": "value", "cell": "", "css": "num", "heads_row": False},
        {"value": "parent", "link": "value", "cell": "", "css": "", "heads_row": False},
        {"value": "get_kind_display", "link": "", "cell": "", "css": "", "heads_row": False},
        {"value": "parent", "link": "", "cell": "", "css": "", "heads_row": False},
        {"value": "name", "link": "", "cell": program_cells.program_area, "css": "", "heads_row": False},
        {"value": "name", "link": "", "cell": "includes/export_links.html", "css": "", "heads_row": False},
    ]
    html = Template("{% load browsing %}{% table_rows columns rows %}").render(
        Context({"columns": columns, "rows": [program], "csv_url": "?format=csv&amp;x", "json_url": "?j"}))
    cells = html.split("\n      ")
    assert cells[0] == "\n    <tr>"
    assert cells[1] == '<th scope="row"><a href="/programs/p/">项目&amp;</a></th>'
    assert cells[2] == '<td class="num"><a href="/funds/f/">基金&lt;1&gt;</a></td>'
    assert cells[3] == "<td></td>" and cells[5] == "<td></td>"
    assert cells[4] == f"<td>{program.get_kind_display()}</td>"
    assert cells[6] == f"<td>{program_cells.program_area(program)}</td>"
    assert cells[7].startswith("<td>") and "format=csv" in cells[7]  # a template cell still works
    assert html.endswith("</td>\n    </tr>\n  ")


def test_a_column_takes_a_function_as_its_cell():
    assert Column("x", cell=program_cells.program_name).cell is program_cells.program_name


# ---------------------------------------------------------------------------
# /outcomes/?province=


@pytest.mark.parametrize("sort", ["", "-period", "period", "metric", "-value", "fund", "source"])
def test_the_province_filter_shows_the_outcomes_of_its_counties(client, world, sort):
    province = County.objects.filter(outcomes__isnull=False).first().province
    expected = set(Outcome.objects.filter(county__province=province).values_list("slug", flat=True))
    assert expected
    response = client.get(f"/outcomes/?province={province.slug}&sort={sort}&per_page=200&format=json")
    assert {row["url"].rstrip("/").rsplit("/", 1)[1] for row in response.json()["results"]} == expected
    assert response.json()["count"] == len(expected)


def test_the_province_filter_can_read_the_partial_index_of_outcomes_with_a_county(rf, world):
    province = County.objects.filter(outcomes__isnull=False).first().province
    for sort in ("", "fund"):  # an index's order (EXISTS) and a sort no index serves (a join)
        filterset = OutcomeFilterSet(data={"province": province.slug, "sort": sort},
                                     queryset=Outcome.objects.all(), request=rf.get("/"))
        sql = str(filterset.qs.query)
        assert '"programs_outcome"."county_id" IS NOT NULL' in sql, sql
    with connection.cursor() as cursor:
        indexes = connection.introspection.get_constraints(cursor, Outcome._meta.db_table)
    assert "outcome_county_period_idx" in indexes
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'outcome_county_period_idx'")
            (definition,) = cursor.fetchone()
        assert "period_end DESC NULLS LAST, period_start DESC NULLS LAST, id DESC" in definition
        assert "WHERE (county_id IS NOT NULL)" in definition


# ---------------------------------------------------------------------------
# The home page


def test_the_headline_series_are_the_ones_the_tag_chose(world):
    from programs.templatetags.indicators import HEADLINE_LIMIT, _longest_series_first

    chosen = [i.pk for i in _longest_series_first().filter(date_count__gte=2)[:HEADLINE_LIMIT]]
    assert chosen
    assert headline_indicators() == chosen


def test_the_home_page_lists_the_largest_amounts_in_yuan(client, world):
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    largest = list(Outcome.objects.filter(unit="元", value__isnull=False).order_by("-value", "-pk")[:6])
    assert largest
    positions = [html.index(f'href="{o.get_absolute_url()}"') for o in largest]
    assert positions == sorted(positions)
    assert "Headline series" in html
