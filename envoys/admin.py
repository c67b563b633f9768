"""Staff editing of envoys and their postings."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.admin_tools import RecordAdmin, RecordTabularInline
from envoys.models import Envoy, Posting
from envoys.resources import EnvoyResource, PostingResource


class PostingInline(RecordTabularInline):
    """An envoy's postings, edited on the envoy's page."""

    model = Posting
    fields = ("county", "title", "start", "end", "slug", "note")
    autocomplete_fields = ("county",)


@admin.register(Envoy)
class EnvoyAdmin(RecordAdmin):
    resource_classes = [EnvoyResource]
    list_display = ("name", "nickname", "role", "joined_year", "batch", "organization", "slug")
    list_filter = ("role", "joined_year", ("organization", admin.RelatedOnlyFieldListFilter),
                   "postings__county__province")
    search_fields = ("name", "nickname", "aliases", "summary", "batch", "slug")
    autocomplete_fields = ("organization", "sources")
    list_select_related = ("organization",)
    inlines = [PostingInline]


@admin.register(Posting)
class PostingAdmin(RecordAdmin):
    resource_classes = [PostingResource]
    list_display = ("envoy", "county", "title", "start_display", "end_display", "slug")
    list_filter = ("county__province", ("county", admin.RelatedOnlyFieldListFilter))
    search_fields = ("envoy__name", "envoy__nickname", "county__name", "title", "note", "slug")
    date_hierarchy = "start"
    autocomplete_fields = ("envoy", "county", "sources")
    list_select_related = ("envoy", "county")

    @admin.display(description=_("from"), ordering="start")
    def start_display(self, obj):
        return obj.start_display

    @admin.display(description=_("to"), ordering="end")
    def end_display(self, obj):
        return obj.end_display
