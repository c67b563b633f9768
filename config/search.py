"""Free-text search that treats simplified and traditional script alike.

Every searchable record keeps a ``search_text`` column: its searchable fields converted to
simplified script, lowercased, plus the pinyin of its name, so ``脫貧``, ``脱贫`` and ``tuopin``
all find 脱贫. The column is filled on every save (a ``pre_save`` hook, because admin edits,
imports, seed loads and shell edits must all keep it current) and by bulk writers explicitly.
"""

import unicodedata
from functools import lru_cache

from django.db.models.signals import pre_save
from opencc import OpenCC
from pypinyin import lazy_pinyin

_to_simplified = OpenCC("t2s")


@lru_cache(maxsize=4096)
def normalise(text: str) -> str:
    """Simplified script, full-width folded (NFKC), lowercase: the form both sides are compared in."""
    text = unicodedata.normalize("NFKC", text or "")
    return _to_simplified.convert(text).lower()


def pinyin_of(text: str) -> str:
    return "".join(lazy_pinyin(text or "", errors="ignore")).lower()


def build_search_text(instance) -> str:
    """The text ``q`` is matched against for one record."""
    parts = [str(getattr(instance, field, "") or "") for field in instance.SEARCH_FIELDS]
    name = getattr(instance, "name", "") or getattr(instance, "title", "") or ""
    parts.append(pinyin_of(name))
    return "\n".join(normalise(part) for part in parts if part)


def fill_search_text(sender, instance, **kwargs):
    if hasattr(instance, "SEARCH_FIELDS"):
        instance.search_text = build_search_text(instance)


def connect_search_text():
    """Called once from ``ProgramsConfig.ready``: keep ``search_text`` current on every save."""
    from django.apps import apps

    for model in apps.get_models():
        if hasattr(model, "SEARCH_FIELDS"):
            pre_save.connect(fill_search_text, sender=model, dispatch_uid=f"search_text_{model._meta.label}")


def search(queryset, q):
    """``queryset`` narrowed to records whose ``search_text`` holds every whitespace-separated term of ``q``.

    Both sides are normalised (simplified script, NFKC, lowercase), so ``脫貧`` finds 脱贫 and
    ``puan`` finds 普安县 through the pinyin kept in ``search_text``.
    """
    for term in (q or "").split():
        term = normalise(term)
        if term:
            queryset = queryset.filter(search_text__contains=term)
    return queryset
