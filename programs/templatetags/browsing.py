"""Template filters for the public pages: formatting only, no decisions."""

from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def plain_number(value):
    """An exact decimal without exponent or trailing zeros: ``303700000000``, ``0.25``; ``""`` for None."""
    if value is None or value == "":
        return ""
    if not isinstance(value, Decimal):
        value = Decimal(str(value))
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text
