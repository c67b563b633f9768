"""Template filters and tags for the public pages: formatting only, no decisions."""

from django import template
from django.utils.html import conditional_escape, format_html

from core.importing import DecimalTextWidget

register = template.Library()

DASH = "—"


@register.filter
def plain_number(value):
    """An exact decimal as the CSV writes it, without exponent or trailing zeros: ``303700000000``, ``0.25``;
    ``""`` for None (and for a missing variable)."""
    return "" if value == "" else DecimalTextWidget().render(value)


@register.filter
def link_or_dash(record, absent=DASH):
    """``{{ program.fund|link_or_dash }}``: a link to the record's page named by the record, or an em dash
    when there is none; ``|link_or_dash:""`` leaves the place empty instead (a table cell)."""
    if record is None or record == "":
        return absent
    return format_html('<a href="{}">{}</a>', record.get_absolute_url(), record)


def cell_value(row, path):
    """What a list's column shows (core.listing.Column.value): ``path`` read from ``row`` the way a template
    variable is (``"get_kind_display"``, ``"fund"``: methods are called); None when the path is empty or
    passes through an empty relation."""
    if not path:
        return None
    value = row
    for name in path.split("."):
        if value is None:
            return None
        value = getattr(value, name)
        if callable(value) and not getattr(value, "do_not_call_in_templates", False):
            value = value()
    return value


@register.simple_tag(takes_context=True)
def table_cell(context, column, row):
    """One cell of a list's table (templates/list_base.html), from its declared column (core.listing.Column,
    as ``table_columns()`` gives it): ``<th scope="row">`` for the column that heads the row, ``<td>`` for
    the others, with the column's classes, around its content: the column's cell template rendered with
    ``row``, ``value`` and ``column``; else its value linked (``link="row"``: to the row's own page,
    ``"value"``: to the value's) or printed (None as nothing).

    A tag rather than template logic because it runs for every cell of every page: a page of 200 rows
    has 1,000 to 1,600 cells.
    """
    value = cell_value(row, column["value"])
    if column["cell"]:
        cells = context.render_context.setdefault("table_cell_templates", {})
        if column["cell"] not in cells:
            cells[column["cell"]] = context.template.engine.get_template(column["cell"])
        with context.push(row=row, value=value, column=column):
            content = cells[column["cell"]].render(context)
    elif column["link"] == "row":
        content = format_html('<a href="{}">{}</a>', row.get_absolute_url(), value)
    elif column["link"] == "value":
        content = link_or_dash(value, "")
    else:
        content = conditional_escape("" if value is None else value)
    css = format_html(' class="{}"', column["css"]) if column["css"] else ""
    if column["heads_row"]:
        return format_html('<th scope="row"{}>{}</th>', css, content)
    return format_html("<td{}>{}</td>", css, content)
