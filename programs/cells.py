"""Cells of the programs app's lists (core.listing.Column.cell): a row's cell content as HTML, escaped.

Python rather than a template per cell: they run for every row of every page (see the table_rows tag in
core/templatetags/browsing.py). Each says in its docstring what it prints.
"""

from django.utils.html import conditional_escape, escape
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from core.presenting import display


def program_name(row) -> str:
    """The program's name linked to its page, and its kind as a tag unless it is a program (a measure …)."""
    html = f'<a href="{escape(row.get_absolute_url())}">{conditional_escape(row.name)}</a>'
    if row.kind != "program":
        html += f' <span class="tag">{conditional_escape(display(row, "kind"))}</span>'
    return html


def program_area(row) -> str:
    """The program's area, linked to the list narrowed to it (``?area=``)."""
    return f'<a href="?area={conditional_escape(row.area)}">{conditional_escape(display(row, "area"))}</a>'


def fund_commitment(row) -> str:
    """The fund's commitment as printed, and its term after a slash when it has one."""
    html = conditional_escape(row.commitment_printed)
    if row.commitment_term:
        html += f" / {conditional_escape(row.commitment_term)}"
    return html


def indicator_name(row) -> str:
    """The indicator's name linked to its page, marked when its sources disagree (``is_disputed``)."""
    html = f'<a href="{escape(row.get_absolute_url())}">{conditional_escape(row.name)}</a>'
    if row.is_disputed:
        html += f' <span class="tag tag-disputed">{conditional_escape(_("reported differently"))}</span>'
    return html


def outcome_value(row) -> str:
    """The figure as printed, after its qualifier (约, 超过 …)."""
    return f"{conditional_escape(row.qualifier)}{conditional_escape(row.value_printed)}"


def outcome_source(row) -> str:
    """The source's title, cut to 24 characters, linked to the figure's sentence in its article."""
    title = Truncator(row.source.title).chars(24)
    return (f'<a href="{escape(row.source.get_absolute_url())}#quote-{conditional_escape(row.slug)}">'
            f"{conditional_escape(title)}</a>")
