"""Pieces every record shares: pinyin slugs, dates that keep their precision, the base model.

Kept in one small module so that ``programs``, ``counties`` and ``envoys`` describe
their rows the same way.
"""

import datetime
import functools
import re
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.functional import classproperty
from django.utils.translation import gettext_lazy as _
from pypinyin import lazy_pinyin
from simple_history.models import HistoricalRecords

# ---------------------------------------------------------------------------
# Slugs

# Administrative and organisational suffixes are split off with a hyphen so that
# 普安县 becomes ``puan-xian`` (the form DESIGN.md promises) and 热土计划 ``retu-jihua``.
# Longest first, so 自治州 wins over 州.
SLUG_SUFFIXES = sorted(
    [
        "自治区", "自治州", "自治县", "自治旗", "特别行政区",
        "县级市", "地区", "基金会", "基金", "计划", "项目", "工程", "行动", "大会",
        "县", "市", "区", "旗", "省", "州", "盟",
    ],
    key=len,
    reverse=True,
)


def slugify_zh(name: str) -> str:
    """Lowercase ASCII slug from a Chinese (or mixed) name: stem pinyin, hyphen, suffix pinyin."""
    name = (name or "").strip()
    stem, suffix = name, ""
    for candidate in SLUG_SUFFIXES:
        if name.endswith(candidate) and len(name) > len(candidate):
            stem, suffix = name[: -len(candidate)], candidate
            break

    def part(text: str) -> str:
        joined = "".join(lazy_pinyin(text, errors=lambda chars: chars))
        joined = joined.replace("ü", "v").lower()
        return re.sub(r"[^a-z0-9]+", "-", joined).strip("-")

    return "-".join(p for p in (part(stem), part(suffix)) if p) or "x"


#: What a slug is, everywhere (forms, imports, URLs): lowercase ASCII letters and digits, single hyphens.
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


# ---------------------------------------------------------------------------
# Dates that keep their precision


class Precision(models.TextChoices):
    YEAR = "year", _("year")
    MONTH = "month", _("month")
    DAY = "day", _("day")


def format_partial_date(value: datetime.date | None, precision: str | None) -> str:
    """``2019``, ``2019-06`` or ``2019-06-26``: a year-only date never shows as January 1st."""
    if value is None:
        return ""
    if precision == Precision.YEAR:
        return f"{value.year:04d}"
    if precision == Precision.MONTH:
        return f"{value.year:04d}-{value.month:02d}"
    return value.isoformat()


PARTIAL_DATE_RE = re.compile(r"^\s*(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?\s*$")


def parse_partial_date(text) -> tuple[datetime.date | None, str]:
    """Inverse of :func:`format_partial_date`. Empty gives ``(None, "")``; junk raises ValueError."""
    if type(text) is str:
        return _parse_partial_text(text)
    if text is None:
        return None, ""
    if isinstance(text, datetime.datetime):
        return text.date(), Precision.DAY
    if isinstance(text, datetime.date):
        return text, Precision.DAY
    if isinstance(text, int):
        text = str(text)
    return _parse_partial_text(str(text))


@functools.lru_cache(maxsize=4096)
def _parse_partial_text(text: str) -> tuple[datetime.date | None, str]:
    """:func:`parse_partial_date` of a text; the last 4,096 answers kept (a file's dates recur, and the answer, a
    date and a precision, is immutable; junk raises ValueError every time)."""
    text = text.strip()
    if not text:
        return None, ""
    match = PARTIAL_DATE_RE.match(text)
    if not match:
        # the wordings are core.importing's NOT_A_DATE and NO_SUCH_DATE (the admin translates them from there)
        raise ValueError(f"not a date: {text!r} (expected YYYY, YYYY-MM or YYYY-MM-DD)")
    year, month, day = match.groups()
    try:
        if day:
            return datetime.date(int(year), int(month), int(day)), Precision.DAY
        if month:
            return datetime.date(int(year), int(month), 1), Precision.MONTH
        return datetime.date(int(year), 1, 1), Precision.YEAR
    except ValueError:
        raise ValueError(f"not a date: {text!r} (there is no such month or day)") from None


def precision_field(verbose_name):
    return models.CharField(
        verbose_name, max_length=5, choices=Precision.choices, blank=True, default=""
    )


# ---------------------------------------------------------------------------
# The base every public record shares


class Record(models.Model):
    """Abstract: a slug, aliases, a version for optimistic locking, and timestamps."""

    slug = models.SlugField(_("slug"), max_length=120, unique=True)
    aliases = models.TextField(
        _("aliases"),
        blank=True,
        default="",
        help_text=_("Other names, one per line: traditional spellings, printed variants."),
    )
    version = models.PositiveIntegerField(
        _("version"), default=1, editable=False,
        help_text=_("Raised on every save; a stale form is refused instead of overwriting."),
    )
    # Simplified, lowercased text of the searchable fields (see core/search.py); not edited by hand.
    search_text = models.TextField(_("search text"), blank=True, default="", editable=False)
    # The index terms of search_text (CJK bigrams, ASCII suffixes), indexed by FTS5 or GIN.
    search_tokens = models.TextField(_("search tokens"), blank=True, default="", editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    # Every change (admin, import, shell) is kept with who, when and the old and new values.
    # search_text, search_tokens and updated_at are derived, so they are left out of the history.
    history = HistoricalRecords(inherit=True, excluded_fields=["search_text", "search_tokens", "updated_at"])

    SEARCH_FIELDS: tuple[str, ...] = ("name", "aliases")

    class Meta:
        abstract = True

    @classproperty
    def _history_m2m_fields(cls):
        """The history also keeps each record's many-to-many links (a program's counties …)."""
        return [field.name for field in cls._meta.local_many_to_many]

    @property
    def alias_list(self) -> list[str]:
        return [a.strip() for a in self.aliases.splitlines() if a.strip()]

    # -- the rules every write path runs ----------------------------------------

    def rule_errors(self, skip=frozenset()) -> dict:
        """``{field: message}`` for each rule across fields (or across records) this record breaks.

        The one home of those rules: the admin's forms run them through :meth:`clean`, imports and
        restores through ``core.importing.RecordResource.validate_instance``, so a record the admin
        saves is one an import of its export accepts. ``skip``: fields already known to be wrong (a cell
        that could not be read); a rule that reads one of them is not run. Models add theirs to
        ``super().rule_errors(skip)``.
        """
        if "slug" not in skip and self.slug and not SLUG_RE.match(self.slug):
            # Django's SlugField would also take capitals and underscores, which no import takes.
            return {"slug": _("“%(slug)s” is not a slug: lowercase letters, digits and single hyphens "
                              "(puan-xian).") % {"slug": self.slug}}
        return {}

    def clean(self):
        super().clean()
        errors = self.rule_errors()
        if errors:
            raise ValidationError(errors)


def plain_decimal(value) -> str:
    """An exact decimal as every file and page writes it: no exponent, no trailing zeros (``303700000000``,
    ``0.25``), and ``0`` for zero of any sign."""
    text = f"{Decimal(value).normalize():f}"
    return "0" if text in ("-0", "0") else text


def period_errors(start, end, start_field: str, end_field: str, skip=frozenset()) -> dict:
    """A period (a program's run, a posting, a figure's period) does not end before it starts."""
    if {start_field, end_field} & set(skip) or not (start and end) or end >= start:
        return {}
    return {end_field: _("%(end)s is before %(start)s.") % {"end": end_field, "start": start_field}}


AMOUNT = dict(max_digits=24, decimal_places=4)
"""Wide enough for 1.2万亿元 (13 integer digits) with room to spare, and four decimals for rates."""
