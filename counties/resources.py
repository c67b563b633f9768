"""The columns of provinces, prefectures and counties, for every import and export.

Column names are the keys of ``seeds/data/*.yaml``; the shared rules are in
:mod:`core.importing`. A place may be named by slug or, when unambiguous, by name; a
county's or prefecture's name is narrowed by the row's ``province`` when it repeats. A county row with a
division code and no coordinates gets them from the division table (``counties.divisions``).
"""

from django.core.exceptions import ValidationError
from import_export import fields as ie_fields

from core.importing import (
    SEPARATOR,
    UNKNOWN,
    UNKNOWN_CHOICE,
    DecimalTextWidget,
    RecordResource,
    SlugForeignKeyWidget,
    TextField,
    TextWidget,
    choice_field,
    split_list,
)
from counties.divisions import fill_coordinates
from counties.models import County, CountyDesignation, Designation, Prefecture, Province, designation_source_model


class ProvinceResource(RecordResource):
    name = TextField("name")
    kind = choice_field("kind", Province._meta.get_field("kind"))
    note = TextField("note")

    required_columns = ("slug", "name")

    class Meta:
        model = Province
        fields = ("slug", "name", "aliases", "kind", "note", "version")


class PrefectureResource(RecordResource):
    name = TextField("name")
    kind = choice_field("kind", Prefecture._meta.get_field("kind"))
    province = TextField("province", widget=SlugForeignKeyWidget(Province, label="province"))
    note = TextField("note")

    required_columns = ("slug", "name", "province")
    export_select_related = ("province",)

    class Meta:
        model = Prefecture
        fields = ("slug", "name", "aliases", "kind", "province", "note", "version")


class DesignationsWidget(TextWidget):
    """``guojiaji-pinkunxian:source-slug|sanqu-sanzhou`` ⇄ the county's designations.

    Each item is a designation code, optionally ``:`` and the slug of the source that says so.
    The quote of an existing designation is kept (it is edited in the admin, not in files).
    """

    def clean(self, value, row=None, **kwargs):
        Source = designation_source_model()

        items, problems = [], []
        codes = set(Designation.values)
        for item in split_list(value):
            code, _, source = (part.strip() for part in item.partition(":"))
            if code not in codes:
                problems.append(UNKNOWN_CHOICE % {"label": "designation", "key": repr(code),
                                                  "choices": ", ".join(Designation.values)})
                continue
            items.append((code, source))
        sources = {s for _, s in items if s}
        known = set(Source._base_manager.filter(slug__in=sources).values_list("slug", flat=True)) if sources else set()
        problems += [UNKNOWN % {"label": "source", "key": repr(s)} for s in sorted(sources - known)]
        if problems:
            raise ValueError("; ".join(problems))
        return tuple(sorted(set(items)))

    def render(self, value, obj=None, **kwargs):
        return SEPARATOR.join(f"{code}:{source}" if source else code for code, source in value or ())


class DesignationsField(ie_fields.Field):
    """Saved after the county (it needs the county's id), like a many-to-many field."""

    def __init__(self):
        super().__init__(attribute="designations", column_name="designations", widget=DesignationsWidget())

    def get_value(self, instance):
        """The county's designations as sorted ``(code, source slug)`` pairs."""
        if instance.pk is None:
            return ()
        return tuple(sorted(
            (d.designation, d.source.slug if d.source_id else "") for d in instance.designations.all()
        ))

    def save(self, instance, row, is_m2m=False, **kwargs):
        if not is_m2m:
            return  # written by CountyResource.save_m2m once the county exists
        Source = designation_source_model()

        wanted = set(self.clean(row))
        current = {
            (d.designation, d.source.slug if d.source_id else ""): d
            for d in instance.designations.select_related("source")
        }
        for key, designation in current.items():
            if key not in wanted:
                designation.delete()
        missing = wanted - current.keys()
        slugs = {source for _, source in missing if source}
        sources = {s.slug: s for s in Source._base_manager.filter(slug__in=slugs)} if slugs else {}
        for code, source in sorted(missing):
            CountyDesignation.objects.create(county=instance, designation=code, source=sources.get(source))


class CountyResource(RecordResource):
    name = TextField("name")
    kind = choice_field("kind", County._meta.get_field("kind"))
    prefecture = TextField(
        "prefecture", widget=SlugForeignKeyWidget(Prefecture, label="prefecture", narrow_by="province")
    )
    province = TextField("province", widget=SlugForeignKeyWidget(Province, label="province"))
    code = TextField("code")
    latitude = TextField("latitude", widget=DecimalTextWidget())
    longitude = TextField("longitude", widget=DecimalTextWidget())
    note = TextField("note")
    designations = DesignationsField()

    required_columns = ("slug", "name", "province")
    export_select_related = ("prefecture", "province")
    export_prefetch_related = ("designations__source",)

    class Meta:
        model = County
        fields = ("slug", "name", "aliases", "kind", "prefecture", "province", "code", "latitude", "longitude",
                  "note", "designations", "version")

    def import_instance(self, instance, row, **kwargs):
        errors = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        fill_coordinates(instance)
        if "designations" in row:
            try:
                self.fields["designations"].clean(row)
            except ValueError as exc:
                errors["designations"] = ValidationError(str(exc))
        if errors:
            raise ValidationError(errors)


    def save_m2m(self, instance, row, **kwargs):
        super().save_m2m(instance, row, **kwargs)
        if "designations" in row and not self._meta.use_bulk:
            self.fields["designations"].save(instance, row, is_m2m=True)

    def skip_row(self, instance, original, row, import_validation_errors=None):
        if not super().skip_row(instance, original, row, import_validation_errors):
            return False
        if "designations" not in row:
            return True
        field = self.fields["designations"]
        return field.clean(row) == field.get_value(original)
