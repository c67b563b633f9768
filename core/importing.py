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
- **Lookups are cached**: each foreign-key column reads its target table once per import, so the
  number of lookup queries does not grow with the number of rows.
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

import copy
import datetime
import functools
import re
from collections import defaultdict
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F, Prefetch
from django.utils.translation import gettext, gettext_noop
from import_export import fields as ie_fields
from import_export import resources, widgets
from import_export.instance_loaders import CachedInstanceLoader

from core.records import SLUG_RE, format_partial_date, parse_partial_date, plain_decimal
from core.search import derived_columns

SEPARATOR = "|"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
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


class _Lookup:
    """The rows of one model, read once, found by slug or (unambiguous) name."""

    def __init__(self, model, name_fields, select_related=()):
        self.model = model
        self.name_fields = name_fields
        self.select_related = select_related
        self.by_slug = None
        self.by_name = None

    def load(self):
        queryset = self.model._base_manager.select_related(*self.select_related)
        # Read for every row of the table: not the derived search columns a lookup never needs.
        queryset = queryset.defer(*derived_columns(self.model))
        if self.model._meta.ordering:
            queryset = queryset.order_by()
        self.by_slug, self.by_name = {}, defaultdict(list)
        for obj in queryset:
            self.add(obj)

    def add(self, obj):
        self.by_slug[obj.slug] = obj
        for name_field in self.name_fields:
            name = getattr(obj, name_field, "")
            if name and obj not in self.by_name[name]:
                self.by_name[name].append(obj)

    def find(self, key):
        """Every row this key could mean: by slug first, then by name."""
        if self.by_slug is None:
            self.load()
        if key in self.by_slug:
            return [self.by_slug[key]]
        if key in self.by_name:
            return list(self.by_name[key])
        # A row saved earlier in this same import (a parent program defined above its
        # children) is not in the cache yet: one query on a miss, then cached.
        obj = self.model._base_manager.select_related(*self.select_related).filter(slug=key).first()
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
        return super().import_data_inner(dataset, dry_run, raise_errors, using_transactions,
                                         collect_failed_rows, **kwargs)

    def check_file(self, dataset):
        """Header checks, and the slugs that occur twice; raises ValueError for the whole file."""
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
        lines = defaultdict(list)
        for number, data_row in enumerate(dataset, 1):
            key = cell_text(data_row[index], strict=False).strip()
            if key:
                lines[key].append(self.where(number))
        self._duplicates = {key: found for key, found in lines.items() if len(found) > 1}

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
        if not kwargs.get("dry_run") and not result.problems:
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
        relations = [f for f in instance._meta.concrete_fields if f.is_relation]
        exclude = set(errors) | {f.name for f in relations}
        for field in relations:
            if field.name not in errors and not field.null and getattr(instance, field.attname) is None:
                errors[field.name] = ValidationError(REQUIRED % {"field": field.name}, code="required")
        try:
            instance.clean_fields(exclude=exclude)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        # The record's rules across fields (what its clean() runs in the admin), except those that read a
        # cell that could not be read: the message about that cell says enough.
        rules = instance.rule_errors(skip=set(errors))
        if rules:
            errors = ValidationError(rules).update_error_dict(errors)
        if validate_unique and not errors:
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

    def write_history(self, user=None, file_name=None):
        """One history row per saved record, in two bulk inserts (who, when, every field)."""
        reason = f"import of {file_name or 'a file'}"[:100]
        for history_type, instances in self._history_rows.items():
            if instances:
                self._meta.model.history.bulk_history_create(
                    instances, update=history_type == "~", default_user=user if getattr(user, "pk", None) else None,
                    default_change_reason=reason, batch_size=500,
                )
        self._history_rows = {"+": [], "~": []}

    def import_row(self, row, instance_loader, **kwargs):
        result = super().import_row(row, instance_loader, **kwargs)
        for error in result.errors:
            if isinstance(error.error, StaleRecordError):
                error.error = StaleRecordError(message=(
                    "someone else changed this record while the file was being imported; nothing was saved"
                ))
        return result


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
