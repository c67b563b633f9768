from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CountiesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "counties"
    verbose_name = _("counties")

    def ready(self):
        from core.registry import RecordType, register

        register(
            RecordType("provinces", "counties.Province", "counties.resources.ProvinceResource", order=20,
                       seed_loader="counties.seeding.load_provinces"),
            RecordType("prefectures", "counties.Prefecture", "counties.resources.PrefectureResource", order=30,
                       seed_loader="counties.seeding.load_prefectures"),
            RecordType("counties", "counties.County", "counties.resources.CountyResource", order=40,
                       seed_loader="counties.seeding.load_counties",
                       list_url="counties:county_list", nav=30, label=_("Counties")),
        )
