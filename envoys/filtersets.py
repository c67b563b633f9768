"""Which envoys the public list shows, and in what order (see core/listing.py)."""

from django.db.models import OuterRef, Prefetch, Subquery
from django.utils.translation import gettext_lazy as _

from core.listing import CodeFilter, ListFilterSet, SlugFilter, SortFilter
from counties.models import County, Province
from envoys.models import Envoy, Posting


class EnvoyFilterSet(ListFilterSet):
    role = CodeFilter(field_name="role", choices=Envoy.Role.choices, label=_("role"))
    county = SlugFilter(field_name="postings__county", queryset=County.objects.all(), many=True, label=_("county"))
    province = SlugFilter(
        field_name="postings__county__province", queryset=Province.objects.all(), many=True, label=_("province")
    )
    sort = SortFilter(
        orders={
            "name": ("name",),
            "nickname": ("nickname",),
            "role": ("role",),
            "joined_year": ("joined_year",),
            "batch": ("batch",),
            "counties": ("first_county",),
        },
        default="name",
    )

    class Meta:
        model = Envoy
        fields = []


def envoys_with_postings():
    # The first county by name, as a subquery: no GROUP BY of every envoy's postings for one page.
    first_county = (
        Posting.objects.filter(envoy=OuterRef("pk"), county__isnull=False)
        .order_by("county__name").values("county__name")[:1]
    )
    return Envoy.objects.annotate(first_county=Subquery(first_county)).prefetch_related(
        Prefetch("postings", queryset=Posting.objects.select_related("county").order_by("start", "pk"))
    )
