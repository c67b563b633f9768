"""The administrative places programs work in: provinces, prefectures and county-level units."""

import re

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.links import list_url, slug_url
from core.records import Record


class ProvinceQuerySet(models.QuerySet):
    pass


class Province(Record):
    """A province-level unit (省, 自治区, 直辖市) of mainland China."""

    class Kind(models.TextChoices):
        PROVINCE = "sheng", _("province (省)")
        AUTONOMOUS_REGION = "zizhiqu", _("autonomous region (自治区)")
        MUNICIPALITY = "zhixiashi", _("municipality (直辖市)")

    name = models.CharField(_("name"), max_length=50, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.PROVINCE)
    note = models.TextField(_("note"), blank=True, default="")

    class Meta:
        ordering = ["name"]
        verbose_name = _("province")
        verbose_name_plural = _("provinces")

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return list_url("counties:county_list") + f"?province={self.slug}"


class Prefecture(Record):
    """A prefecture-level unit (地级市, 自治州, 地区, 盟) inside one province."""

    class Kind(models.TextChoices):
        CITY = "dijishi", _("prefecture-level city (地级市)")
        AUTONOMOUS_PREFECTURE = "zizhizhou", _("autonomous prefecture (自治州)")
        REGION = "diqu", _("prefecture (地区)")
        LEAGUE = "meng", _("league (盟)")

    name = models.CharField(_("name"), max_length=50)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.CITY)
    province = models.ForeignKey(
        Province, on_delete=models.PROTECT, related_name="prefectures", verbose_name=_("province")
    )
    note = models.TextField(_("note"), blank=True, default="")

    class Meta:
        ordering = ["province__name", "name"]
        verbose_name = _("prefecture")
        verbose_name_plural = _("prefectures")
        # Names repeat across provinces, so the name is unique only within one.
        constraints = [
            models.UniqueConstraint(fields=["province", "name"], name="prefecture_unique_name_in_province")
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return list_url("counties:county_list") + f"?prefecture={self.slug}"


class Designation(models.TextChoices):
    """The labels the articles attach to a county."""

    NATIONAL_POOR = "guojiaji-pinkunxian", _("national-level poor county (国家级贫困县)")
    KEY_COUNTY = "zhongdianxian", _("national key county for poverty alleviation (国家扶贫开发工作重点县)")
    DEEP_POVERTY = "shendu-pinkunxian", _("deep-poverty county (深度贫困县)")
    THREE_REGIONS = "sanqu-sanzhou", _("three regions and three prefectures (三区三州)")
    CONTIGUOUS = "jizhong-lianpian", _("contiguous destitute area (集中连片特困地区)")
    OTHER = "other", _("other")


class County(Record):
    """A county-level unit (县, 旗, 县级市, 区) where the company works, in its prefecture and province."""

    class Kind(models.TextChoices):
        COUNTY = "xian", _("county (县)")
        BANNER = "qi", _("banner (旗)")
        COUNTY_CITY = "xianjishi", _("county-level city (县级市)")
        DISTRICT = "qu", _("district (区)")
        AUTONOMOUS_COUNTY = "zizhixian", _("autonomous county (自治县)")
        SPECIAL = "tequ", _("special district (特区)")

    name = models.CharField(_("name"), max_length=50)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.COUNTY)
    prefecture = models.ForeignKey(
        Prefecture, on_delete=models.PROTECT, null=True, blank=True,
        related_name="counties", verbose_name=_("prefecture"),
    )
    # Kept beside the prefecture: some county-level cities answer to the province
    # directly, and filtering by province is the commonest public query.
    province = models.ForeignKey(
        Province, on_delete=models.PROTECT, related_name="counties", verbose_name=_("province")
    )
    code = models.CharField(
        _("division code"), max_length=12, blank=True, default="",
        help_text=_("The official six-digit administrative division code (普安县: 522323)."),
    )
    # From the same division table as the code (counties.divisions); they place the county on the maps.
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    note = models.TextField(_("note"), blank=True, default="")

    SEARCH_FIELDS = ("name", "aliases", "note")

    class Meta:
        ordering = ["province__name", "name"]
        verbose_name = _("county")
        verbose_name_plural = _("counties")
        constraints = [
            models.UniqueConstraint(
                fields=["province", "prefecture", "name"], name="county_unique_name_in_prefecture"
            )
        ]
        indexes = [models.Index(fields=["name"]), models.Index(fields=["kind"])]

    def rule_errors(self, skip=frozenset()):
        """Its code is six digits; its coordinates are both given or neither, and on the globe; its prefecture
        is in its province."""
        errors = super().rule_errors(skip)
        if "code" not in skip and self.code and not re.fullmatch(r"[0-9]{6}", self.code):
            errors["code"] = _("“%(code)s” is not a division code: six digits (522323).") % {"code": self.code}
        if not {"latitude", "longitude"} & set(skip):
            lat, lon = self.latitude, self.longitude
            if (lat is None) != (lon is None):
                errors["latitude"] = _("Give both the latitude and the longitude, or neither.")
            elif lat is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
                errors["latitude"] = _("The coordinates are not on the globe: latitude −90 to 90, "
                                       "longitude −180 to 180.")
        prefecture, province = getattr(self, "prefecture", None), getattr(self, "province", None)
        if {"prefecture", "province"} & set(skip) or prefecture is None or province is None:
            return errors
        # unsaved rows (load_seeds --check) are compared by slug
        same = (prefecture.province_id == province.pk if province.pk is not None
                else prefecture.province.slug == province.slug)
        if not same:
            errors["prefecture"] = _("prefecture '%(prefecture)s' is not in province '%(province)s'") % {
                "prefecture": prefecture.slug, "province": province.slug}
        return errors

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return slug_url("counties:county_detail", self.slug)


class CountyDesignation(models.Model):
    """One label an article gives a county (国家级贫困县 …), with the article that says so."""

    county = models.ForeignKey(
        County, on_delete=models.CASCADE, related_name="designations", verbose_name=_("county")
    )
    designation = models.CharField(_("designation"), max_length=30, choices=Designation.choices)
    source = models.ForeignKey(
        "programs.Source", on_delete=models.PROTECT, null=True, blank=True,
        related_name="designations", verbose_name=_("source"),
    )
    quote = models.TextField(_("quote"), blank=True, default="")

    history = HistoricalRecords()

    class Meta:
        ordering = ["county", "designation"]
        verbose_name = _("county designation")
        verbose_name_plural = _("county designations")
        constraints = [
            models.UniqueConstraint(
                fields=["county", "designation", "source"], name="designation_unique_per_source"
            )
        ]
        indexes = [models.Index(fields=["designation"])]

    def __str__(self):
        return f"{self.county} · {self.get_designation_display()}"


def designation_source_model():
    """The Source model, which a designation cites. Counties sits below the programs app, so it reaches
    Source through its own foreign key, never by importing programs."""
    return CountyDesignation._meta.get_field("source").related_model
