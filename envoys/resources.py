"""The columns of envoys and their postings, for every import and export.

Column names are the keys of ``seeds/data/envoys.yaml`` and ``postings.yaml``; the shared
rules are in :mod:`core.importing`.
"""


from core.importing import (
    IntegerTextWidget,
    PartialDateField,
    RecordResource,
    SlugForeignKeyWidget,
    SlugManyToManyWidget,
    TextField,
    choice_field,
)
from counties.models import County
from envoys.models import Envoy, Posting
from programs.models import Organization, Source


class EnvoyResource(RecordResource):
    name = TextField("name")
    nickname = TextField("nickname")
    role = choice_field("role", Envoy._meta.get_field("role"))
    joined_year = TextField("joined_year", widget=IntegerTextWidget())
    batch = TextField("batch")
    organization = TextField("organization", widget=SlugForeignKeyWidget(Organization, label="organization"))
    summary = TextField("summary")
    sources = TextField("sources", widget=SlugManyToManyWidget(Source, label="source", name_fields=("title",)))

    required_columns = ("slug", "name")
    export_select_related = ("organization",)
    export_prefetch_related = ("sources",)

    class Meta:
        model = Envoy
        fields = ("slug", "name", "nickname", "aliases", "role", "joined_year", "batch",
                  "organization", "summary", "sources", "version")



class PostingResource(RecordResource):
    envoy = TextField("envoy", widget=SlugForeignKeyWidget(Envoy, label="envoy"))
    county = TextField("county", widget=SlugForeignKeyWidget(County, label="county", narrow_by="province"))
    title = TextField("title")
    start = PartialDateField("start")
    end = PartialDateField("end")
    note = TextField("note")
    sources = TextField("sources", widget=SlugManyToManyWidget(Source, label="source", name_fields=("title",)))

    required_columns = ("slug", "envoy", "county")
    export_select_related = ("envoy", "county")
    export_prefetch_related = ("sources",)

    class Meta:
        model = Posting
        # Postings have no aliases: that field stays out of the file.
        fields = ("slug", "envoy", "county", "title", "start", "end", "note", "sources", "version")

