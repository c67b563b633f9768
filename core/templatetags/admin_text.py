"""Filters for admin pages: a field or a file's column named as the forms name it, and an import's messages, in
the page's language."""

from django import template
from django.core.exceptions import FieldDoesNotExist
from django.utils.text import capfirst

register = template.Library()


@register.filter
def field_label(name, opts):
    """``{{ change.field|field_label:opts }}``: the field's verbose name (``名称``), not its code name (``name``);
    the name itself when the model has no such field."""
    try:
        field = opts.get_field(name)
    except (FieldDoesNotExist, AttributeError):
        return name
    verbose = getattr(field, "verbose_name", None) or field.related_model._meta.verbose_name_plural
    return capfirst(verbose)



@register.filter
def import_message(text):
    """``{{ problem.message|import_message }}``: a message of an import (core.importing.translate_message)."""
    from core.importing import translate_message

    return translate_message(text)
