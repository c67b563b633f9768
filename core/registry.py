"""The one list of the site's record types, filled by the record apps.

Each record app registers its types in its ``AppConfig.ready()``; navigation, the home page's counts,
backups, the seed order, the demo data's clean-up and the count cache's invalidation read this list
instead of keeping their own (the idea of NetBox's ``netbox/registry.py``). Adding a record type is one
:func:`register` call plus its kit (model, filterset, resource, admin, views, templates, seeds).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class RecordType:
    """One kind of record: where its rows live, how they are exported, seeded and listed."""

    key: str  # plural name: the seed file stem (seeds/data/<key>.yaml) and the backup file (<key>.csv)
    model: str  # "app_label.ModelName"
    resource: str  # dotted path of its import/export Resource
    order: int  # load order: a record comes after every record it refers to
    seed_loader: str = ""  # dotted path of ``loader(rows, *, counts)``; empty: not seeded from data/
    list_url: str = ""  # URL name of its public list; empty: no public list
    nav: int = 0  # position in the navigation (public lists only)
    label: str = ""  # the navigation's label (a lazy translation)
    self_reference: str = ""  # a field pointing to a row of the same type (parent, successor)

    @property
    def detail_url(self) -> str:
        """URL name of its public detail page (``programs:program_detail`` beside ``programs:program_list``,
        the names ../shared/STYLE.md gives every kit); empty when it has no public list."""
        return self.list_url.removesuffix("_list") + "_detail" if self.list_url else ""

    @property
    def model_class(self):
        return apps.get_model(self.model)

    @property
    def resource_class(self):
        return import_string(self.resource)

    @property
    def loader(self):
        return import_string(self.seed_loader)


_types: dict[str, RecordType] = {}


def register(*record_types: RecordType) -> None:
    """Add record types; registering the same key twice with other values is a mistake."""
    for record_type in record_types:
        known = _types.get(record_type.key)
        if known is not None and known != record_type:
            raise ValueError(f"record type {record_type.key!r} is registered twice, differently")
        _types[record_type.key] = record_type


def record_types() -> list[RecordType]:
    """Every record type, in load order (what is referred to first)."""
    return sorted(_types.values(), key=lambda t: (t.order, t.key))


def public_lists() -> list[RecordType]:
    """The record types with a public list, in navigation order."""
    return sorted((t for t in _types.values() if t.list_url), key=lambda t: (t.nav, t.key))


def get(key: str) -> RecordType:
    return _types[key]


def for_model(model) -> RecordType:
    """The record type of ``model`` (a class or an instance); LookupError when it is not a record type."""
    label = model._meta.label
    for record_type in _types.values():
        if record_type.model == label:
            return record_type
    raise LookupError(f"{label} is not a registered record type")


def record_app_labels() -> set[str]:
    """The apps whose rows are records: a write to any of their models changes the data."""
    return {t.model.partition(".")[0] for t in _types.values()}
