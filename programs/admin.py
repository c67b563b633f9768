"""Staff editing of sources, funds, organizations, programs, indicators and outcomes.

Every admin imports and exports through the app's Resource (see ``resources.py``); the shared
behaviour (version check, history, partial dates, formats) is in :mod:`core.admin_tools`.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.admin_tools import RecordAdmin, RecordStackedInline, exact
from programs.models import Fund, Indicator, Organization, Outcome, Program, Source
from programs.resources import (
    FundResource,
    IndicatorResource,
    OrganizationResource,
    OutcomeResource,
    ProgramResource,
    SourceResource,
)


class OutcomeInline(RecordStackedInline):
    """Outcomes edited on the page of the program (or source) they belong to."""

    model = Outcome
    fields = (
        ("metric", "kind"),
        ("qualifier", "value_printed", "value", "unit"),
        ("period_start", "period_end"),
        ("program", "fund", "county", "source"),
        "quote",
        "note",
        "slug",
    )
    autocomplete_fields = ("program", "fund", "county", "source")
    classes = ("collapse",)


class OutcomeOfSourceInline(OutcomeInline):
    verbose_name_plural = _("outcomes citing this source")


# The inline names each link row; the auto-created through model would say "Program_counties object (1)".
Program.counties.through.__str__ = lambda link: str(link.county)


class ProgramCountyInline(admin.TabularInline):
    """The counties a program works in (its ``counties`` links), one row each."""

    model = Program.counties.through
    autocomplete_fields = ("county",)
    extra = 0
    verbose_name = _("county")
    verbose_name_plural = _("counties")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("county")


@admin.register(Source)
class SourceAdmin(RecordAdmin):
    resource_classes = [SourceResource]
    list_display = ("title", "publisher", "published_display", "script", "slug")
    list_filter = ("script", "publisher")
    search_fields = ("title", "aliases", "publisher", "slug", "note")
    date_hierarchy = "published"
    inlines = [OutcomeOfSourceInline]
    fieldsets = (
        (None, {"fields": ("title", "slug", "aliases", "publisher", "published", "script", "url")}),
        (_("file"), {"fields": ("file_name", "original_file", "date_note", "note")}),
        (_("text"), {"fields": ("text",), "classes": ("collapse",)}),
        (_("record"), {"fields": ("loaded_version", "version", "created_at", "updated_at")}),
    )

    @admin.display(description=_("published"), ordering="published")
    def published_display(self, obj):
        return obj.published_display


@admin.register(Fund)
class FundAdmin(RecordAdmin):
    resource_classes = [FundResource]
    list_display = ("name", "founded_display", "commitment_printed", "commitment_exact", "successor", "slug")
    list_filter = (("successor", admin.RelatedOnlyFieldListFilter),)
    search_fields = ("name", "aliases", "summary", "slug")
    date_hierarchy = "founded"
    autocomplete_fields = ("successor", "sources")
    list_select_related = ("successor",)

    @admin.display(description=_("founded"), ordering="founded")
    def founded_display(self, obj):
        return obj.founded_display

    @admin.display(description=_("commitment (yuan)"), ordering="commitment")
    def commitment_exact(self, obj):
        return exact(obj.commitment)


@admin.register(Organization)
class OrganizationAdmin(RecordAdmin):
    resource_classes = [OrganizationResource]
    list_display = ("name", "kind", "parent", "slug")
    list_filter = ("kind", ("parent", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "aliases", "summary", "slug")
    autocomplete_fields = ("parent", "sources")
    list_select_related = ("parent",)


@admin.register(Program)
class ProgramAdmin(RecordAdmin):
    resource_classes = [ProgramResource]
    list_display = ("name", "kind", "area", "fund", "parent", "start_display", "end_display", "slug")
    list_filter = ("area", "kind", ("fund", admin.RelatedOnlyFieldListFilter), "counties__province")
    search_fields = ("name", "aliases", "summary", "slug")
    date_hierarchy = "start"
    autocomplete_fields = ("fund", "organizations", "parent", "sources")
    list_select_related = ("fund", "parent")
    exclude = ("counties",)  # edited in the counties inline
    inlines = [ProgramCountyInline, OutcomeInline]
    m2m_inlines = {Program.counties.through: "county"}

    @admin.display(description=_("start"), ordering="start")
    def start_display(self, obj):
        return obj.start_display

    @admin.display(description=_("end"), ordering="end")
    def end_display(self, obj):
        return obj.end_display


@admin.register(Indicator)
class IndicatorAdmin(RecordAdmin):
    resource_classes = [IndicatorResource]
    list_display = ("name", "quantity", "base_unit", "program", "fund", "county", "slug")
    list_filter = ("quantity", ("fund", admin.RelatedOnlyFieldListFilter),
                   ("program", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "aliases", "description", "slug")
    autocomplete_fields = ("fund", "program", "county", "sources")
    list_select_related = ("fund", "program", "county")
    fields = (
        ("name", "slug"),
        "aliases",
        ("quantity", "base_unit"),
        "units",
        ("program", "fund", "county"),
        "description",
        "sources",
        ("version", "created_at", "updated_at"),
    )


@admin.register(Outcome)
class OutcomeAdmin(RecordAdmin):
    resource_classes = [OutcomeResource]
    list_display = ("metric", "qualifier", "value_printed", "value_exact", "unit", "period_display",
                    "program", "fund", "county", "source")
    list_filter = ("kind", "unit", ("fund", admin.RelatedOnlyFieldListFilter),
                   ("source", admin.RelatedOnlyFieldListFilter), ("indicator", admin.RelatedOnlyFieldListFilter),
                   "county__province")
    search_fields = ("metric", "value_printed", "quote", "note", "slug", "program__name", "county__name")
    date_hierarchy = "period_end"
    autocomplete_fields = ("program", "fund", "county", "source", "indicator")
    list_select_related = ("program", "fund", "county", "source")
    fields = (
        ("metric", "kind"),
        ("qualifier", "value_printed", "value", "unit"),
        ("period_start", "period_end"),
        ("program", "fund", "county"),
        "indicator",
        "source",
        "quote",
        "note",
        "slug",
        ("version", "created_at", "updated_at"),
    )

    @admin.display(description=_("period"), ordering="period_end")
    def period_display(self, obj):
        return obj.period_display

    @admin.display(description=_("value (base units)"), ordering="value")
    def value_exact(self, obj):
        return exact(obj.value)


__all__ = ["FundAdmin", "IndicatorAdmin", "OrganizationAdmin", "OutcomeAdmin", "ProgramAdmin", "SourceAdmin"]
