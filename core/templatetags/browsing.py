"""Template filters for the public pages: formatting only, no decisions."""

from django import template

from core.importing import DecimalTextWidget

register = template.Library()


@register.filter
def plain_number(value):
    """An exact decimal as the CSV writes it, without exponent or trailing zeros: ``303700000000``, ``0.25``;
    ``""`` for None (and for a missing variable)."""
    return "" if value == "" else DecimalTextWidget().render(value)
