"""The shared import/export machinery every ``<app>/resources.py`` builds on.

One Resource per model decides the columns for the admin import, the admin export and the
public CSV/JSON export alike, so a file exported anywhere imports back unchanged.

Rules, decided once here:

- **Every exported value is text.** ``export_field`` returns a ``str`` for every column and
  every format: decimals are exact (``303700000000``, ``0.25``; never a float, never
  ``303700000000.0000``), dates keep their precision (``2019``, ``2019-06``, ``2019-06-26``),
  empty is ``""``. A JSON consumer therefore sees strings; that keeps CSV, XLSX and JSON
  byte-for-byte the same values.
- **Formula cells are neutralised on export**: text starting with ``=``, ``+``, ``-``, ``@``, a tab
  or a carriage return is prefixed with ``'`` (numbers such as ``-5`` stay numbers). On import a
  leading ``'`` before one of those characters is taken off again, so a round trip is lossless.
  Pass ``escape_formulae=False`` to ``export_field`` when writing a format no spreadsheet opens.
- **Other rows are referred to by natural key**: the slug (a name is accepted too when it is
  unambiguous; places can be narrowed by the row's ``province``). Many-to-many cells and
  ``aliases`` are ``|``-separated. An unknown or ambiguous key is a row error naming the value.
- **Lookups are cached**: before the rows are read, each foreign-key column reads the rows its keys name
  (by slug or name), one query per KEYS_PER_QUERY distinct keys, so lookups cost no query per row.
- **All or nothing**: an import with any row error (or file error) is rolled back entirely.
- **No lost updates**: the ``version`` column is checked against the database on import; a row
  whose version is stale is a row error, and a saved row's version goes up by one.

Export over any queryset (the public views use the same code as the admin)::

    resource = ProgramResource()
    queryset = ProgramResource.prepare_export_queryset(Program.objects.filter(...))
    header = resource.get_export_headers()
    for obj in queryset.iterator(chunk_size=500):   # or iterate prefetching pages
        row = resource.export_row(obj)               # list[str], formula-escaped
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import functools
import gc
import re
import threading
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from types import SimpleNamespace
from typing import NamedTuple

from diff_match_patch import diff_match_patch
from django.core.exceptions import ValidationError
from django.core.validators import (
    EMPTY_VALUES,
    MaxLengthValidator,
    MaxValueValidator,
    MinValueValidator,
    RegexValidator,
)
from django.db import IntegrityError, connections, models, transaction
from django.db.models import F, Prefetch
from django.db.models.base import ModelState
from django.db.models.expressions import DatabaseDefault
from django.db.models.fields import NOT_PROVIDED
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, gettext_noop
from import_export import fields as ie_fields
from import_export import resources, widgets
from import_export.instance_loaders import CachedInstanceLoader
from simple_history.utils import get_change_reason_from_object

from core.records import SLUG_RE, format_partial_date, parse_partial_date, plain_decimal
from core.search import derived_columns, fill_search_columns

SEPARATOR = "|"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
#: A text cell starting with none of these is taken by cell_text as it is.
_FORMULA_OR_QUOTE = frozenset("=+-@'")
PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


# ---------------------------------------------------------------------------
# The messages of an import
#
# Written in English: files, the command line (load_seeds --check, restore) and the tests read them so. The
# admin shows each in the page's language: translate_message matches a message against IMPORT_MESSAGES and
# translates it (the import pages' import_message filter, the partial-date box); gettext_noop marks them for
# makemessages.

FORMULA = gettext_noop("%(value)s is a spreadsheet formula; write it as '%(text)s if it is meant as text")
NOT_A_SLUG = gettext_noop("%(value)s is not a slug (lowercase letters, digits and hyphens)")
NOT_ONE_OF = gettext_noop("%(value)s is not one of: %(choices)s")
NOT_A_NUMBER = gettext_noop("%(value)s is not a number")
NOT_A_WHOLE_NUMBER = gettext_noop("%(value)s is not a whole number")
UNKNOWN = gettext_noop("unknown %(label)s %(key)s")
UNKNOWN_CHOICE = gettext_noop("unknown %(label)s %(key)s (one of: %(choices)s)")
AMBIGUOUS = gettext_noop("ambiguous %(label)s %(key)s: it could be %(slugs)s; use the slug")
STALE_FILE = gettext_noop("someone else changed this record since this file was exported (the file has version "
                          "%(file)s, the database has version %(database)s)")
MISSING_COLUMNS = gettext_noop("the file lacks the required column(s) %(missing)s; the columns are: %(columns)s")
LINE = gettext_noop("line %(line)s")
EMPTY_SLUG = gettext_noop("the slug is empty")
DUPLICATE_SLUG = gettext_noop("the slug %(key)s appears more than once in this file (%(places)s)")
REQUIRED = gettext_noop("%(field)s is required")
NOT_A_DATE = gettext_noop("not a date: %(value)s (expected YYYY, YYYY-MM or YYYY-MM-DD)")
NO_SUCH_DATE = gettext_noop("not a date: %(value)s (there is no such month or day)")
IMPORT_MESSAGES = (FORMULA, NOT_A_SLUG, NOT_ONE_OF, NOT_A_NUMBER, NOT_A_WHOLE_NUMBER, UNKNOWN_CHOICE, UNKNOWN,
                   AMBIGUOUS, STALE_FILE, MISSING_COLUMNS, LINE, EMPTY_SLUG, DUPLICATE_SLUG, REQUIRED, NOT_A_DATE,
                   NO_SUCH_DATE)


def _pattern(msgid: str) -> re.Pattern:
    parts = re.split(r"%\((\w+)\)s", msgid)  # text, name, text, name, …, text
    # a value never spans "; ", which joins messages
    regex = "".join(re.escape(part) if index % 2 == 0 else f"(?P<{part}>(?:(?!; ).)+?)"
                    for index, part in enumerate(parts))
    return re.compile(regex, re.S)


@functools.cache
def _patterns():
    return [(msgid, _pattern(msgid)) for msgid in IMPORT_MESSAGES]


def _translate_one(text: str):
    for msgid, pattern in _patterns():
        match = pattern.fullmatch(text)
        if match:
            values = match.groupdict()
            for name in ("label", "field"):  # a model's or field's code name ("fund"): its verbose name's msgid
                if name in values:
                    values[name] = gettext(values[name])
            if "places" in values:  # "line 2, line 3"
                values["places"] = "、".join(_translate_one(place) or place for place in values["places"].split(", "))
            return gettext(msgid) % values
    return None


def translate_message(text) -> str:
    """A message of an import (one of IMPORT_MESSAGES, written in English) in the active language; messages
    joined by "; " one by one; any other text unchanged (a rule's message is translated where it is made)."""
    text = str(text)
    whole = _translate_one(text)
    if whole is not None:
        return whole
    parts = text.split("; ")
    for cut in range(len(parts) - 1, 0, -1):  # the longest leading run that is one message
        head = _translate_one("; ".join(parts[:cut]))
        if head is not None:
            return f"{head}; {translate_message('; '.join(parts[cut:]))}"
    return text


# ---------------------------------------------------------------------------
# The garbage collector during a bulk import

_collector = {"depth": 0, "was_enabled": False}
_collector_lock = threading.Lock()


@contextlib.contextmanager
def collection_paused():
    """Python's cyclic garbage collector paused while a bulk import runs (imports nest; threads share the count).

    An import makes hundreds of thousands of objects that live until it ends (cells, rows, instances, kept rows)
    and few cycles; the collector would walk them again and again (some 300 young and two full collections for
    10,000 rows, an eighth of the preview). Memory is freed as before, by reference counts; the few cycles
    wait for the collector's next pass after the import."""
    with _collector_lock:
        if _collector["depth"] == 0:
            _collector["was_enabled"] = gc.isenabled()
            gc.disable()
        _collector["depth"] += 1
    try:
        yield
    finally:
        with _collector_lock:
            _collector["depth"] -= 1
            if _collector["depth"] == 0 and _collector["was_enabled"]:
                gc.enable()


#: SQLite's page cache while an import writes, in KiB (its default is 2,000 KiB): the new rows go into a dozen
#: indexes and the search index of a large table, at places all over them.
WRITE_PAGE_CACHE_KIB = 64 * 1024


@contextlib.contextmanager
def page_cache(using, kib=WRITE_PAGE_CACHE_KIB):
    """SQLite: a page cache of ``kib`` KiB for this connection while a bulk write (an import, generate_demo)
    writes and commits, then the one it had; never made smaller. Other databases: nothing."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = int(cursor.fetchone()[0])  # negative: KiB; positive: pages
        cursor.execute("PRAGMA page_size")
        current = -before if before < 0 else before * int(cursor.fetchone()[0]) // 1024
        if current < kib:  # never made smaller
            cursor.execute(f"PRAGMA cache_size = -{kib}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {before}")


# ---------------------------------------------------------------------------
# Cell text


def escape_formula(text: str) -> str:
    """``=SUM(A1)`` → ``'=SUM(A1)``; ``-5`` and ``普安县`` unchanged."""
    if isinstance(text, str) and text.startswith(FORMULA_TRIGGERS) and not PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def unescape_formula(text: str) -> str:
    """Inverse of :func:`escape_formula` for text read back from a file."""
    if isinstance(text, str) and len(text) > 1 and text[0] == "'" and text[1] in FORMULA_TRIGGERS:
        return text[1:]
    return text


def cell_text(value, strict=True) -> str:
    """Any cell value (CSV text, an XLSX number or date, JSON) as the text it stands for.

    ``strict``: a cell that is a spreadsheet formula (``=SUM(A1)``, ``@cmd``, ``+x``) is refused:
    it may have been computed into something else by the spreadsheet. Text meant to start with
    one of those characters is written with a leading ``'`` (as the export does).
    """
    if type(value) is str:  # a CSV cell: the common case first, the same checks as below
        if not value or value[0] not in _FORMULA_OR_QUOTE:
            return value  # no formula to refuse, no quote to take off
        if strict and value.startswith(("=", "+", "-", "@")) and not PLAIN_NUMBER.match(value.strip()):
            raise ValueError(FORMULA % {"value": repr(value[:30]), "text": value[:30]})
        return unescape_formula(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return str(value)
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    text = str(value)
    if strict and text.startswith(("=", "+", "-", "@")) and not PLAIN_NUMBER.match(text.strip()):
        raise ValueError(FORMULA % {"value": repr(text[:30]), "text": text[:30]})
    return unescape_formula(text)


def split_list(value) -> list[str]:
    """``a|b`` (or one item per line) → ``["a", "b"]``, blanks dropped."""
    if isinstance(value, (list, tuple)):
        items = [cell_text(item) for item in value]
    else:
        items = re.split(r"[|\n]", cell_text(value).replace("\r\n", "\n"))
    return [item.strip() for item in items if item and item.strip()]


# ---------------------------------------------------------------------------
# Widgets: clean() turns a cell into a Python value or raises ValueError naming the cell;
# render() turns a value into text.


class TextWidget(widgets.Widget):
    """Free text, taken exactly as written (no trimming: quotes must stay verbatim)."""

    def clean(self, value, row=None, **kwargs):
        return cell_text(value)

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else str(value)


class KeyWidget(TextWidget):
    """A slug: trimmed, lowercase ASCII with hyphens."""

    def clean(self, value, row=None, **kwargs):
        text = cell_text(value).strip()
        if text and not SLUG_RE.match(text):
            raise ValueError(NOT_A_SLUG % {"value": repr(text)})
        return text


class AliasesWidget(TextWidget):
    """Aliases are one per line in the database and ``|``-separated in a file."""

    def clean(self, value, row=None, **kwargs):
        return "\n".join(split_list(value))

    def render(self, value, obj=None, **kwargs):
        return SEPARATOR.join(a.strip() for a in (value or "").splitlines() if a.strip())


class ChoiceWidget(TextWidget):
    """One of a model field's choice codes (``jiaoyu``); blank gives the field's default."""

    def __init__(self, choices, default=""):
        super().__init__()
        self.codes = [code for code, _label in choices]
        self.default = default

    def clean(self, value, row=None, **kwargs):
        text = cell_text(value).strip()
        if not text:
            return self.default
        if text not in self.codes:
            raise ValueError(NOT_ONE_OF % {"value": repr(text), "choices": ", ".join(self.codes)})
        return text


class DecimalTextWidget(TextWidget):
    """An exact amount: text in, ``Decimal`` out, never through a float; ``1,000`` is accepted."""

    def clean(self, value, row=None, **kwargs):
        if isinstance(value, Decimal):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return Decimal(value)
        text = cell_text(value).strip().replace(",", "").replace("\u00a0", "").replace(" ", "")
        if not text:
            return None
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(NOT_A_NUMBER % {"value": repr(cell_text(value))}) from None
        if not number.is_finite():
            raise ValueError(NOT_A_NUMBER % {"value": repr(cell_text(value))})
        return number

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        return plain_decimal(value)


class IntegerTextWidget(TextWidget):
    def clean(self, value, row=None, **kwargs):
        text = cell_text(value).strip()
        if not text:
            return None
        if not re.fullmatch(r"[+-]?\d+", text):
            raise ValueError(NOT_A_WHOLE_NUMBER % {"value": repr(text)})
        return int(text)


class PartialDateWidget(TextWidget):
    """``2019``/``2019-06``/``2019-06-26`` ⇄ ``(date, precision)``."""

    def clean(self, value, row=None, **kwargs):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = cell_text(value)
        return parse_partial_date(value)  # raises ValueError naming the text

    def render(self, value, obj=None, **kwargs):
        if not value:
            return ""
        date, precision = value
        return format_partial_date(date, precision)


#: Rows a preview shows with their changed cells; the others are counted ("and N more rows not shown"). Every
#: problem is listed whatever the number.
PREVIEW_ROWS = 100

KEYS_PER_QUERY = 400  # keys looked up per query (SQLite takes 999 parameters; a key may be a slug or a name)

# How the bulk path reads a column (RecordResource.column_plan); compared by identity.
_TEXT, _DATE, _KEY, _CLEAN, _CLEAN_KWARGS, _SAVE = "text", "date", "key", "clean", "clean with keywords", "save"


class _Lookup:
    """The rows of one model that the keys of an import name, found by slug or (unambiguous) name.

    :meth:`prefetch` reads the rows every key of a column could mean (its slug, or a name) in one query
    per KEYS_PER_QUERY distinct keys; a key asked for later costs one query the first time."""

    def __init__(self, model, name_fields, select_related=()):
        self.model = model
        self.name_fields = name_fields
        self.select_related = select_related
        self.by_slug = {}
        self.by_name = defaultdict(list)
        self.asked = set()

    def queryset(self):
        queryset = self.model._base_manager.select_related(*self.select_related)
        # Not the derived search columns a lookup never needs, nor the time stamps (auto_now, auto_now_add: read
        # and converted for every row, and only read again when the row is saved, which a lookup's never is).
        stamps = [f.name for f in self.model._meta.concrete_fields
                  if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]
        queryset = queryset.defer(*derived_columns(self.model), *stamps)
        if self.model._meta.ordering:
            queryset = queryset.order_by()
        return queryset

    def prefetch(self, keys):
        keys = [key for key in dict.fromkeys(keys) if key and key not in self.asked]
        for start in range(0, len(keys), KEYS_PER_QUERY):
            chunk = keys[start:start + KEYS_PER_QUERY]
            condition = models.Q(slug__in=chunk)
            for name_field in self.name_fields:
                condition |= models.Q(**{f"{name_field}__in": chunk})
            for obj in self.queryset().filter(condition):
                self.add(obj)
            self.asked.update(chunk)

    def add(self, obj):
        self.by_slug[obj.slug] = obj
        for name_field in self.name_fields:
            name = getattr(obj, name_field, "")
            if name and obj not in self.by_name[name]:
                self.by_name[name].append(obj)

    def find(self, key):
        """Every row this key could mean: by slug first, then by name."""
        if key not in self.asked:
            self.prefetch([key])
        if key in self.by_slug:
            return [self.by_slug[key]]
        if key in self.by_name:
            return list(self.by_name[key])
        # A row saved earlier in this same import (a parent program defined above its
        # children) is not in the cache yet: one query on a miss, then cached.
        obj = self.queryset().filter(slug=key).first()
        if obj is not None:
            self.add(obj)
            return [obj]
        return []


class SlugForeignKeyWidget(widgets.ForeignKeyWidget):
    """A foreign key by slug (or unambiguous name), looked up in a per-import cache.

    ``narrow_by``: a row column (``province``) whose value, a slug or name, picks one place
    when a name is shared (several 城关镇 …); the candidate's attribute of the same name is compared.
    """

    def __init__(self, model, label=None, name_fields=("name",), narrow_by=None, **kwargs):
        super().__init__(model, field="slug", **kwargs)
        self.label = label or model._meta.model_name
        self.name_fields = name_fields
        self.narrow_by = narrow_by
        self._lookup = None

    def __deepcopy__(self, memo):
        # Each Resource instance (one import) gets its own empty cache.
        clone = self.__class__.__new__(self.__class__)
        clone.__dict__.update(self.__dict__)
        clone._lookup = None
        return clone

    @property
    def lookup(self):
        if self._lookup is None:
            related = (self.narrow_by,) if self.narrow_by else ()
            self._lookup = _Lookup(self.model, self.name_fields, related)
        return self._lookup

    def resolve(self, key, row=None):
        candidates = self.lookup.find(key)
        if len(candidates) > 1 and self.narrow_by and row and cell_text(row.get(self.narrow_by)).strip():
            scope = cell_text(row.get(self.narrow_by)).strip()
            candidates = [
                c for c in candidates
                if getattr(c, self.narrow_by) is not None
                and scope in (getattr(c, self.narrow_by).slug, str(getattr(c, self.narrow_by)))
            ]
        if not candidates:
            raise ValueError(UNKNOWN % {"label": self.label, "key": repr(key)})
        if len(candidates) > 1:
            slugs = ", ".join(sorted(c.slug for c in candidates))
            raise ValueError(AMBIGUOUS % {"label": self.label, "key": repr(key), "slugs": slugs})
        return candidates[0]

    def clean(self, value, row=None, **kwargs):
        key = cell_text(value).strip()
        if not key:
            return None
        return self.resolve(key, row)

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else value.slug


class SlugManyToManyWidget(widgets.ManyToManyWidget):
    """Many-to-many by ``|``-separated slugs; every unknown value is named in one error."""

    def __init__(self, model, label=None, name_fields=("name",), **kwargs):
        super().__init__(model, separator=SEPARATOR, field="slug", **kwargs)
        self.single = SlugForeignKeyWidget(model, label=label, name_fields=name_fields)

    def __deepcopy__(self, memo):
        clone = self.__class__.__new__(self.__class__)
        clone.__dict__.update(self.__dict__)
        clone.single = self.single.__deepcopy__(memo)
        return clone

    def clean(self, value, row=None, **kwargs):
        found, problems = [], []
        for key in split_list(value):
            try:
                obj = self.single.resolve(key)
            except ValueError as exc:
                problems.append(str(exc))
                continue
            if obj not in found:
                found.append(obj)
        if problems:
            raise ValueError("; ".join(problems))
        return found

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        return SEPARATOR.join(sorted(item.slug for item in value.all()))


# ---------------------------------------------------------------------------
# Fields


class TextField(ie_fields.Field):
    """A column whose attribute and column share a name; blank cells are saved as given."""

    def __init__(self, attribute, widget=None, column_name=None, **kwargs):
        super().__init__(attribute=attribute, column_name=column_name or attribute,
                         widget=widget or TextWidget(), **kwargs)


class PartialDateField(TextField):
    """One column, two model fields: ``start`` and ``start_precision``."""

    def __init__(self, attribute, column_name=None, **kwargs):
        super().__init__(attribute, widget=PartialDateWidget(), column_name=column_name, **kwargs)

    @property
    def precision_attribute(self):
        return f"{self.attribute}_precision"

    def get_value(self, instance):
        date = getattr(instance, self.attribute, None)
        if date is None:
            return None
        return (date, getattr(instance, self.precision_attribute, ""))

    def save(self, instance, row, is_m2m=False, **kwargs):
        date, precision = self.clean(row, **kwargs)
        setattr(instance, self.attribute, date)
        setattr(instance, self.precision_attribute, precision)


class VersionField(TextField):
    """The version the file was exported at; a stale one refuses the row instead of overwriting."""

    def __init__(self, **kwargs):
        super().__init__("version", widget=IntegerTextWidget(), **kwargs)

    def save(self, instance, row, is_m2m=False, **kwargs):
        version = self.clean(row, **kwargs)
        if version is None or instance.pk is None:
            return  # a new row, or a file that does not say which version it edits
        if version != instance.version:
            raise ValueError(STALE_FILE % {"file": version, "database": instance.version})


class StaleRecordError(Exception):
    """The row changed in the database since the editor (form or file) read it."""

    MESSAGE = "someone else changed this record since you opened it"

    def __init__(self, instance=None, message=None):
        self.instance = instance
        super().__init__(message or self.MESSAGE)


def save_if_unchanged(instance, *, expected_version: int, **save_kwargs):
    """Save ``instance`` only if its row still has ``expected_version``; raise StaleRecordError if not.

    The conditional ``UPDATE … WHERE version = expected`` takes the row lock, so of two
    editors holding the same version exactly one wins; the other's save changes nothing.
    On success the version is ``expected_version + 1``.
    """
    model = type(instance)
    with transaction.atomic(using=instance._state.db or "default"):
        bumped = model._base_manager.filter(pk=instance.pk, version=expected_version).update(
            version=F("version") + 1
        )
        if not bumped:
            raise StaleRecordError(instance)
        instance.version = expected_version + 1
        instance.save(**save_kwargs)
    return instance


# ---------------------------------------------------------------------------
# The base Resource


class RecordResource(resources.ModelResource):
    """Base for every Resource over a :class:`core.records.Record` model.

    Subclasses declare their columns as fields and list them in ``Meta.fields`` (that order is
    the column order); ``required_columns`` are the columns a file must have.
    """

    slug = TextField("slug", widget=KeyWidget())
    aliases = TextField("aliases", widget=AliasesWidget())
    version = VersionField()

    required_columns: tuple[str, ...] = ("slug",)
    #: select_related / prefetch_related an export needs so that it costs a fixed number of queries.
    export_select_related: tuple[str, ...] = ()
    export_prefetch_related: tuple[str, ...] = ()

    class Meta:
        import_id_fields = ["slug"]
        instance_loader_class = CachedInstanceLoader
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True
        use_transactions = True
        skip_html_diff = False

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # Options this import may change for itself (the HTML diff is for the preview only).
        self._meta = copy.copy(self._meta)
        self._history_rows = {"+": [], "~": []}

    # -- export --------------------------------------------------------------

    @classmethod
    def prepare_export_queryset(cls, queryset):
        """``queryset`` with the joins and prefetches the export columns need, without the derived
        search columns (they can be larger than the row)."""
        queryset = queryset.defer(*derived_columns(queryset.model))
        if cls.export_select_related:
            queryset = queryset.select_related(*cls.export_select_related)
            # A related row is named by its slug: its derived columns and an article's text stay behind.
            queryset = queryset.defer(*(
                f"{path}__{name}" for path in cls.export_select_related
                for name in heavy_columns(related_model(queryset.model, path))
            ))
        if cls.export_prefetch_related:
            # Lookups the list's queryset prefetches already (the counties list: designations) stay as they are.
            lookups = {getattr(done, "prefetch_to", done): None for done in queryset._prefetch_related_lookups}
            for path in cls.export_prefetch_related:
                parts = path.split("__")
                for depth in range(1, len(parts) + 1):
                    lookup = "__".join(parts[:depth])
                    related = related_model(queryset.model, lookup)
                    # Linked records are exported by slug (SlugManyToManyWidget): read nothing else.
                    rows = (related._base_manager.only("pk", "slug") if hasattr(related, "slug")
                            else related._base_manager.defer(*heavy_columns(related)))
                    lookups.setdefault(lookup, Prefetch(lookup, queryset=rows))
            queryset = queryset.prefetch_related(*(p for p in lookups.values() if p is not None))
        return queryset

    def get_queryset(self):
        return self.prepare_export_queryset(self._meta.model.objects.all())

    def filter_export(self, queryset, **kwargs):
        return self.prepare_export_queryset(queryset)

    def export_field(self, field, instance, escape_formulae=True, **kwargs):
        kwargs.pop("force_native_type", None)  # values are always text, whatever the format
        value = super().export_field(field, instance, **kwargs)
        value = "" if value is None else str(value)
        return escape_formula(value) if escape_formulae else value

    def export_row(self, instance, escape_formulae=True) -> list[str]:
        """One record as the list of its column texts (the header is ``get_export_headers()``)."""
        return [self.export_field(f, instance, escape_formulae=escape_formulae) for f in self.get_export_fields()]

    @classmethod
    def json_extras(cls, rows, absolute=str) -> list[dict]:
        """What the JSON of each of ``rows`` (one page) carries besides the columns: nothing here; a Resource
        whose records have parts a table cannot hold (an indicator's series) adds them, for the page at once.
        ``absolute`` makes a path an absolute URL (``request.build_absolute_uri``)."""
        return [{} for _row in rows]

    @classmethod
    def json_extras_schema(cls) -> dict:
        """``{name: JSON Schema}`` of what :meth:`json_extras` adds, for ``/openapi.json`` (core.openapi); a
        Resource that overrides ``json_extras`` overrides this too (tracker/tests/test_api.py checks real answers)."""
        return {}

    # -- import --------------------------------------------------------------

    def import_data(self, dataset, dry_run=False, raise_errors=False, use_transactions=None,
                    collect_failed_rows=False, rollback_on_validation_errors=False, **kwargs):
        # Nobody sees the row diffs of the real import (the preview showed them).
        self._meta.skip_html_diff = self._meta.skip_html_diff or not dry_run
        if self.takes_bulk_path():
            return self.import_bulk(dataset, dry_run=dry_run, raise_errors=raise_errors, **kwargs)
        kwargs.pop("kept", None)  # kept rows are the bulk path's
        load = kwargs.pop("load_dataset", None)
        if dataset is None and load is not None:
            dataset = load()
        # All or nothing: a single invalid row rolls the whole file back.
        return super().import_data(
            dataset, dry_run=dry_run, raise_errors=raise_errors, use_transactions=True,
            collect_failed_rows=collect_failed_rows, rollback_on_validation_errors=True, **kwargs,
        )

    def import_data_inner(self, dataset, dry_run, raise_errors, using_transactions, collect_failed_rows,
                          **kwargs):
        # A file that cannot be imported at all (a required column missing) is one error,
        # not the same complaint on every row.
        try:
            self.check_file(dataset)
        except ValueError as exc:
            result = self.get_result_class()()
            result.diff_headers = self.get_diff_headers()
            result.total_rows = len(dataset)
            self.handle_import_error(result, exc, raise_errors)
            result.problems = self.problems(result)
            return result
        self.prefetch_keys(dataset)
        return super().import_data_inner(dataset, dry_run, raise_errors, using_transactions,
                                         collect_failed_rows, **kwargs)

    def prefetch_keys(self, dataset, data_rows=None):
        """Read the rows every foreign-key and many-to-many column names, one query per column (per
        KEYS_PER_QUERY distinct keys), before any row is imported. ``data_rows``: the dataset's rows, when the
        caller has them already (a Dataset makes a tuple of a row each time it is iterated)."""
        headers = list(dataset.headers or [])
        if data_rows is None:
            data_rows = dataset[:]
        for field in self.get_import_fields():
            widget = field.widget
            if field.column_name not in headers:
                continue
            index = headers.index(field.column_name)
            if isinstance(widget, SlugManyToManyWidget):
                keys = {key for data_row in data_rows for key in _quiet(split_list, data_row[index], [])}
                widget.single.lookup.prefetch(keys)
            elif isinstance(widget, SlugForeignKeyWidget):
                keys = {(cell if type(cell) is str and (not cell or cell[0] not in _FORMULA_OR_QUOTE)
                         else _quiet(cell_text, cell, "")).strip()  # (cell_text takes such a text as it is)
                        for cell in (data_row[index] for data_row in data_rows)}
                widget.lookup.prefetch(keys)

    def check_file(self, dataset, data_rows=None):
        """Header checks, and the slugs that occur twice; raises ValueError for the whole file. ``data_rows``:
        as for :meth:`prefetch_keys`."""
        # Where each data row starts in the file (the admin's readers record it; a plain
        # Dataset has the header on line 1 and one row per line).
        self._lines = list(getattr(dataset, "line_numbers", None) or [])
        headers = [cell_text(h, strict=False).strip().lstrip("\ufeff") for h in (dataset.headers or [])]
        dataset.headers = headers
        missing = [c for c in self.required_columns if c not in headers]
        if missing:
            raise ValueError(MISSING_COLUMNS % {"missing": ", ".join(missing),
                                                "columns": ", ".join(self.get_export_headers())})
        # A slug twice in one file would make the second row silently win.
        self._duplicates = {}
        index = headers.index("slug")
        numbers = defaultdict(list)
        for number, data_row in enumerate(dataset[:] if data_rows is None else data_rows, 1):
            key = cell_text(data_row[index], strict=False).strip()
            if key:
                numbers[key].append(number)
        self._duplicates = {key: [self.where(number) for number in found] for key, found in numbers.items()
                            if len(found) > 1}

    def where(self, row_number) -> str:
        """``line 7`` (the header is line 1) or ``record 3`` for a JSON file."""
        lines = getattr(self, "_lines", None)
        if lines and row_number and 1 <= row_number <= len(lines):
            found = lines[row_number - 1]
            return LINE % {"line": found} if isinstance(found, int) else str(found)
        return LINE % {"line": row_number + 1} if row_number else ""

    def before_import_row(self, row, **kwargs):
        key = cell_text(row.get("slug"), strict=False).strip()
        if not key:
            raise ValidationError({"slug": EMPTY_SLUG})
        if key in getattr(self, "_duplicates", {}):
            places = ", ".join(self._duplicates[key])
            raise ValidationError({"slug": DUPLICATE_SLUG % {"key": repr(key), "places": places}})

    def after_import(self, dataset, result, **kwargs):
        super().after_import(dataset, result, **kwargs)
        result.problems = self.problems(result)
        if not kwargs.get("dry_run") and not result.problems and not kwargs.get("bulk"):
            self.write_history(user=kwargs.get("user"), file_name=kwargs.get("file_name"))

    def problems(self, result) -> list[dict]:
        """Every error of an import, file-level first, then by row: ``{where, column, message}``."""
        found = [{"where": "", "column": "", "message": str(e.error)} for e in result.base_errors]
        by_row = []
        for row in result.invalid_rows:
            for column, messages in row.error_dict.items():
                for message in messages:
                    column_name = "" if column == "__all__" else self._column_of(column)
                    by_row.append((row.number, column_name, message))
        for row in result.error_rows:
            for error in row.errors:
                by_row.append((row.number, "", str(error.error)))
        for number, column, message in sorted(by_row, key=lambda item: (item[0], item[1])):
            found.append({"where": self.where(number), "column": column, "message": message})
        return found

    def _column_of(self, attribute):
        for field in self.fields.values():
            if field.attribute == attribute:
                return field.column_name
        return attribute

    def import_instance(self, instance, row, **kwargs):
        errors = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        # Check many-to-many cells now, so an unknown slug there is a row error like any other
        # (import-export would otherwise only meet it while saving).
        for field in self.get_import_fields():
            if isinstance(field.widget, widgets.ManyToManyWidget) and field.column_name in row:
                try:
                    field.clean(row, **kwargs)
                except ValueError as exc:
                    errors[field.attribute] = ValidationError(str(exc), code="invalid")
        errors.update(self.validate_row(instance, row, errors))
        if errors:
            raise ValidationError(errors)

    def get_import_fields(self):
        # Asked several times per row; the answer never changes within one import.
        if getattr(self, "_import_fields", None) is None:
            self._import_fields = super().get_import_fields()
        return self._import_fields

    def validate_row(self, instance, row, errors) -> dict:
        """Rules across several columns; return ``{field: message}``. Override per model."""
        return {}

    def skip_row(self, instance, original, row, import_validation_errors=None):
        if import_validation_errors or original is None or original.pk is None:
            return False
        return super().skip_row(instance, original, row, import_validation_errors)

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        """The model's own validation, without the per-row queries that make big files slow.

        Foreign keys were resolved from the lookup cache, so they exist (Django would check
        each with a query); the slug's uniqueness is known from the instance loader and the
        duplicate check; check constraints are enforced by the database and, with readable
        messages, by the record's ``rule_errors`` (see :class:`core.records.Record`) or ``validate_row``.
        """
        errors = dict(import_validation_errors or {})
        relations, names = _relations(type(instance))
        exclude = set(errors) | names
        for field in relations:
            if field.name not in errors and not field.null and getattr(instance, field.attname) is None:
                errors[field.name] = ValidationError(REQUIRED % {"field": field.name}, code="required")
        try:
            if type(instance).clean_fields is models.Model.clean_fields:
                clean_fields(instance, exclude)
            else:
                instance.clean_fields(exclude=exclude)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        # The record's rules across fields (what its clean() runs in the admin), except those that read a
        # cell that could not be read: the message about that cell says enough.
        rules = instance.rule_errors(skip=set(errors))
        if rules:
            errors = ValidationError(rules).update_error_dict(errors)
        if validate_unique and not errors and has_unique_checks(type(instance)):
            unique_exclude = set(errors) | {"slug"}
            try:
                instance.validate_unique(exclude=unique_exclude)
            except ValidationError as exc:
                errors = exc.update_error_dict(errors)
            for constraint in instance._meta.constraints:
                if isinstance(constraint, models.UniqueConstraint):
                    try:
                        constraint.validate(type(instance), instance, exclude=unique_exclude)
                    except ValidationError as exc:
                        errors = exc.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    @property
    def defers_history(self) -> bool:
        """Whether history rows are written in bulk at the end (models without many-to-many links;
        for the others each link change is recorded as it happens)."""
        model = self._meta.model
        return hasattr(model._meta, "simple_history_manager_attribute") and not model._history_m2m_fields

    def do_instance_save(self, instance, is_create):
        defer = self.defers_history
        if defer:
            instance.skip_history_when_saving = True
        try:
            if is_create:
                instance.version = 1
                instance.save(force_insert=True)
            else:
                # ``instance.version`` is still the version read when the import started.
                save_if_unchanged(instance, expected_version=instance.version)
        finally:
            if defer:
                del instance.skip_history_when_saving
        if defer:
            self._history_rows["+" if is_create else "~"].append(instance)

    def before_save_instance(self, instance, row, **kwargs):
        user = kwargs.get("user")
        if user is not None and getattr(user, "pk", None):
            instance._history_user = user
        instance._change_reason = f"import of {kwargs.get('file_name') or 'a file'}"[:100]

    def import_row(self, row, instance_loader, **kwargs):
        result = super().import_row(row, instance_loader, **kwargs)
        for error in result.errors:
            if isinstance(error.error, StaleRecordError):
                error.error = StaleRecordError(message=(
                    "someone else changed this record while the file was being imported; nothing was saved"
                ))
        return result


    # -- the bulk path ---------------------------------------------------------
    #
    # import-export imports a file row by row: a query or more per row to load it, a save (an INSERT, the
    # search index's trigger, a history INSERT) per row, and the diff of every row. The bulk path runs the
    # same per-row steps in memory (the widgets' clean, import_instance, validate_row, validate_instance
    # with the record's rule_errors, skip_row), with the rows of the file loaded in one query per
    # KEYS_PER_QUERY slugs, then writes every new row in one INSERT … executemany, every changed row in one
    # UPDATE … WHERE version = <the version read> executemany, their history in one more, in one
    # transaction. The preview writes nothing; the confirm runs every check again inside its transaction.

    #: Whether imports of this resource may take the bulk path (see :meth:`takes_bulk_path`).
    bulk_import = True

    #: Hooks import-export calls while saving a row; a resource overriding one keeps the per-row path.
    ROW_SAVE_HOOKS = ("save_instance", "do_instance_save", "before_save_instance", "after_save_instance",
                      "save_m2m", "import_row", "import_field", "import_data_inner", "before_import",
                      "after_import_row", "for_delete", "get_or_init_instance", "get_instance")

    def takes_bulk_path(self) -> bool:
        """The bulk path is for records without many-to-many links (whose history keeps them), no link to
        their own model (a row may name one defined above it) and no resource hook that saves rows."""
        model = self._meta.model
        if not self.bulk_import or model._meta.local_many_to_many or not self.defers_history:
            return False
        if any(getattr(type(self), hook) is not getattr(RecordResource, hook) for hook in self.ROW_SAVE_HOOKS):
            return False
        for field in self.get_import_fields():
            if isinstance(field.widget, widgets.ManyToManyWidget):
                return False
            if isinstance(field.widget, SlugForeignKeyWidget) and field.widget.model is model:
                return False
        return True

    def import_bulk(self, dataset, dry_run=False, raise_errors=False, kept=None, load_dataset=None, **kwargs):
        """Import ``dataset`` through the bulk path: a Result like import-export's, all or nothing.

        The preview (``dry_run``) leaves on its result, as ``result.kept``, the rows it checked, ready to write
        (see :meth:`kept_rows`), with the data generation it read before checking any. The confirm may pass
        them back as ``kept`` (the admin keeps them on the server, tied to the upload and its user): when the
        data generation is still the one they were checked at (nothing was committed since), they are written
        as they are; otherwise, or when writing them meets a changed row or a taken slug, every row is checked
        again, as without them. ``dataset`` may then be None and ``load_dataset`` read it when it is needed."""
        with collection_paused():
            return self._import_bulk_paused(dataset, dry_run, raise_errors, kept, load_dataset, **kwargs)

    def _import_bulk_paused(self, dataset, dry_run, raise_errors, kept, load_dataset, **kwargs):
        using = self.get_db_connection_name()
        kwargs.update(dry_run=dry_run, using_transactions=not dry_run, bulk=True)
        if dry_run:
            generation = data_generation()  # before any row is read: a commit after it makes the confirm check again
            result = self._import_bulk(dataset, False, raise_errors, **kwargs)  # reads only: no transaction
            if getattr(result, "kept", None) is not None:
                result.kept["generation"] = generation
            return result
        try:
            with page_cache(using), transaction.atomic(using=using):
                result = None
                # (A resource with its own after_import sees the file: its rows are checked again.)
                if kept is not None and kept.get("generation") == data_generation() and (
                        dataset is None or len(dataset) == kept["total"]) and (
                        type(self).after_import is RecordResource.after_import):
                    try:
                        with transaction.atomic(using=using):  # a savepoint: a failed write checks everything again
                            result = self.import_kept(kept, **kwargs)
                    except (StaleRecordError, IntegrityError):
                        result = None
                if result is None:
                    if dataset is None:
                        dataset = load_dataset()
                    result = self._import_bulk(dataset, True, raise_errors, **kwargs)
                if result.has_errors() or result.has_validation_errors() or result.problems:
                    transaction.set_rollback(True, using=using)
        except (StaleRecordError, IntegrityError):
            # Another writer got in between (a row changed since it was read, a slug taken): nothing was written.
            result = self.get_result_class()()
            result.diff_headers = self.get_diff_headers()
            result.total_rows = kept["total"] if dataset is None else len(dataset)
            self.handle_import_error(result, StaleRecordError(message=(
                "someone else changed these records while the file was being imported; nothing was saved"
            )), raise_errors)
            result.problems = self.problems(result)
        return result

    def _import_bulk(self, dataset, write, raise_errors, **kwargs):
        result = self.get_result_class()()
        result.diff_headers = self.get_diff_headers()
        result.total_rows = len(dataset)
        data_rows = dataset[:]  # each row's tuple, made once
        try:
            self.check_file(dataset, data_rows)
        except ValueError as exc:
            self.handle_import_error(result, exc, raise_errors)
            result.problems = self.problems(result)
            return result
        self.prefetch_keys(dataset, data_rows)
        headers = list(dataset.headers)
        rows = [dict(zip(headers, data_row, strict=False)) for data_row in data_rows]
        existing = self.existing_instances(rows, headers, lock=write)
        html = not self._meta.skip_html_diff
        store = bool(kwargs.get("retain_instance_in_row_result") or self._meta.store_instance)
        fields = self.get_import_fields()
        plan = self.column_plan(headers)
        new_instance = self.instance_maker()
        created, changed, order = [], [], []
        diffed = 0
        for number, row in enumerate(rows, 1):
            kwargs["row_number"] = number
            row_result = self.get_row_result_class()()
            try:
                self.before_import_row(row, **kwargs)
                instance = existing.get(cell_text(row.get("slug"), strict=False).strip())
                new = instance is None
                if new:
                    instance, original = new_instance(row), None
                    row_result.import_type = row_result.IMPORT_TYPE_NEW
                else:
                    original = copy.copy(instance)  # a model's copy has its own field cache
                    row_result.import_type = row_result.IMPORT_TYPE_UPDATE
                errors = {}
                try:
                    if plan is None:
                        self.import_instance(instance, row, **kwargs)
                    else:
                        self.import_planned(instance, row, plan, kwargs)
                except ValidationError as exc:
                    errors = exc.update_error_dict(errors)
                if self.skip_row(instance, original, row, errors):
                    row_result.import_type = row_result.IMPORT_TYPE_SKIP
                    order.append(("skip", instance))
                else:
                    self.validate_instance(instance, errors)
                    (created if new else changed).append((instance, row_result))
                    order.append(("new" if new else "update", instance))
                row_result.add_instance_info(instance)
                if store:
                    row_result.instance = instance
                if not new:
                    row_result.original = original
                if html and diffed < PREVIEW_ROWS:  # the preview shows the first rows' changes, counts the others
                    diffed += 1
                    row_result.diff = [
                        diff_html("" if original is None else field.export(original), field.export(instance),
                                  new)
                        for field in fields
                    ]
            except ValidationError as exc:
                row_result.import_type = row_result.IMPORT_TYPE_INVALID
                row_result.validation_error = exc
            except Exception as exc:  # as import-export: an unexpected error is that row's error
                if raise_errors:
                    raise
                row_result.import_type = row_result.IMPORT_TYPE_ERROR
                row_result.errors.append(self.get_error_result_class()(exc, row=row, number=number))
            result.increment_row_result_total(row_result)
            if row_result.errors:
                result.append_error_row(number, row, row_result.errors)
            elif row_result.validation_error:
                result.append_invalid_row(number, row, row_result.validation_error)
            if row_result.import_type != row_result.IMPORT_TYPE_SKIP or self._meta.report_skipped:
                result.append_row_result(row_result)
        if not (result.base_errors or result.has_errors() or result.has_validation_errors()):
            kept = self.kept_rows([i for i, _ in created], [i for i, _ in changed], order, len(dataset))
            if write:
                for (instance, row_result), pk in zip(created, self.write_kept(kept, **kwargs), strict=True):
                    instance.pk = row_result.object_id = pk
                    instance._state.adding = False
            else:
                result.kept = kept
        self.after_import(dataset, result, **kwargs)
        return result

    def instance_maker(self):
        """What makes each new row's instance: ``init_instance``, or, for a model whose field defaults are all
        constants, a copy of one made once (a model's ``__init__`` per row costs more than reading its cells)."""
        model = self._meta.model
        if type(self).init_instance is not resources.ModelResource.init_instance or any(
                field.has_default() and callable(field.default) for field in model._meta.concrete_fields):
            return self.init_instance
        values = dict(model().__dict__)
        del values["_state"]

        def make(row=None):
            instance = model.__new__(model)
            instance.__dict__.update(values)
            instance._state = ModelState()
            return instance

        return make

    def column_plan(self, headers):
        """How the bulk path reads each column of this file, worked out once for all its rows (import-export's
        ``import_instance`` → ``import_field`` → ``Field.save`` → ``Field.clean`` → the widget's clean costs five
        calls a cell): ``(how, field, attribute, column, the widget's clean, default)`` per column the file has.
        ``how``: _TEXT, a text cell taken as :class:`TextWidget` takes it (in place when it starts with no formula
        character or quote); _DATE, a partial date's two attributes set as :class:`PartialDateField` sets them;
        _KEY, a foreign key by :class:`SlugForeignKeyWidget`, its row set as Django's descriptor sets it (see
        :func:`_key_plan`); _CLEAN, through the widget's clean (this module's widgets read no keyword arguments,
        so none are passed); _CLEAN_KWARGS, another widget's clean, with them; _SAVE, a field with its own
        ``save``/``clean`` (the version), which is called. Each entry ends with what its ``how`` needs besides.
        None as a whole when this resource reads rows its own way (its own ``import_instance``)."""
        if type(self).import_instance is not RecordResource.import_instance:
            return None
        plan = []
        model = self._meta.model
        for field in self.get_import_fields():
            if isinstance(field.widget, widgets.ManyToManyWidget) or not field.attribute \
                    or field.column_name not in headers:
                continue
            kind, clean = type(field), type(field.widget).clean
            extra = None
            plain = kind.save is ie_fields.Field.save and kind.clean is ie_fields.Field.clean and "__" not in \
                field.attribute
            if plain and field.readonly:
                continue  # Field.save writes nothing
            if plain:
                if clean is TextWidget.clean and field.default is NOT_PROVIDED:
                    how = _TEXT
                elif clean is SlugForeignKeyWidget.clean and field.default is NOT_PROVIDED and (
                        extra := _key_plan(model, field.attribute)) is not None:
                    how = _KEY
                    widget = type(field.widget)
                    plain_lookup = widget.resolve is SlugForeignKeyWidget.resolve and (
                        widget.lookup is SlugForeignKeyWidget.lookup and type(field.widget.lookup) is _Lookup)
                    extra = (*extra, field.widget.lookup if plain_lookup else None)
                elif getattr(clean, "__module__", None) == __name__:
                    how = _CLEAN
                else:
                    how = _CLEAN_KWARGS
            elif kind is PartialDateField and clean is PartialDateWidget.clean and field.default is NOT_PROVIDED:
                how = _DATE
            else:
                how = _SAVE
            plan.append((how, field, field.attribute, field.column_name, field.widget.clean, field.default, extra))
        return plan

    def import_planned(self, instance, row, plan, kwargs):
        """:meth:`import_instance` through a :meth:`column_plan`: each cell through its widget's clean, the value
        set as ``Field.save`` sets it; the same errors, the same ``validate_row``."""
        errors = {}
        for how, field, attribute, column, clean, default, extra in plan:
            try:
                if how is _TEXT:
                    value = row[column]
                    if type(value) is not str or (value and value[0] in _FORMULA_OR_QUOTE):
                        value = cell_text(value)  # else cell_text gives the text as it is
                    setattr(instance, attribute, value)
                    continue
                if how is _DATE:
                    date, precision = clean(row[column], row)
                    setattr(instance, attribute, date)
                    setattr(instance, f"{attribute}_precision", precision)
                    continue
                if how is _SAVE:
                    field.save(instance, row, False, **kwargs)
                    continue
                if how is _KEY:
                    related, attname, related_attname, cache_name, lookup = extra
                    value = row[column]
                    if lookup is not None and type(value) is str and (not value or value[0] not in _FORMULA_OR_QUOTE):
                        # SlugForeignKeyWidget.clean of a text cell_text takes as it is: a slug already looked up
                        # is its row (find gives it alone, so resolve does); any other key through resolve.
                        key = value.strip()
                        if not key:
                            value = None
                        else:
                            value = lookup.by_slug.get(key) if key in lookup.asked else None
                            if value is None:
                                value = field.widget.resolve(key, row)
                    else:
                        value = clean(value, row)
                    state = instance._state
                    if type(value) is related and value._state.db is not None:
                        if state.db is None:
                            state.db = value._state.db  # what the descriptor's router gives, without routers
                        if state.db == value._state.db:
                            instance.__dict__[attname] = getattr(value, related_attname)
                            state.fields_cache[cache_name] = value
                            continue
                    elif value is None and field.saves_null_values and state.fields_cache.get(cache_name) is None:
                        instance.__dict__[attname] = None  # no row was cached: nothing else to clear
                        state.fields_cache[cache_name] = None
                        continue
                    if value is not None or field.saves_null_values:
                        setattr(instance, attribute, value)
                    continue
                value = clean(row[column], row) if how is _CLEAN else clean(row[column], row=row, **kwargs)
                if default is not NOT_PROVIDED and value in field.empty_values:
                    value = default() if callable(default) else default
                if value is not None or field.saves_null_values:
                    setattr(instance, attribute, value)
            except ValueError as exc:
                errors[attribute] = ValidationError(str(exc), code="invalid")
        errors = ValidationError(errors).update_error_dict({}) if errors else {}
        errors.update(self.validate_row(instance, row, errors))
        if errors:
            raise ValidationError(errors)

    def existing_instances(self, rows, headers, lock=False) -> dict:
        """``{slug: instance}`` of the rows of the file already in the database, one query per
        KEYS_PER_QUERY slugs (locked for the update when ``lock``), their derived search columns deferred
        (they are computed again). A foreign key whose column the file lacks is read for them all at once,
        for the rules that read it."""
        model = self._meta.model
        slugs = list(dict.fromkeys(
            key for key in (_quiet(cell_text, row.get("slug"), "").strip() for row in rows) if key))
        found = {}
        for start in range(0, len(slugs), KEYS_PER_QUERY):
            queryset = model._base_manager.filter(slug__in=slugs[start:start + KEYS_PER_QUERY])
            queryset = queryset.defer(*derived_columns(model)).order_by()
            if lock and connections[self.get_db_connection_name()].features.has_select_for_update:
                queryset = queryset.select_for_update()
            found.update((obj.slug, obj) for obj in queryset)
        absent = [f.attribute for f in self.get_import_fields()
                  if isinstance(f.widget, SlugForeignKeyWidget) and f.column_name not in headers]
        if found and absent:
            models.prefetch_related_objects(list(found.values()), *absent)
        return found

    def kept_rows(self, created, changed, order, total) -> dict:
        """The checked rows of an import as the values to write (plain lists, the search columns computed, once
        per distinct text): ``created`` (new rows, every column but the key, at version 1), ``changed`` (every
        column but the key at version + 1, then the key and the version read), ``rows`` (each row of the file in
        order: its kind and text, for the result and the admin log; a new row's place in ``created``, an
        updated or skipped row's key). Picklable: the admin keeps them from the preview to the confirm."""
        model = self._meta.model
        connection = connections[self.get_db_connection_name()]
        fill_search_columns(model, [*created, *changed])
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        for instance in created:
            instance.version = 1
        expected = [instance.version for instance in changed]
        for instance in changed:
            instance.version += 1
        updates = [row + [instance.pk, version] for row, instance, version in zip(
            prepared_rows(fields, changed, connection, add=False, stamped=True), changed, expected, strict=True)]
        for instance, version in zip(changed, expected, strict=True):
            instance.version = version  # the instances stay as read until written
        places = {id(instance): place for place, instance in enumerate(created)}
        rows = [(kind, str(instance), places[id(instance)] if kind == "new" else instance.pk)
                for kind, instance in order]
        return {"model": model._meta.label, "columns": [f.attname for f in fields], "total": total,
                "created": prepared_rows(fields, created, connection, add=True, stamped=True), "changed": updates,
                "rows": rows}

    def write_kept(self, kept, user=None, file_name=None, **kwargs) -> list:
        """Write kept rows (:meth:`kept_rows`): new ones in one statement, changed ones in one statement on the
        condition that the database still holds the version they were read at (else StaleRecordError: the
        caller's transaction is rolled back), their history, and a new data generation once it commits. The
        time stamps are the write's. Returns the new rows' keys."""
        model = self._meta.model
        using = self.get_db_connection_name()
        connection = connections[using]
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        if kept.get("model") != model._meta.label or kept["columns"] != [f.attname for f in fields]:
            raise StaleRecordError()
        now = timezone.now()
        stamps = [(index, field.get_db_prep_save(now, connection), bool(field.auto_now))
                  for index, field in enumerate(fields)
                  if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)]
        created, changed = kept["created"], kept["changed"]
        for row in created:
            for index, value, _always in stamps:
                row[index] = value
        for row in changed:
            for index, value, always in stamps:
                if always:
                    row[index] = value
        keys = allocate_pks(model, len(created), using)
        if keys is None:
            raise StaleRecordError()  # a table whose keys the database gives: kept_rows cannot be written
        created = [[key, *row] for key, row in zip(keys, created, strict=True)]
        written = [model._meta.pk, *fields]
        # The new rows' history is read from the rows as written (one INSERT … SELECT on SQLite).
        insert_values(model, written, created, using, history=HistoryOf("+", user, file_name, now))
        if update_rows(model, fields, changed, using) != len(changed):
            raise StaleRecordError()
        history_values(model, written, [[row[-2], *row[:-2]] for row in changed],
                       HistoryOf("~", user, file_name, now), using)
        if created or changed:
            from core.listing import new_data_generation

            transaction.on_commit(new_data_generation, using=using)
        return keys

    def import_kept(self, kept, **kwargs):
        """The confirm of a preview whose checked rows are written as they are (:meth:`import_bulk`): the
        result import-export's admin reads (counts, and each written row's key and text for the admin log)."""
        keys = self.write_kept(kept, **kwargs)
        result = self.get_result_class()()
        result.diff_headers = self.get_diff_headers()
        result.total_rows = kept["total"]
        result.reused = True
        row_class = self.get_row_result_class()
        for kind, text, place in kept["rows"]:
            row_result = row_class()
            row_result.import_type = kind
            row_result.object_id = keys[place] if kind == "new" else place
            row_result.object_repr = text
            row_result.instance = KeptRecord(row_result.object_id, text)
            result.increment_row_result_total(row_result)
            if kind != "skip" or self._meta.report_skipped:
                result.append_row_result(row_result)
        result.problems = []
        return result

    def write_history(self, user=None, file_name=None):
        """One history row per saved record, in one bulk insert per kind (who, when, every field)."""
        reason = f"import of {file_name or 'a file'}"[:100]
        user = user if getattr(user, "pk", None) else None
        for history_type, instances in self._history_rows.items():
            if instances:
                insert_history(self._meta.model, instances, history_type, user, reason,
                               self.get_db_connection_name())
        self._history_rows = {"+": [], "~": []}



def clean_fields(instance, exclude) -> None:
    """``instance.clean_fields(exclude=exclude)`` (Django's Model.clean_fields), the same errors, with a field's
    usual checks made in place: a text that is a text, within its length, not blank where it may not be, one of
    its choices, passing its other validators is valid as it is; so is a whole number, a date or a finite decimal
    of a field without choices whose ``to_python`` gives that very value back, passing the field's validators.
    Any other value, and every other kind of field, goes through the field's own clean, as Django runs it.
    (A text is a ``str`` or a str whose type compares, hashes and measures as ``str`` does: a TextChoices member
    such as a partial date's precision, which CharField.to_python gives back as it is.)"""
    errors = {}
    for field, kind, limit, blank, choices, validators, same, usual_empty in _clean_plan(type(instance),
                                                                                          frozenset(exclude)):
        value = getattr(instance, field.attname)
        if blank:
            if usual_empty:  # Django's EMPTY_VALUES: None, "", [], (), {}; a number or a date is none of them
                if value is None:
                    continue
                kind_of = type(value)
                if kind_of is str:
                    if not value:
                        continue
                elif kind_of not in _NEVER_EMPTY and value in field.empty_values:
                    continue
            elif value in field.empty_values:
                continue
        if kind == "text" and (type(value) is str or (isinstance(value, str) and _str_like(type(value)))) \
                and (limit is None or len(value) <= limit) \
                and (value or blank) and (choices is None or value in choices or not value):
            try:
                for validator in validators:
                    validator(value)
                continue
            except ValidationError:
                pass  # field.clean below says it as Django does
        elif kind == "same" and type(value) is same and (same is not Decimal or value.is_finite()):
            # Field.clean: to_python gives the value back; validate finds no choices, and a value that is not
            # empty; run_validators runs these.
            try:
                for validator in validators:
                    validator(value)
                continue
            except ValidationError:
                pass
        if isinstance(value, DatabaseDefault):
            continue
        try:
            setattr(instance, field.attname, field.clean(value, instance))
        except ValidationError as exc:
            errors[field.name] = exc.error_list
    if errors:
        raise ValidationError(errors)


#: The ``to_python`` that gives a value of exactly this type back as it is (equal, of the same type).
_SAME_TYPE = ((models.IntegerField.to_python, int), (models.DateField.to_python, datetime.date),
              (models.DecimalField.to_python, Decimal))
#: Types no value of which equals one of Django's EMPTY_VALUES.
_NEVER_EMPTY = frozenset({int, bool, float, Decimal, datetime.date, datetime.datetime})


@functools.cache
def _str_like(kind) -> bool:
    """Whether values of ``kind`` (a subclass of str) compare, hash and measure as the str they are."""
    return all(getattr(kind, name) is getattr(str, name) for name in ("__eq__", "__ne__", "__hash__", "__len__")) \
        and not any("__bool__" in vars(base) for base in kind.__mro__)  # (hasattr would see the metaclass's)


def _quick_validator(validator):
    """``validator`` itself, or a function that passes the values it passes and calls it for any other (which
    then raises its own error): a RegexValidator with its pattern compiled, a Min/MaxValueValidator with a fixed
    limit compared in place (Django's own classes only; a subclass may check otherwise)."""
    kind = type(validator)
    if kind is RegexValidator:
        search, inverse = validator.regex.search, validator.inverse_match  # the compiled pattern's own search

        def check(value):
            if (search(str(value)) is not None) is inverse:  # RegexValidator.__call__'s test, as it makes it
                validator(value)

        return check
    if kind in (MinValueValidator, MaxValueValidator) and not callable(validator.limit_value):
        limit, below = validator.limit_value, kind is MinValueValidator

        def bounded(value):
            if (value < limit) if below else (value > limit):  # the validator's compare(clean(value), limit)
                validator(value)

        return bounded
    return validator


@functools.lru_cache(maxsize=256)
def _clean_plan(model, exclude):
    plan = []
    text_kinds = (models.CharField.to_python, models.TextField.to_python)
    for field in model._meta.fields:
        if field.name in exclude or field.generated:
            continue
        kind = type(field)
        plain = (kind.clean is models.Field.clean and kind.validate is models.Field.validate
                 and kind.run_validators is models.Field.run_validators)
        text = plain and kind.to_python in text_kinds and field.editable
        validators = [v for v in field.validators if not isinstance(v, MaxLengthValidator)]
        limits = [v.limit_value for v in field.validators if isinstance(v, MaxLengthValidator)]
        if any(callable(limit) for limit in limits):
            text = False
        choices = None
        if field.choices is not None:
            choices = frozenset(key for key, _label in field.flatchoices if isinstance(key, str))
        same = next((python_type for to_python, python_type in _SAME_TYPE if kind.to_python is to_python), None)
        usual_empty = type(field.empty_values) in (list, tuple) and list(field.empty_values) == list(EMPTY_VALUES)
        if text:
            plan.append((field, "text", min(limits) if limits else None, field.blank, choices,
                         tuple(_quick_validator(v) for v in validators), None, usual_empty))
        elif plain and same is not None and field.choices is None:
            plan.append((field, "same", None, field.blank, None, tuple(_quick_validator(v) for v in field.validators),
                         same, usual_empty))
        else:
            plan.append((field, "other", None, field.blank, None, (), None, usual_empty))
    return tuple(plan)


def _key_plan(model, attribute):
    """How the bulk path sets the foreign key ``attribute`` of ``model`` to a row: ``(the related model, the key's
    attname, the related row's attname it holds, the cache name)``, when setting it through Django's descriptor
    (ForwardManyToOneDescriptor.__set__ on a many-to-one key of one column, no database routers) comes to this:
    when both rows are of one database already, the key's column takes the related row's value and the row is
    cached, and the row being read takes the related row's database if it has none yet; an empty cell, when no
    related row was cached, empties the key and caches None. None otherwise (the descriptor is used). A related
    row of another type or of no database, rows of different databases, and an empty cell over a cached row go
    through the descriptor."""
    from django.db import router
    from django.db.models.fields.related_descriptors import (
        ForeignKeyDeferredAttribute,
        ForwardManyToOneDescriptor,
    )

    descriptor = getattr(model, attribute, None)
    if type(descriptor) is not ForwardManyToOneDescriptor or router.routers:
        return None
    field = descriptor.field
    if not field.remote_field.multiple or len(field.related_fields) != 1 \
            or type(getattr(model, field.attname, None)) is not ForeignKeyDeferredAttribute:
        return None
    related = field.remote_field.model._meta.concrete_model
    return related, field.attname, field.related_fields[0][1].attname, field.cache_name


@functools.lru_cache(maxsize=64)
def _relations(model) -> tuple[tuple, frozenset]:
    """The concrete fields of ``model`` that are relations, and their names."""
    relations = tuple(f for f in model._meta.concrete_fields if f.is_relation)
    return relations, frozenset(f.name for f in relations)


@functools.lru_cache(maxsize=64)
def has_unique_checks(model) -> bool:
    """Whether a row of ``model`` has anything unique to check besides its slug (the duplicate check and the
    loaded rows know the slug): a unique field or unique_together, a date-unique, a UniqueConstraint."""
    unique, dates = model(pk=None)._get_unique_checks(exclude={"slug"})
    # The key alone is never checked for a loaded row, nor for a new one (it has none yet).
    unique = [check for check in unique if check[1] != (model._meta.pk.name,)]
    return bool(unique or dates or any(isinstance(c, models.UniqueConstraint) for c in model._meta.constraints))


class KeptRecord:
    """A row written from kept values (RecordResource.import_kept): its key and text, what the admin log
    reads of a record."""

    __slots__ = ("pk", "text")

    def __init__(self, pk, text):
        self.pk, self.text = pk, text

    def __str__(self):
        return self.text


def data_generation():
    """The shared data generation (core.listing.data_generation; imported here when called, as core.listing
    imports this module through core.csvexport)."""
    from core.listing import data_generation as current

    return current()


def _quiet(function, value, default):
    """``function(value)``, or ``default`` when the cell cannot be read (its row reports that)."""
    try:
        return function(value)
    except ValueError:
        return default


# ---------------------------------------------------------------------------
# Bulk writes: one statement executed for many rows (executemany), so the number of queries does not grow
# with the number of rows (Django's bulk_create splits a SQLite insert into statements of 999 parameters)


def diff_html(old, new, is_new=False) -> str:
    """One cell of the preview, as import-export's diff (diff-match-patch's HTML) shows it, computed only
    where the cell changed."""
    old, new = "" if old is None else str(old), "" if new is None else str(new)
    if is_new and old != new:
        old = ""
    if old == new or not old:
        if not new:
            return mark_safe("")
        text = escape_diff(new)
        return mark_safe(f"<span>{text}</span>" if old == new else f'<ins style="background:#e6ffe6;">{text}</ins>')
    matcher = diff_match_patch()
    diffs = matcher.diff_main(old, new)
    matcher.diff_cleanupSemantic(diffs)
    return mark_safe(matcher.diff_prettyHtml(diffs))


def escape_diff(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "&para;<br>")


def allocate_pks(model, count, using) -> list | None:
    """``count`` new primary keys for ``model``'s table, or None where this database cannot say (then
    Django's bulk_create assigns them). SQLite: above the largest key ever given, safe because an
    import's transaction holds the write lock from its start (IMMEDIATE); PostgreSQL: from the sequence."""
    if not count:
        return []
    connection = connections[using]
    pk = model._meta.pk
    if not isinstance(pk, models.AutoField | models.BigAutoField):
        return None
    table, column = model._meta.db_table, pk.column
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                f"SELECT max(coalesce((SELECT max({quote(column)}) FROM {quote(table)}), 0), coalesce((SELECT seq "
                "FROM sqlite_sequence WHERE name = %s), 0))", [table])
            start = cursor.fetchone()[0]
            return list(range(start + 1, start + count + 1))
        if connection.vendor == "postgresql":
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                           [quote(table), column, count])
            return [row[0] for row in cursor.fetchall()]
    return None


def insert_values(model, fields, params, using, history=None):
    """INSERT rows of values of ``fields`` (as the database takes them) in one statement (SQLite: through a
    staged table, see :func:`staged`; PostgreSQL: COPY), in one transaction. ``history`` (a HistoryOf): their
    history rows too (:func:`history_values`); on SQLite selected from the same staged table, so the values are
    handed to SQLite once."""
    if not params:
        return
    connection = connections[using]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    # One transaction (the caller's, or its own): in autocommit SQLite would commit the staged table row by row,
    # ten times slower (the admin log of an import is written after the import's transaction).
    with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            with staged(cursor, model, columns, params, connection) as stage:
                cursor.execute(f"INSERT INTO {quote(model._meta.db_table)} ({columns}) SELECT {columns} FROM {stage} "
                               "ORDER BY rowid")
                if history is not None:
                    table, plan = history_plan(model, fields, history, connection)
                    picks = ", ".join("%s" if pick is None else quote(fields[pick].column) for pick, _value in plan)
                    into = ", ".join(history_columns(model, connection))
                    cursor.execute(f"INSERT INTO {table} ({into}) SELECT {picks} FROM {stage} ORDER BY rowid",
                                   [value for pick, value in plan if pick is None])
        else:
            append_rows(cursor, connection, quote(model._meta.db_table), columns, params)
            if history is not None:
                history_values(model, fields, params, history, using)


def prepared_rows(fields, instances, connection, add, stamped=False) -> list[list]:
    """Each instance's values of ``fields`` as the database takes them (``pre_save`` first: auto_now …).
    Text, whole numbers and keys are taken as they are, dates converted once per distinct date; other values
    through the field's own conversion. ``stamped``: the time stamps the write sets (auto_now; auto_now_add for
    new rows) are left None, for the writer to fill (RecordResource.write_kept)."""
    plans = [_prepare_plan(field) for field in fields]
    if stamped:
        plans = [(field, attname, plain, reads, memo, getattr(field, "auto_now", False) or (add and getattr(
            field, "auto_now_add", False))) for field, attname, plain, reads, memo in plans]
    else:
        plans = [(*plan, False) for plan in plans]
    rows = []
    for instance in instances:
        row = []
        for field, attname, plain, reads, memo, stamp in plans:
            if stamp:
                row.append(None)
                continue
            value = getattr(instance, attname) if reads else field.pre_save(instance, add)
            if value is None or type(value) is plain:
                row.append(value)
            elif memo is not None and type(value) is datetime.date:
                found = memo.get(value)
                if found is None:
                    found = memo[value] = field.get_db_prep_save(value, connection)
                row.append(found)
            else:
                row.append(field.get_db_prep_save(value, connection))
        rows.append(row)
    return rows


def _prepare_plan(field):
    """How :func:`prepared_rows` reads and converts one field: ``(field, attname, the type taken as it is, whether
    the value is read as it is (no pre_save of its own), a memo of converted dates or None)``."""
    kind = type(field)
    reads = kind.pre_save is models.Field.pre_save or (
        isinstance(field, models.DateField) and not field.auto_now and not field.auto_now_add
        and kind.pre_save in (models.DateField.pre_save, models.DateTimeField.pre_save))
    plain = None
    own_conversion = kind.get_db_prep_save is not models.Field.get_db_prep_save
    if isinstance(field, models.CharField | models.TextField) and not own_conversion and kind.get_prep_value in (
            models.CharField.get_prep_value, models.TextField.get_prep_value):
        plain = str
    key_types = models.AutoField | models.BigAutoField | models.IntegerField
    is_key = field.is_relation and field.many_to_one and isinstance(field.target_field, key_types)
    whole = isinstance(field, models.IntegerField) and not own_conversion and (
        kind.get_db_prep_value is models.IntegerField.get_db_prep_value)
    if is_key or whole:
        plain = int
    memo = {} if kind in (models.DateField,) else None
    return field, field.attname, plain, reads, memo


def append_rows(cursor, connection, table, columns, params):
    """INSERT ``params`` (rows of values for ``columns``, SQL) into ``table`` in one statement: COPY on
    PostgreSQL (ten times quicker than an INSERT per row, even pipelined), else INSERT … executemany."""
    if connection.vendor == "postgresql" and hasattr(cursor.cursor, "copy"):
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in params:
                copy.write_row(row)
        return
    width = len(params[0]) if params else 0
    cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * width)})", params)


@contextlib.contextmanager
def staged(cursor, model, columns, params, connection):
    """SQLite: ``params`` in a temporary table, for one INSERT … SELECT or UPDATE … FROM. Written row by row,
    the search index's triggers (core.search) make FTS5 flush its pending terms once per row, five times slower
    than the whole write; one statement flushes them once."""
    quote = connection.ops.quote_name
    stage = quote("import_stage")
    cursor.execute(f"DROP TABLE IF EXISTS temp.{stage}")
    cursor.execute(f"CREATE TEMP TABLE {stage} AS SELECT {columns} FROM {quote(model._meta.db_table)} WHERE 0")
    width = len(params[0]) if params else 0
    cursor.executemany(f"INSERT INTO temp.{stage} VALUES ({', '.join(['%s'] * width)})", params)
    try:
        yield f"temp.{stage}"
    finally:
        cursor.execute(f"DROP TABLE IF EXISTS temp.{stage}")


def update_rows(model, fields, params, using) -> int:
    """UPDATE ``fields`` of many rows in one statement; ``params``: each row's values of ``fields`` (as the
    database takes them), then its key and the version it must still have. Returns how many rows were
    updated."""
    if not params:
        return 0
    connection = connections[using]
    quote = connection.ops.quote_name
    table, key, version = quote(model._meta.db_table), quote(model._meta.pk.column), quote("version")
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            columns = ", ".join(quote(f.column) for f in fields)
            with staged(cursor, model, f"{columns}, {key} AS stage_pk, {version} AS stage_version", params,
                        connection) as stage:
                assignments = ", ".join(f"{quote(f.column)} = {stage}.{quote(f.column)}" for f in fields)
                cursor.execute(f"UPDATE {table} SET {assignments} FROM {stage} WHERE {table}.{key} = {stage}.stage_pk "
                               f"AND {table}.{version} = {stage}.stage_version")
                return cursor.rowcount
        cursor.executemany(f"UPDATE {table} SET {', '.join(f'{quote(f.column)} = %s' for f in fields)} "
                           f"WHERE {key} = %s AND {version} = %s", params)
        return cursor.rowcount


def insert_history(model, instances, history_type, user, reason, using):
    """The history rows django-simple-history's ``bulk_history_create`` makes (who, when, why, every
    tracked field), written in one statement, without a model instance per row."""
    history = model.history.model
    connection = connections[using]
    date = timezone.now()
    tracked = [field.attname for field in history.tracked_fields]
    rows = []
    for instance in instances:
        who = getattr(instance, "_history_user", user or history.get_default_history_user(instance))
        row = SimpleNamespace(**{name: getattr(instance, name) for name in tracked})
        row.history_date = getattr(instance, "_history_date", date)
        row.history_user_id = getattr(who, "pk", None)
        row.history_change_reason = get_change_reason_from_object(instance) or reason
        row.history_type = history_type
        row.history_relation_id = instance.pk
        rows.append(row)
    fields = [f for f in history._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    with connection.cursor() as cursor:
        append_rows(cursor, connection, quote(history._meta.db_table), columns,
                    prepared_rows(fields, rows, connection, False))


class HistoryOf(NamedTuple):
    """What the history rows of one write say beside the row's fields: the kind (``+`` new, ``~`` changed), who,
    the file it came from, and when."""

    history_type: str
    user: object
    file_name: str | None
    date: datetime.datetime


def history_columns(model, connection) -> list[str]:
    """The quoted columns of ``model``'s history table that a history row fills (all but its own key)."""
    quote = connection.ops.quote_name
    return [quote(f.column) for f in model.history.model._meta.concrete_fields if not f.primary_key]


def history_plan(model, fields, history: HistoryOf, connection) -> tuple[str, list[tuple[int | None, object]]]:
    """The quoted history table of ``model``, and for each of its :func:`history_columns` where its value comes
    from: ``(the index of the written field it copies, None)`` or ``(None, the value every row has)`` (who, when,
    why, which kind). ValueError when the history tracks a column the write does not give."""
    table = model.history.model
    places = {field.attname: index for index, field in enumerate(fields)}
    extra = {"history_date": table._meta.get_field("history_date").get_db_prep_save(history.date, connection),
             "history_user_id": getattr(history.user, "pk", None),
             "history_change_reason": f"import of {history.file_name or 'a file'}"[:100],
             "history_type": history.history_type}
    plan = []
    for field in (f for f in table._meta.concrete_fields if not f.primary_key):
        if field.attname in places:
            plan.append((places[field.attname], None))
        elif field.attname in extra:
            plan.append((None, extra[field.attname]))
        else:
            raise ValueError(f"history of {model._meta.label} tracks a column the import does not write")
    return connection.ops.quote_name(table._meta.db_table), plan


def history_values(model, fields, params, history: HistoryOf, using):
    """The history rows of rows written from values (``params``: each row's values of ``fields``, the key
    first): who, when, why (``import of <file name>``) and every tracked field, as django-simple-history's
    ``bulk_history_create`` writes them, in one statement, as plain lists."""
    if not params:
        return
    connection = connections[using]
    table, plan = history_plan(model, fields, history, connection)
    rows = [[row[pick] if pick is not None else value for pick, value in plan] for row in params]
    with connection.cursor() as cursor:
        append_rows(cursor, connection, table, ", ".join(history_columns(model, connection)), rows)


def choice_field(attribute, model_field):
    """A TextField over a choices field, with its default for blank cells."""
    default = model_field.default if model_field.default is not models.NOT_PROVIDED else ""
    return TextField(attribute, widget=ChoiceWidget(model_field.choices, default=default))


def heavy_columns(model) -> list[str]:
    """Columns an export never needs of a related row, and that can be larger than the row itself:
    the derived search columns, and an article's text."""
    return derived_columns(model) + [f.name for f in model._meta.concrete_fields if f.name == "text"]


def related_model(model, path):
    for part in path.split("__"):
        model = model._meta.get_field(part).related_model
    return model
