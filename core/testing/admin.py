"""Fixtures and helpers for the admin, import and export tests of every app.

The fixtures (``editor_client``, ``viewer_client``, ``second_editor_client`` …) come from this plugin
without an import; test modules import only the helper functions they call (``import_file``,
``form_data``, ``db_dump`` …).
"""

import csv
import io

import pytest
from django.apps import apps
from django.urls import reverse

PROJECT_APPS = ("programs", "counties", "envoys")


# ---------------------------------------------------------------------------
# Users in the two roles the data migration creates


def _member(django_user_model, group_name):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user(
        username=group_name, password=f"{group_name}-password", is_staff=True
    )
    user.groups.add(Group.objects.get(name=group_name))
    return user


@pytest.fixture
def editor_user(db, django_user_model):
    return _member(django_user_model, "editor")


@pytest.fixture
def viewer_user(db, django_user_model):
    return _member(django_user_model, "viewer")


@pytest.fixture
def editor_client(client, editor_user):
    # The admin tests read the interface's English messages; Chinese is the site's default.
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    client.force_login(editor_user)
    return client


@pytest.fixture
def viewer_client(client, viewer_user):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    client.force_login(viewer_user)
    return client


@pytest.fixture
def second_editor_client(db, django_user_model):
    """Another editor in another browser, for concurrent edits."""
    from django.contrib.auth.models import Group
    from django.test import Client

    user = django_user_model.objects.create_user(username="editor2", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="editor"))
    other = Client(HTTP_ACCEPT_LANGUAGE="en")
    other.force_login(user)
    return other


# ---------------------------------------------------------------------------
# Helpers


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def form_data(response):
    """The POST a browser would send for the change form in ``response``, unchanged."""
    from django.forms.formsets import BaseFormSet

    context = response.context
    data = {}
    forms = [context["adminform"].form]
    for inline in context["inline_admin_formsets"]:
        formset = inline.formset
        data.update({f"{formset.prefix}-{key}": value for key, value in formset.management_form.initial.items()})
        forms += list(formset.forms)
        assert isinstance(formset, BaseFormSet)
    for form in forms:
        for name, field in form.fields.items():
            value = form[name].value()
            if value is None:
                continue
            if isinstance(value, (list, tuple)):
                data[form.add_prefix(name)] = [str(v) for v in value]
            elif isinstance(value, bool):
                if value:
                    data[form.add_prefix(name)] = "on"
            else:
                data[form.add_prefix(name)] = field.widget.format_value(value) if hasattr(
                    field.widget, "format_value") and not isinstance(value, str) else value
    return data


def db_dump() -> dict:
    """Every row of every table of the project's apps (history included), in a stable order."""
    dump = {}
    for label in PROJECT_APPS:
        for model in apps.get_app_config(label).get_models():
            rows = list(model._base_manager.order_by("pk").values())
            dump[model._meta.label] = rows
            for field in model._meta.local_many_to_many:
                through = field.remote_field.through
                dump[through._meta.label] = list(through.objects.order_by("pk").values())
    return dump


def csv_bytes(header, rows, encoding="utf-8-sig") -> bytes:
    stream = io.StringIO()
    writer = csv.writer(stream)
    writer.writerow(header)
    writer.writerows(rows)
    return stream.getvalue().encode(encoding)


OUTCOME_HEADER = ["slug", "metric", "kind", "value", "unit", "value_printed", "qualifier", "period_start",
                  "period_end", "program", "fund", "county", "source", "quote", "note"]


def outcome_row(slug="new-outcome", **changes) -> list[str]:
    """One outcome of the world (its program, county and source) as an import file's row, in OUTCOME_HEADER's
    order; ``changes`` replace columns."""
    row = {
        "slug": slug, "metric": "就业人数", "kind": "result", "value": "3000", "unit": "人",
        "value_printed": "3000人", "qualifier": "", "period_start": "2019", "period_end": "2020-06",
        "program": "retu-jihua", "fund": "", "county": "puan-xian", "source": "tuopin-wenzhang",
        "quote": "帮助3000人就业", "note": "",
    }
    row.update(changes)
    return [row[key] for key in OUTCOME_HEADER]


def outcome_rows(n, prefix, **changes) -> list[list[str]]:
    """``n`` outcome rows ``<prefix>-0`` … ``<prefix>-<n-1>``."""
    return [outcome_row(f"{prefix}-{i}", **changes) for i in range(n)]


def read_csv_response(response) -> list[list[str]]:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    text = content.decode("utf-8")
    assert text.startswith("\ufeff"), "CSV export must start with a UTF-8 byte-order mark"
    return list(csv.reader(io.StringIO(text[1:])))


FORMATS = {"csv": 0, "csv-utf8": 1, "csv-gb18030": 2, "xlsx": 3, "json": 4}
EXPORT_FORMATS = {"csv": 0, "xlsx": 1, "json": 2}


def upload(client, model, content: bytes, name="data.csv", file_format="csv"):
    """The first step of an admin import (the preview): nothing is written whatever the file."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        admin_url(model, "import"),
        {"import_file": SimpleUploadedFile(name, content), "format": FORMATS[file_format], "resource": "0"},
    )


def import_file(client, model, content: bytes, name="data.csv", file_format="csv"):
    """Preview then confirm, as a person would; returns (preview response, confirm response or None)."""
    preview = upload(client, model, content, name, file_format)
    confirm_form = preview.context["confirm_form"] if preview.context else None
    if not confirm_form:
        return preview, None
    data = {key: confirm_form.initial[key] for key in ("import_file_name", "original_file_name", "format", "resource")}
    return preview, client.post(admin_url(model, "process_import"), data)


def problems(response) -> list[dict]:
    result = response.context["result"] if response.context and "result" in response.context else None
    return getattr(result, "problems", []) if result else []


def resource_class(model):
    from django.contrib import admin

    return admin.site._registry[model].resource_classes[0]


def export(client, model, query="", file_format="csv"):
    """The admin export of every column, from the changelist with ``query`` (its filters and search)."""
    resource = resource_class(model)
    data = {"format": EXPORT_FORMATS[file_format], "resource": "0"}
    data.update({f"{resource.__name__.lower()}_{name}": "on" for name in resource().get_export_order()})
    url = admin_url(model, "export") + (f"?{query}" if query else "")
    return client.post(url, data)
