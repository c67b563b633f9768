"""Staff editing of provinces, prefectures and counties (with their designations)."""

from django.contrib import admin

from core.admin_tools import RecordAdmin, RecordTabularInline
from counties.models import County, CountyDesignation, Prefecture, Province
from counties.resources import CountyResource, PrefectureResource, ProvinceResource


class CountyDesignationInline(RecordTabularInline):
    """The labels an article gives a county, each with the article that says so."""

    model = CountyDesignation
    fields = ("designation", "source", "quote")
    autocomplete_fields = ("source",)
    show_change_link = False


@admin.register(Province)
class ProvinceAdmin(RecordAdmin):
    resource_classes = [ProvinceResource]
    list_display = ("name", "kind", "slug")
    list_filter = ("kind",)
    search_fields = ("name", "aliases", "note", "slug")


@admin.register(Prefecture)
class PrefectureAdmin(RecordAdmin):
    resource_classes = [PrefectureResource]
    list_display = ("name", "kind", "province", "slug")
    list_filter = ("kind", "province")
    search_fields = ("name", "aliases", "note", "slug", "province__name")
    autocomplete_fields = ("province",)
    list_select_related = ("province",)


@admin.register(County)
class CountyAdmin(RecordAdmin):
    resource_classes = [CountyResource]
    list_display = ("name", "kind", "prefecture", "province", "code", "slug")
    list_filter = ("kind", "province", "designations__designation")
    search_fields = ("name", "aliases", "note", "code", "slug", "designations__quote")
    autocomplete_fields = ("prefecture", "province")
    list_select_related = ("prefecture", "province")
    inlines = [CountyDesignationInline]
