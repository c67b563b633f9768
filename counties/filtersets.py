"""Which counties the public list shows, and in what order (see core/listing.py)."""

from django.utils.translation import gettext_lazy as _

from core.listing import CodeFilter, ListFilterSet, SlugFilter, SortFilter, related_count
from counties.models import County, CountyDesignation, Designation, Prefecture, Province


class CountyFilterSet(ListFilterSet):
    province = SlugFilter(field_name="province", queryset=Province.objects.all(), label=_("province"))
    prefecture = SlugFilter(field_name="prefecture", queryset=Prefecture.objects.all(), label=_("prefecture"))
    designation = CodeFilter(
        field_name="designations__designation", choices=Designation.choices, many=True, label=_("designation")
    )
    kind = CodeFilter(field_name="kind", choices=County.Kind.choices, label=_("kind"))
    sort = SortFilter(
        orders={
            "name": ("name",),
            "kind": ("kind",),
            "prefecture": ("prefecture__name",),
            "province": ("province__name",),
            "code": ("code",),
            "designations": ("designation_count",),
            "programs": ("program_count",),
        },
        default="province",
    )

    class Meta:
        model = County
        fields = []


def counties_with_counts():
    return (
        County.objects.select_related("province", "prefecture")
        .prefetch_related("designations")
        .annotate(
            program_count=related_count(County.programs.through, "county"),
            designation_count=related_count(CountyDesignation, "county", "designation", distinct=True),
        )
    )
