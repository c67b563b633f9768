"""What every admin page shares: file formats that read Excel's encodings, the version check,
dates with precision in forms, and the base ModelAdmin every ``<app>/admin.py`` uses.

The import/export rules themselves (columns, keys, all or nothing) are in
:mod:`core.importing`; this module is the admin side of them.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from decimal import Decimal

import tablib
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import HttpResponseRedirect
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportModelAdmin
from import_export.formats import base_formats
from simple_history.admin import SimpleHistoryAdmin

from core.importing import DecimalTextWidget, StaleRecordError, save_if_unchanged
from core.records import Record, format_partial_date, parse_partial_date
from core.search import search

# ---------------------------------------------------------------------------
# Reading files: encodings, binary junk, line numbers


class ImportFileError(ValueError):
    """The file cannot be read at all; the message says why, in words for the person importing."""


ENCODINGS = {"utf-8": "UTF-8", "gb18030": "GB18030/GBK"}
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")


def decode_text(data: bytes, encoding: str | None = None) -> str:
    """Bytes of a CSV or JSON file → text. ``encoding`` None: UTF-8 (with or without BOM), else GB18030.

    GB18030 is a superset of GBK and GB2312, which is what Excel on a Chinese Windows
    machine writes. A file that is neither, or that holds control bytes (a spreadsheet or
    an image picked by mistake), is refused with :class:`ImportFileError`.
    """
    if isinstance(data, str):
        text = data
    else:
        if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
            raise ImportFileError(_("This is a spreadsheet workbook, not a CSV file: choose the XLSX format."))
        candidates = [encoding] if encoding else ["utf-8", "gb18030"]
        text = None
        for candidate in candidates:
            try:
                text = data.decode("utf-8-sig" if candidate == "utf-8" else candidate)
                break
            except UnicodeDecodeError:
                continue
        if text is None:
            if encoding:
                raise ImportFileError(
                    _("The file is not valid %(encoding)s text. Choose another encoding or save the file "
                      "again as CSV UTF-8.") % {"encoding": ENCODINGS.get(encoding, encoding)}
                )
            raise ImportFileError(
                _("The file is not text in UTF-8 or GB18030/GBK, so it cannot be read as CSV. "
                  "Save it from Excel as “CSV UTF-8” (or choose the XLSX format for a workbook).")
            )
    text = text.lstrip("\ufeff")
    if CONTROL_CHARS.search(text):
        raise ImportFileError(
            _("The file holds binary data (control characters), not text; nothing was imported.")
        )
    return text


def dataset_from_rows(rows, line_numbers) -> tablib.Dataset:
    """A Dataset from a header and data rows; ``line_numbers[i]`` is where data row i+1 starts."""
    if not rows:
        raise ImportFileError(_("The file is empty: it needs a header row and at least one row."))
    header = ["" if h is None else str(h).strip() for h in rows[0]]
    while header and not header[-1]:
        header.pop()
    if not any(header):
        raise ImportFileError(_("The first row must be the header (slug, name …); it is empty."))
    duplicated = sorted({h for h in header if h and header.count(h) > 1})
    if duplicated:
        raise ImportFileError(_("The header repeats the column(s) %s.") % ", ".join(duplicated))
    width = len(header)
    dataset = tablib.Dataset(headers=header)
    kept_lines = []
    for row, line in zip(rows[1:], line_numbers[1:]):
        cells = list(row)
        if all(cell in (None, "") for cell in cells):
            continue  # blank line
        if len(cells) > width:
            extra = [c for c in cells[width:] if c not in (None, "")]
            if extra:
                raise ImportFileError(
                    _("Line %(line)s has %(count)s cells but the header has %(width)s columns.")
                    % {"line": line, "count": len(cells), "width": width}
                )
            cells = cells[:width]
        cells += [""] * (width - len(cells))
        dataset.append(cells)
        kept_lines.append(line)
    dataset.line_numbers = kept_lines
    return dataset


def read_csv(text: str) -> tablib.Dataset:
    reader = csv.reader(io.StringIO(text, newline=""))
    rows, lines, start = [], [], 1
    try:
        for row in reader:
            rows.append(row)
            lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ImportFileError(_("Line %(line)s cannot be read as CSV: %(error)s") % {"line": start, "error": exc})
    return dataset_from_rows(rows, lines)


class CSVImport(base_formats.CSV):
    """CSV read as bytes and decoded here, so the encoding can be detected or chosen."""

    ENCODING = None  # detect
    LABEL = "csv"

    def is_binary(self):
        return True  # kept as bytes in the temporary file; decoded in create_dataset

    def get_read_mode(self):
        return "rb"

    def get_title(self):
        return self.LABEL

    def create_dataset(self, in_stream, **kwargs):
        return read_csv(decode_text(in_stream, self.ENCODING))


class CSVImportUTF8(CSVImport):
    ENCODING = "utf-8"
    LABEL = "csv (UTF-8)"


class CSVImportGB18030(CSVImport):
    ENCODING = "gb18030"
    LABEL = "csv (GB18030/GBK)"


class XLSXImport(base_formats.XLSX):
    """The first sheet of a workbook; formula cells are read as their formula, never computed."""

    def create_dataset(self, in_stream, **kwargs):
        import openpyxl

        try:
            book = openpyxl.load_workbook(io.BytesIO(in_stream), read_only=True, data_only=False)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
            raise ImportFileError(
                _("This is not an XLSX workbook (%s). Choose the format that matches the file.") % type(exc).__name__
            ) from None
        sheet = book.active
        rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
        book.close()
        return dataset_from_rows(rows, list(range(1, len(rows) + 1)))


class JSONImport(base_formats.JSON):
    """A list of objects, keys as column names (what the JSON export writes)."""

    def is_binary(self):
        return True

    def get_read_mode(self):
        return "rb"

    def create_dataset(self, in_stream, **kwargs):
        text = decode_text(in_stream)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ImportFileError(_("The file is not valid JSON: %s") % exc) from None
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise ImportFileError(_("The JSON file must be a list of objects, one per record."))
        header = []
        for item in data:
            header += [key for key in item if key not in header]
        rows = [header] + [[item.get(key, "") for key in header] for item in data]
        dataset = dataset_from_rows(rows, [None] + [f"record {n}" for n in range(1, len(data) + 1)])
        return dataset


class CSVExport(base_formats.CSV):
    """CSV starting with a UTF-8 byte-order mark, so Excel shows Chinese correctly."""

    def export_data(self, dataset, **kwargs):
        return "\ufeff" + dataset.export("csv", **kwargs)


IMPORT_FORMATS = [CSVImport, CSVImportUTF8, CSVImportGB18030, XLSXImport, JSONImport]
EXPORT_FORMATS = [CSVExport, base_formats.XLSX, base_formats.JSON]


# ---------------------------------------------------------------------------
# Forms: the version the form was loaded with, and dates with their precision


STALE_MESSAGE = _(
    "Someone else changed this record since you opened it (you opened version %(loaded)s; it is now "
    "version %(current)s). Nothing was saved. Open the record again to see their changes, then "
    "make yours."
)

NO_VERSION_MESSAGE = _(
    "This form does not say which version of the record it was opened at, so saving it could "
    "overwrite someone else's change. Nothing was saved. Open the record again, then make your change."
)


def precision_pairs(model) -> list[str]:
    """Names of the date fields that keep a precision beside them (``start`` ↔ ``start_precision``)."""
    names = {f.name for f in model._meta.get_fields()}
    return [
        f.name for f in model._meta.get_fields()
        if isinstance(f, models.DateField) and f"{f.name}_precision" in names
    ]


class PartialDateFormField(forms.CharField):
    """``2019``, ``2019-06`` or ``2019-06-26`` in one box; cleans to ``(date, precision)``."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", _("YYYY, YYYY-MM or YYYY-MM-DD: write only what is known."))
        kwargs["max_length"] = 10
        kwargs.pop("widget", None)
        super().__init__(widget=forms.TextInput(attrs={"size": 10, "placeholder": "YYYY-MM-DD"}), **kwargs)

    def clean(self, value):
        text = super().clean(value)
        try:
            return parse_partial_date(text)
        except ValueError as exc:
            raise ValidationError(str(exc), code="invalid") from None


class RecordForm(forms.ModelForm):
    """ModelForm for every record: carries the version it was loaded with, and partial dates."""

    loaded_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in precision_pairs(self._meta.model):
            if name in self.fields:
                self.initial[name] = format_partial_date(
                    getattr(self.instance, name), getattr(self.instance, f"{name}_precision", "")
                )
        for name, field in self.fields.items():
            value = getattr(self.instance, name, None) if isinstance(field, forms.DecimalField) else None
            if isinstance(value, Decimal):
                self.initial[name] = Decimal(exact(value))  # 3000, not 3000.0000
        if "loaded_version" in self.fields:
            if self.instance.pk and isinstance(self.instance, Record):
                self.fields["loaded_version"].initial = self.instance.version
            else:
                self.fields["loaded_version"].initial = None

    def clean(self):
        cleaned = super().clean()
        for name in precision_pairs(self._meta.model):
            value = cleaned.get(name)
            if isinstance(value, tuple):
                cleaned[name], precision = value
                setattr(self.instance, f"{name}_precision", precision)
        if self.instance.pk and isinstance(self.instance, Record):
            loaded = cleaned.get("loaded_version")
            if loaded is None:  # a form that does not say what it was opened at may overwrite anything
                raise ValidationError(NO_VERSION_MESSAGE, code="stale")
            if loaded != self.instance.version:
                raise ValidationError(
                    STALE_MESSAGE % {"loaded": loaded, "current": self.instance.version}, code="stale"
                )
        return cleaned


class PartialDateAdminMixin:
    """Admin and inline pieces: one text box per partial date, no separate precision field."""

    form = RecordForm

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.DateField) and db_field.name in precision_pairs(db_field.model):
            return PartialDateFormField(label=capfirst(db_field.verbose_name), required=not db_field.blank)
        if isinstance(db_field, models.URLField):
            kwargs.setdefault("assume_scheme", "https")
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if issubclass(self.model, Record) and "loaded_version" not in flatten(fields):
            fields.append("loaded_version")  # hidden: the version this form was opened at
        return fields

    def get_exclude(self, request, obj=None):
        exclude = list(super().get_exclude(request, obj) or [])
        return exclude + [f"{name}_precision" for name in precision_pairs(self.model)]


def exact(value) -> str:
    """A Decimal as staff read it: ``3000``, not ``3000.0000``."""
    return DecimalTextWidget().render(value)


def save_record(form, obj):
    """Save one record from a form: a conditional update on the version it was loaded with."""
    loaded = form.cleaned_data.get("loaded_version") if hasattr(form, "cleaned_data") else None
    if obj.pk and isinstance(obj, Record) and loaded is not None and not obj._state.adding:
        save_if_unchanged(obj, expected_version=loaded)
    else:
        obj.save()


# ---------------------------------------------------------------------------
# The base admin


def refuse_writes(request):
    """History pages only show: any method but GET and HEAD is refused (403), whoever asks."""
    if request.method not in ("GET", "HEAD"):
        raise PermissionDenied


class RecordInlineMixin(PartialDateAdminMixin):
    extra = 0
    show_change_link = True


class RecordTabularInline(RecordInlineMixin, admin.TabularInline):
    pass


class RecordStackedInline(RecordInlineMixin, admin.StackedInline):
    pass


class RecordAdmin(PartialDateAdminMixin, ImportExportModelAdmin, SimpleHistoryAdmin):
    """Base for every record's admin: import/export with the shared Resource, history,
    facet counts, the version check on save, and search that also matches traditional script
    and pinyin through ``search_text``."""

    show_facets = admin.ShowFacets.ALWAYS
    import_formats = IMPORT_FORMATS
    export_formats = EXPORT_FORMATS
    import_template_name = "admin/import_tools/import.html"
    import_error_display = ("message",)
    to_encoding = "utf-8"
    list_per_page = 50
    readonly_fields = ("version", "created_at", "updated_at")
    #: many-to-many fields edited through an inline of their through model instead of the form
    m2m_inlines: dict = {}

    # -- search ------------------------------------------------------------

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term and hasattr(self.model, "SEARCH_FIELDS"):
            results = results | search(queryset, term)
        return results, may_have_duplicates

    # -- saving with the version check --------------------------------------

    def save_model(self, request, obj, form, change):
        obj._history_user = request.user
        if change and not form.has_changed():
            return  # nothing to write; the version stays
        save_record(form, obj)

    def save_formset(self, request, form, formset, change):
        through = self.m2m_inlines.get(formset.model)
        if through:
            # Set the links through the manager so the change is one many-to-many change,
            # which the record's history keeps.
            target = through
            formset.save(commit=False)  # fills new/changed/deleted_objects for the change message
            wanted = [
                f.cleaned_data[target] for f in formset.forms
                if f.cleaned_data and not f.cleaned_data.get("DELETE") and f.cleaned_data.get(target)
            ]
            getattr(form.instance, self._m2m_name(formset.model)).set(wanted)
            return
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            obj.delete()
        forms_by_instance = {id(f.instance): f for f in formset.forms}
        for obj in instances:
            save_record(forms_by_instance.get(id(obj)), obj)
        formset.save_m2m()

    def _m2m_name(self, through):
        for field in self.model._meta.many_to_many:
            if field.remote_field.through is through:
                return field.name
        raise LookupError(through)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except StaleRecordError:
            # Lost the race between the form's check and the save: the transaction was rolled
            # back, so nothing was written.
            messages.error(request, _("Someone else changed this record since you opened it. Nothing was saved; "
                                      "here it is as it is now."))
            return HttpResponseRedirect(request.path)

    # -- history: read-only ------------------------------------------------

    def history_view(self, request, object_id, extra_context=None):
        refuse_writes(request)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # django-simple-history saves any valid POST to this page after checking only the view
        # permission, and through a form loaded from the old version (so the version check
        # compares the old version with itself). Reverting is done by editing the record.
        refuse_writes(request)
        return super().history_form_view(request, object_id, version_id, extra_context)

    def revert_disabled(self, request, obj=None):
        return True  # no Revert button: the page would refuse the POST anyway

    # -- import -------------------------------------------------------------

    def add_data_read_fail_error_to_form(self, form, e):
        if isinstance(e, ImportFileError):
            form.add_error("import_file", str(e))
        else:
            super().add_data_read_fail_error_to_form(form, e)
