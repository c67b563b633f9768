"""Template filters and tags for the public pages: formatting only, no decisions."""

from django import template
from django.utils.formats import localize
from django.utils.html import conditional_escape, escape, format_html
from django.utils.safestring import mark_safe

from core.importing import DecimalTextWidget
from core.presenting import cell_value, record_link

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
    return record_link(record, absent)


ROW_START, CELL_START, ROW_END = "\n    <tr>", "\n      ", "\n    </tr>\n  "


def cell_maker(context, column):
    """A function drawing one column's cell, ``<th>`` or ``<td>`` and its content, for a row (see
    :func:`table_rows`)."""
    path, link, cell = column["value"], column["link"], column["cell"]
    css = format_html(' class="{}"', column["css"]) if column["css"] else ""
    opening, closing = (f'<th scope="row"{css}>', "</th>") if column["heads_row"] else (f"<td{css}>", "</td>")
    if callable(cell):
        def content(row):
            return cell(row)
    elif cell:
        template = context.template.engine.get_template(cell)

        def content(row):
            with context.push(row=row, value=cell_value(row, path), column=column):
                return template.render(context)
    elif link == "row":
        def content(row):
            return f'<a href="{escape(row.get_absolute_url())}">{conditional_escape(cell_value(row, path))}</a>'
    elif link == "value":
        def content(row):
            return record_link(cell_value(row, path), "")
    else:
        def content(row):
            value = cell_value(row, path)
            return conditional_escape("" if value is None else value)

    def draw(row):
        return f"{CELL_START}{opening}{content(row)}{closing}"

    return draw


@register.simple_tag(takes_context=True)
def table_rows(context, columns, rows):
    """The body rows of a list's table (templates/list_base.html), each drawn from the declared columns
    (core.listing.Column, as ``table_columns()`` gives them): a ``<tr>`` per row, in it a cell per column,
    ``<th scope="row">`` for the column that heads the row and ``<td>`` for the others, with the column's
    classes, around its content: what the column's ``cell`` function returns for the row (HTML), or its
    ``cell`` template rendered with ``row``, ``value`` and ``column``; else its value linked (``link="row"``:
    to the row's own page, ``"value"``: to the value's) or printed (None as nothing).

    One tag for the whole table, not a tag or a template per cell, because a page of 200 rows has 1,000
    to 1,600 cells: each column's way of drawing is worked out once per page, and a cell is then a string
    format (choice labels through core.presenting.choice_label, read once per process and language).
    """
    cells = [cell_maker(context, column) for column in columns]
    return mark_safe("".join([ROW_START + "".join([cell(row) for cell in cells]) + ROW_END for row in rows]))


@register.simple_tag
def facet_options(facet):
    """The ``<option>`` elements of a facet's choices (core.listing.Facet, templates/includes/filter_form.html):
    the choice's value, ``selected`` when it is, its label and its count in parentheses when it was counted.
    A tag because a list page has a few hundred of them."""
    return mark_safe("".join([
        f'<option value="{conditional_escape(choice.value)}"{" selected" if choice.selected else ""}>'
        f'{conditional_escape(choice.label)}'
        f'{"" if choice.count is None else f" ({conditional_escape(localize(choice.count))})"}</option>'
        for choice in facet.choices
    ]))
