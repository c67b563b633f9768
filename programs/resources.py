"""The columns of sources, funds, organizations, programs, indicators and outcomes, for every import and export.

Column names are the keys of ``seeds/data/*.yaml`` (see ``seeds/README.md``). The rules every
Resource shares (text values, natural keys, ``|`` lists, formula escaping, versions, all or
nothing) are in :mod:`core.importing`; the rules across fields of a fund or an outcome are the models'
own (``rule_errors`` in ``models.py``), which the admin runs too.
"""


from core.importing import (
    AliasesWidget,
    DecimalTextWidget,
    PartialDateField,
    RecordResource,
    SlugForeignKeyWidget,
    SlugManyToManyWidget,
    TextField,
    choice_field,
)
from core.records import format_partial_date, plain_decimal
from counties.models import County
from programs.models import Fund, Indicator, Organization, Outcome, Program, Source


def sources_field():
    return TextField("sources", widget=SlugManyToManyWidget(Source, label="source", name_fields=("title",)))


class SourceResource(RecordResource):
    title = TextField("title")
    publisher = TextField("publisher")
    published = PartialDateField("published")
    script = choice_field("script", Source._meta.get_field("script"))
    date_note = TextField("date_note")
    file_name = TextField("file_name")
    original_file = TextField("original_file")
    url = TextField("url")
    note = TextField("note")
    text = TextField("text")

    required_columns = ("slug", "title")

    class Meta:
        model = Source
        fields = ("slug", "title", "aliases", "publisher", "published", "script", "date_note",
                  "file_name", "original_file", "url", "note", "text", "version")


class FundResource(RecordResource):
    name = TextField("name")
    founded = PartialDateField("founded")
    commitment = TextField("commitment", widget=DecimalTextWidget())
    commitment_printed = TextField("commitment_printed")
    commitment_term = TextField("commitment_term")
    successor = TextField("successor", widget=SlugForeignKeyWidget(Fund, label="fund"))
    succeeded_on = PartialDateField("succeeded_on")
    summary = TextField("summary")
    sources = sources_field()

    required_columns = ("slug", "name")
    export_select_related = ("successor",)
    export_prefetch_related = ("sources",)

    class Meta:
        model = Fund
        fields = ("slug", "name", "aliases", "founded", "commitment", "commitment_printed",
                  "commitment_term", "successor", "succeeded_on", "summary", "sources", "version")


class OrganizationResource(RecordResource):
    name = TextField("name")
    kind = choice_field("kind", Organization._meta.get_field("kind"))
    parent = TextField("parent", widget=SlugForeignKeyWidget(Organization, label="organization"))
    summary = TextField("summary")
    sources = sources_field()

    required_columns = ("slug", "name")
    export_select_related = ("parent",)
    export_prefetch_related = ("sources",)

    class Meta:
        model = Organization
        fields = ("slug", "name", "aliases", "kind", "parent", "summary", "sources", "version")


class ProgramResource(RecordResource):
    name = TextField("name")
    kind = choice_field("kind", Program._meta.get_field("kind"))
    area = choice_field("area", Program._meta.get_field("area"))
    fund = TextField("fund", widget=SlugForeignKeyWidget(Fund, label="fund"))
    organizations = TextField("organizations", widget=SlugManyToManyWidget(Organization, label="organization"))
    parent = TextField("parent", widget=SlugForeignKeyWidget(Program, label="program"))
    start = PartialDateField("start")
    end = PartialDateField("end")
    summary = TextField("summary")
    counties = TextField("counties", widget=SlugManyToManyWidget(County, label="county"))
    sources = sources_field()

    required_columns = ("slug", "name")
    export_select_related = ("fund", "parent")
    export_prefetch_related = ("organizations", "counties", "sources")

    class Meta:
        model = Program
        fields = ("slug", "name", "aliases", "kind", "area", "fund", "organizations", "parent",
                  "start", "end", "summary", "counties", "sources", "version")



class IndicatorResource(RecordResource):
    name = TextField("name")
    quantity = choice_field("quantity", Indicator._meta.get_field("quantity"))
    base_unit = TextField("base_unit")
    units = TextField("units", widget=AliasesWidget())  # one per line in the database, | in a file
    fund = TextField("fund", widget=SlugForeignKeyWidget(Fund, label="fund"))
    program = TextField("program", widget=SlugForeignKeyWidget(Program, label="program"))
    county = TextField("county", widget=SlugForeignKeyWidget(County, label="county"))
    description = TextField("description")
    sources = sources_field()

    required_columns = ("slug", "name", "quantity", "base_unit")
    export_select_related = ("fund", "program", "county")
    export_prefetch_related = ("sources",)

    class Meta:
        model = Indicator
        fields = ("slug", "name", "aliases", "quantity", "base_unit", "units", "fund", "program", "county",
                  "description", "sources", "version")

    @classmethod
    def json_extras(cls, rows, absolute=str) -> list[dict]:
        """The JSON of an indicator also carries its series (``values``): each figure's value, unit, printed
        form, kind, period, source and page, in the order of the indicator's page. One query per page."""
        from programs.services import series_rows

        by_indicator = series_rows(indicators=rows)
        return [{"values": [{
            "outcome": o.slug, "value": "" if o.value is None else plain_decimal(o.value), "unit": o.unit,
            "value_printed": o.value_printed,
            "qualifier": o.qualifier, "kind": o.kind,
            "period_start": format_partial_date(o.period_start, o.period_start_precision),
            "period_end": format_partial_date(o.period_end, o.period_end_precision),
            "source": o.source.slug, "url": absolute(o.get_absolute_url()),
        } for o in by_indicator.get(row.pk, [])]} for row in rows]

    @classmethod
    def json_extras_schema(cls) -> dict:
        """``values`` in /openapi.json: each figure's columns described as the figures' own (OutcomeResource)."""
        from core.openapi import columns_schema

        figure = columns_schema(OutcomeResource, {
            "outcome": "slug", "value": "value", "unit": "unit", "value_printed": "value_printed",
            "qualifier": "qualifier", "kind": "kind", "period_start": "period_start", "period_end": "period_end",
            "source": "source",
        })
        return {"values": {"type": "array", "items": figure,
                           "description": "The indicator's series: its figures, in the order of its page."}}


class OutcomeResource(RecordResource):
    metric = TextField("metric")
    kind = choice_field("kind", Outcome._meta.get_field("kind"))
    value = TextField("value", widget=DecimalTextWidget())
    unit = TextField("unit")
    value_printed = TextField("value_printed")
    qualifier = TextField("qualifier")
    period_start = PartialDateField("period_start")
    period_end = PartialDateField("period_end")
    program = TextField("program", widget=SlugForeignKeyWidget(Program, label="program"))
    fund = TextField("fund", widget=SlugForeignKeyWidget(Fund, label="fund"))
    county = TextField("county", widget=SlugForeignKeyWidget(County, label="county", narrow_by="province"))
    source = TextField("source", widget=SlugForeignKeyWidget(Source, label="source", name_fields=("title",)))
    quote = TextField("quote")
    note = TextField("note")
    indicator = TextField("indicator", widget=SlugForeignKeyWidget(Indicator, label="indicator"))

    required_columns = ("slug", "metric", "value_printed", "source", "quote")
    export_select_related = ("program", "fund", "county", "source", "indicator")

    class Meta:
        model = Outcome
        # Outcomes have no aliases: their ``aliases`` field stays out of the file.
        fields = ("slug", "metric", "kind", "value", "unit", "value_printed", "qualifier",
                  "period_start", "period_end", "program", "fund", "county", "source", "quote",
                  "note", "indicator", "version")
