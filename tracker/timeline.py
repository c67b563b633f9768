"""The timeline: the history of the funds and programs as dated events drawn from the records.

An event is a date a record carries: a fund founded (``Fund.founded``) or turned into another
(``Fund.successor`` on ``Fund.succeeded_on``), a program started or ended (``Program.start`` / ``end``),
an envoy posted to a county (``Posting.start``), an article published (``Source.published``). Records
without the date have no event; nothing is stored for the timeline, so it can never disagree with them.

**Dates keep their precision, and so does the order.** A year-only date is stored as 1 January but
means "some time that year": it is shown as ``2019`` and sorts *after* every event dated within 2019
when oldest first (and before them when newest first: ``sort=-date`` is exactly the reverse of
``sort=date``). Likewise a month-only date sorts after the days of its month. The sort key of a date is
``(year, month or 13, day or 32)``; ties go by kind of event (founded, became, started, posted, published,
ended) and then by record. That is the order in which the events had certainly happened.

**Filters** (``fund``, ``program``, ``county``: slugs, combined with AND) keep the events *about* that
record:

- ``fund``: the fund's founding, its upgrade (as the fund that became another, or the one it became), its
  programs' starts and ends, and the articles cited by the fund, by its programs or for their figures;
- ``program``: the program's start and end, and the articles cited by it or for its figures;
- ``county``: the starts and ends of the programs working there, the envoys posted there, and the
  articles cited for its figures, its designations or its postings.

**Fast at any size, without a stored index of events.** Each kind of event is one table ordered by one
date column. Within one precision (year-only, month-only, day) the order of the date column *is* the
timeline's order, so each (kind, precision) is walked in date order by keyset pages (an index scan
where the column has one), and the walks are merged (:func:`heapq.merge`). The first page is one query
per walk whatever the number of events (the counts per kind and precision, kept in the counts cache,
leave out the walks that would find nothing); a deep page reads the keys it passes over; the CSV streams
every event with memory bounded by the walks' page size; each walk reads an index in date order
(``Program.end`` has its own since migration 0009).
"""

from __future__ import annotations

import datetime
import heapq
import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple

from django import forms
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from core.listing import CodeChoiceField, SlugChoiceField
from core.records import Precision, format_partial_date
from counties.models import County, CountyDesignation
from envoys.models import Posting
from programs.models import Fund, Outcome, Program, Source

MAX_WALK_CHUNK = 2000
"""The largest keyset page one walk reads at once (the CSV's memory is bounded by it)."""


# ---------------------------------------------------------------------------
# The kinds of event


@dataclass(frozen=True)
class Kind:
    """One kind of event: the records that carry it and the date column it is read from."""

    code: str  # as exported: ``fund-founded``
    label: str  # a lazy translation
    model: type
    date: str  # the date column; its precision is ``<date>_precision``
    rank: int  # the order of kinds on the same date
    condition: Q = field(default_factory=Q)  # which rows carry the event

    @property
    def precision(self) -> str:
        return f"{self.date}_precision"


FUND_FOUNDED = Kind("fund-founded", _("fund founded"), Fund, "founded", 0)
FUND_UPGRADED = Kind("fund-upgraded", _("fund became"), Fund, "succeeded_on", 1, Q(successor__isnull=False))
PROGRAM_STARTED = Kind("program-started", _("program started"), Program, "start", 2)
ENVOY_POSTED = Kind("envoy-posted", _("envoy posted"), Posting, "start", 3)
ARTICLE_PUBLISHED = Kind("article-published", _("article published"), Source, "published", 4)
PROGRAM_ENDED = Kind("program-ended", _("program ended"), Program, "end", 5)

KINDS = (FUND_FOUNDED, FUND_UPGRADED, PROGRAM_STARTED, ENVOY_POSTED, ARTICLE_PUBLISHED, PROGRAM_ENDED)  # by rank
KINDS_BY_CODE = {kind.code: kind for kind in KINDS}

def sort_key(date: datetime.date, precision: str) -> tuple[int, int, int]:
    """``(year, month or 13, day or 32)``: a year-only date after every day of its year, a month-only one
    after every day of its month."""
    if precision == Precision.YEAR:
        return (date.year, 13, 32)
    if precision == Precision.MONTH:
        return (date.year, date.month, 32)
    return (date.year, date.month, date.day)


def _group_of(precision: str) -> int:
    return 0 if precision == Precision.YEAR else 1 if precision == Precision.MONTH else 2


def _precision_condition(kind: Kind, group: int) -> Q:
    """The rows of one precision group (year-only, month-only, else a day or none recorded): within one,
    the date column's order is the timeline's order."""
    name = kind.precision
    if group == 0:
        return Q(**{name: Precision.YEAR})
    if group == 1:
        return Q(**{name: Precision.MONTH})
    return ~Q(**{f"{name}__in": (Precision.YEAR, Precision.MONTH)})


# ---------------------------------------------------------------------------
# Filters: which rows of each kind are about the fund, program or county asked for


def _source_ids_about(*, fund=None, program=None, county=None) -> set[int]:
    """The articles about each record given (AND across them), read once: each way an article can be
    about a record is its own indexed query (an OR across them in one query scans every figure)."""
    def ids(*querysets):
        found = set()
        for queryset in querysets:
            # no ORDER BY: the models' default order would make SQLite walk their sort index whole
            found.update(queryset.order_by().values_list("source", flat=True).distinct())
        found.discard(None)
        return found

    wanted = []
    if fund is not None:
        wanted.append(ids(
            Fund.sources.through.objects.filter(fund=fund),
            Program.sources.through.objects.filter(program__fund=fund),
            Outcome.objects.filter(fund=fund),
            Outcome.objects.filter(program__fund=fund),
        ))
    if program is not None:
        wanted.append(ids(
            Program.sources.through.objects.filter(program=program),
            Outcome.objects.filter(program=program),
        ))
    if county is not None:
        wanted.append(ids(
            Outcome.objects.filter(county=county),
            CountyDesignation.objects.filter(county=county),
            Posting.sources.through.objects.filter(posting__county=county),
        ))
    return set.intersection(*wanted) if wanted else set()  # no filter: not asked for


def _rows_of(kind: Kind, *, fund=None, program=None, county=None, source_ids=None):
    """The rows of ``kind`` carrying a dated event about the records given; None when none can be.
    ``source_ids``: a callable giving the articles about them (read only when asked)."""
    rows = kind.model._base_manager.filter(kind.condition, **{f"{kind.date}__isnull": False})
    if kind.model is Fund:
        if program is not None or county is not None:
            return None  # a fund's founding or upgrade is no program's or county's event
        if fund is not None and kind is FUND_UPGRADED:
            rows = rows.filter(Q(pk=fund.pk) | Q(successor=fund.pk))  # either side of the upgrade
        elif fund is not None:
            rows = rows.filter(pk=fund.pk)
    elif kind.model is Program:
        if fund is not None:
            rows = rows.filter(fund=fund)
        if program is not None:
            rows = rows.filter(pk=program.pk)
        if county is not None:
            rows = rows.filter(pk__in=Program.counties.through.objects.filter(county=county).values("program"))
    elif kind.model is Posting:
        if fund is not None or program is not None:
            return None  # an envoy is posted to a county, not by a fund or program
        if county is not None:
            rows = rows.filter(county=county)
    elif fund is not None or program is not None or county is not None:
        rows = rows.filter(pk__in=sorted(source_ids()))
    return rows


# ---------------------------------------------------------------------------
# Reading events in order


class Entry(NamedTuple):
    """One event before its record is read: its place in the order (the tuple compares by it: the date's
    sort key, the kind's rank, the record's key) and its date."""

    year: int
    month: int
    day: int
    rank: int
    pk: int
    date: datetime.date
    precision: str

    @property
    def key(self) -> tuple:
        return self[:5]

    @property
    def kind(self) -> Kind:
        return KINDS[self.rank]


def _walk(rows, kind: Kind, descending: bool, chunk: int):
    """The rows' events in date order (newest first when ``descending``), by keyset pages of ``chunk``
    rows (doubling up to MAX_WALK_CHUNK), so no page is read twice and deep pages cost no OFFSET."""
    date = kind.date
    after, at_or_after = ("lt", "lte") if descending else ("gt", "gte")
    rows = rows.order_by(f"-{date}", "-pk") if descending else rows.order_by(date, "pk")
    rows = rows.values_list("pk", date, kind.precision)
    last = None
    while True:
        page = rows
        if last is not None:  # the rows after the last one read: (date, pk) past (last_date, last_pk)
            last_pk, last_date = last
            page = rows.filter(**{f"{date}__{at_or_after}": last_date}).filter(
                Q(**{f"{date}__{after}": last_date}) | Q(**{f"pk__{after}": last_pk}))
        found = list(page[:chunk])
        for pk, on, precision in found:
            yield Entry(*sort_key(on, precision), kind.rank, pk, on, precision)
        if len(found) < chunk:
            return
        last = (found[-1][0], found[-1][1])
        chunk = min(chunk * 2, MAX_WALK_CHUNK)


@dataclass
class Timeline:
    """The events about ``fund``, ``program`` and ``county`` (records or None), oldest first unless
    ``descending``."""

    fund: object = None
    program: object = None
    county: object = None
    descending: bool = False
    counts: dict | None = None  # what count_by_precision() gave (from the cache): empty walks are skipped
    articles: set | None = None  # what articles_about() gave (from the cache)

    def articles_about(self) -> set[int]:
        """The keys of the articles about the records filtered by (see the module's docstring)."""
        if self.articles is None:
            self.articles = _source_ids_about(fund=self.fund, program=self.program, county=self.county)
        return self.articles

    def _sets(self):
        """``(kind, rows)`` for each kind that can have events under these filters."""
        for kind in KINDS:
            rows = _rows_of(kind, fund=self.fund, program=self.program, county=self.county,
                            source_ids=self.articles_about)
            if rows is not None:
                yield kind, rows

    def count_by_precision(self) -> dict[str, list[int]]:
        """``{kind code: [year-only, month-only, day]}``: how many events of each kind there are at each
        precision, one GROUP BY per kind. The view keeps it in the counts cache (core.listing.cached_counts):
        it gives the total, and the walks that would find nothing are not started (a walk over a
        precision no row has would read a whole index, or a whole table where the date has none)."""
        found = {}
        for kind, rows in self._sets():
            groups = [0, 0, 0]
            for row in rows.order_by().values(kind.precision).annotate(n=Count("pk")):
                groups[_group_of(row[kind.precision])] += row["n"]
            found[kind.code] = groups
        return found

    def entries(self, chunk: int = 100):
        """Every event, in order, lazily: each (kind, precision) walked and the walks merged."""
        walks = [
            _walk(rows.filter(_precision_condition(kind, group)), kind, self.descending, chunk)
            for kind, rows in self._sets()
            for group in range(3)
            if self.counts is None or self.counts.get(kind.code, [1, 1, 1])[group]
        ]
        return heapq.merge(*walks, reverse=self.descending)

    def page(self, start: int, size: int) -> list[Event]:
        """Events ``start`` to ``start + size``. Each walk reads ``size`` rows first, then twice as many
        each time the merge needs more: the first page is one query per walk, and a deep page reads at
        most about twice the rows it passes over (keys only) in a few queries more."""
        entries = itertools.islice(self.entries(chunk=max(size, 1)), start, start + size)
        return events_of(list(entries))

    def all(self, batch: int = 500):
        """Every event, read ``batch`` at a time (the CSV)."""
        entries = self.entries(chunk=batch)
        while True:
            found = list(itertools.islice(entries, batch))
            if not found:
                return
            yield from events_of(found)


# ---------------------------------------------------------------------------
# Events with their records


@dataclass
class Event:
    """One dated event, its record, the record it concerns beside it, and the articles behind it."""

    kind: Kind
    date: datetime.date
    precision: str
    record: object  # the fund, program, envoy or article the event links to
    related: object = None  # the fund it became, a program's fund, the county an envoy went to
    detail: str = ""  # an envoy's title there, an article's publisher
    sources: list = field(default_factory=list)

    @property
    def date_display(self) -> str:
        return format_partial_date(self.date, self.precision)

    @property
    def code(self) -> str:
        return self.kind.code

    @property
    def label(self) -> str:
        return str(self.kind.label)

    @property
    def record_type(self) -> str:
        return self.record._meta.model_name

    @property
    def url(self) -> str:
        return self.record.get_absolute_url()


def _sources_of(model, pks) -> dict[int, list]:
    """``{pk: [sources]}`` of the ``model`` rows ``pks``, in one query (titles and slugs only)."""
    through = model.sources.through
    owner = model._meta.model_name
    found = defaultdict(list)
    links = (
        through.objects.filter(**{f"{owner}_id__in": pks})
        .select_related("source").only(f"{owner}_id", "source__slug", "source__title")
        .order_by("source__published", "source__title")
    )
    for link in links:
        found[getattr(link, f"{owner}_id")].append(link.source)
    return found


def events_of(entries: list[Entry]) -> list[Event]:
    """The events of ``entries``, in their order, with their records: a few queries per kind of record,
    however many entries there are."""
    wanted = defaultdict(set)
    for entry in entries:
        wanted[entry.kind.model].add(entry.pk)
    records, sources = {}, {}
    if wanted[Fund]:
        records[Fund] = Fund.objects.select_related("successor").only(
            "slug", "name", "successor__slug", "successor__name").in_bulk(wanted[Fund])
        sources[Fund] = _sources_of(Fund, wanted[Fund])
    if wanted[Program]:
        records[Program] = Program.objects.select_related("fund").only(
            "slug", "name", "fund__slug", "fund__name").in_bulk(wanted[Program])
        sources[Program] = _sources_of(Program, wanted[Program])
    if wanted[Posting]:
        records[Posting] = Posting.objects.select_related("envoy", "county").only(
            "title", "envoy__slug", "envoy__name", "county__slug", "county__name").in_bulk(wanted[Posting])
        sources[Posting] = _sources_of(Posting, wanted[Posting])
    if wanted[Source]:
        records[Source] = Source.objects.only("slug", "title", "publisher").in_bulk(wanted[Source])
    events = []
    for entry in entries:
        row = records[entry.kind.model][entry.pk]
        event = Event(entry.kind, entry.date, entry.precision, record=row)
        if entry.kind.model is Fund:
            event.related = row.successor if entry.kind is FUND_UPGRADED else None
            event.sources = sources[Fund].get(row.pk, [])
        elif entry.kind.model is Program:
            event.related = row.fund
            event.sources = sources[Program].get(row.pk, [])
        elif entry.kind.model is Posting:
            event.record, event.related, event.detail = row.envoy, row.county, row.title
            event.sources = sources[Posting].get(row.pk, [])
        else:
            event.detail = row.publisher
            event.sources = [row]
        events.append(event)
    return events


# ---------------------------------------------------------------------------
# Columns of the CSV and the JSON

COLUMNS = ("date", "event", "event_label", "record_type", "record", "record_slug", "related_type", "related",
           "related_slug", "detail", "sources", "url")


def export_row(event: Event, absolute) -> dict[str, str]:
    """The event as text, one value per column (``absolute``: path → full URL)."""
    related = event.related
    return {
        "date": event.date_display,
        "event": event.code,
        "event_label": event.label,
        "record_type": event.record_type,
        "record": str(event.record),
        "record_slug": event.record.slug,
        "related_type": related._meta.model_name if related is not None else "",
        "related": str(related) if related is not None else "",
        "related_slug": related.slug if related is not None else "",
        "detail": event.detail,
        "sources": "|".join(source.slug for source in event.sources),
        "url": absolute(event.url),
    }


# ---------------------------------------------------------------------------
# The query string


class TimelineForm(forms.Form):
    """``fund``, ``program``, ``county`` (slugs) and ``sort`` (``date``: oldest first, the default;
    ``-date``: newest first). An unknown slug or sort is an error naming the value."""

    fund = SlugChoiceField(queryset=Fund.objects.only("pk", "slug", "name"), required=False, label=_("fund"))
    program = SlugChoiceField(queryset=Program.objects.only("pk", "slug", "name"), required=False,
                              label=_("program"))
    county = SlugChoiceField(queryset=County.objects.only("pk", "slug", "name"), required=False, label=_("county"))
    sort = CodeChoiceField(choices=[("", ""), ("date", _("oldest first")), ("-date", _("newest first"))],
                           required=False, label=_("order"))

    FILTERS = ("fund", "program", "county")

    def timeline(self, **known) -> Timeline:
        """The timeline asked for; ``known``: its ``counts`` and ``articles``, from the cache."""
        data = self.cleaned_data
        return Timeline(fund=data.get("fund"), program=data.get("program"), county=data.get("county"),
                        descending=data.get("sort") == "-date", **known)

    def key_parts(self) -> list:
        """What the events depend on (not their order): the filters' slugs."""
        data = self.cleaned_data
        return ["timeline", [(name, data[name].slug) for name in self.FILTERS if data.get(name) is not None]]


CHOICE_LIMIT = 100
"""How many funds, programs and counties the page's selects offer (by name); any other is reached by its
slug in the address, as every record's page links to its timeline."""


def filter_choices() -> dict[str, list[tuple[str, str]]]:
    """``{filter: [(slug, name), ...]}`` for the page's selects."""
    return {
        name: list(model.objects.order_by("name", "pk").values_list("slug", "name")[:CHOICE_LIMIT])
        for name, model in (("fund", Fund), ("program", Program), ("county", County))
    }
