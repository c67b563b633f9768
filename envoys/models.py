"""The people the company posted to counties, and their stays there."""

import datetime

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.links import slug_url
from core.records import Record, format_partial_date, period_errors, precision_field

# A year an envoy joined: four digits the press could print (1999 for the company's founding).
JOINED_YEARS = range(1900, 2100)


class Envoy(Record):
    """A company person working in a county: a 特派员, a 村小二, a trainer …"""

    class Role(models.TextChoices):
        ENVOY = "tepaiyuan", _("poverty-alleviation envoy (特派员)")
        VILLAGE_PARTNER = "cunxiaoer", _("village partner (村小二)")
        TRAINER = "peixun", _("trainer")
        EXECUTIVE = "guanli", _("executive")
        STAFF = "yuangong", _("staff")
        OTHER = "qita", _("other")

    name = models.CharField(_("name"), max_length=50)
    nickname = models.CharField(_("nickname (花名)"), max_length=50, blank=True, default="")
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.ENVOY)
    joined_year = models.PositiveSmallIntegerField(_("year joined the company"), null=True, blank=True)
    batch = models.CharField(_("batch"), max_length=50, blank=True, default="")
    organization = models.ForeignKey(
        "programs.Organization", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="envoys", verbose_name=_("organization"),
    )
    summary = models.TextField(_("summary"), blank=True, default="")
    sources = models.ManyToManyField(
        "programs.Source", blank=True, related_name="envoys", verbose_name=_("sources")
    )

    SEARCH_FIELDS = ("name", "nickname", "aliases", "summary")

    class Meta:
        ordering = ["name"]
        verbose_name = _("envoy")
        verbose_name_plural = _("envoys")
        indexes = [models.Index(fields=["name"]), models.Index(fields=["role"])]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return slug_url("envoys:envoy_detail", self.slug)

    def rule_errors(self, skip=frozenset()):
        errors = super().rule_errors(skip)
        year = self.joined_year
        if "joined_year" not in skip and year is not None and year not in JOINED_YEARS:
            errors["joined_year"] = _("%(year)s is not a year the company existed in (%(first)s–%(last)s).") % {
                "year": year, "first": JOINED_YEARS.start, "last": JOINED_YEARS.stop - 1}
        return errors


class PostingQuerySet(models.QuerySet):
    def current(self, today=None):
        today = today or datetime.date.today()
        return self.filter(Q(end__isnull=True) | Q(end__gte=today))


class Posting(Record):
    """An envoy's stay in one county, with the title held there and the dates."""

    envoy = models.ForeignKey(Envoy, on_delete=models.CASCADE, related_name="postings", verbose_name=_("envoy"))
    county = models.ForeignKey(
        "counties.County", on_delete=models.PROTECT, related_name="postings", verbose_name=_("county")
    )
    title = models.CharField(_("title there"), max_length=100, blank=True, default="")
    start = models.DateField(_("from"), null=True, blank=True)
    start_precision = precision_field(_("from precision"))
    end = models.DateField(_("to"), null=True, blank=True)
    end_precision = precision_field(_("to precision"))
    note = models.TextField(_("note"), blank=True, default="")
    sources = models.ManyToManyField(
        "programs.Source", blank=True, related_name="postings", verbose_name=_("sources")
    )

    objects = PostingQuerySet.as_manager()
    SEARCH_FIELDS = ("title", "note")

    class Meta:
        ordering = ["envoy__name", "start"]
        verbose_name = _("posting")
        verbose_name_plural = _("postings")
        indexes = [models.Index(fields=["start"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(start__isnull=True) | Q(end__gte=models.F("start")),
                name="posting_end_not_before_start",
            )
        ]

    def __str__(self):
        return f"{self.envoy} @ {self.county}"

    def get_absolute_url(self):
        return self.envoy.get_absolute_url()

    @property
    def start_display(self):
        return format_partial_date(self.start, self.start_precision)

    @property
    def end_display(self):
        return format_partial_date(self.end, self.end_precision)

    def rule_errors(self, skip=frozenset()):
        return {**super().rule_errors(skip), **period_errors(self.start, self.end, "start", "end", skip)}

    @property
    def is_current(self):
        return self.end is None or self.end >= datetime.date.today()
