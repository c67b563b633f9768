"""Cells of the counties list (core.listing.Column.cell): a row's cell content as HTML, escaped; Python rather
than a template per cell because they run for every row of every page."""

from django.utils.html import conditional_escape

from core.presenting import display


def county_designations(row) -> str:
    """The county's designations (prefetched, in order) as tags, each designation once where it repeats."""
    html, previous = [], object()
    for designation in row.designations.all():
        if designation.designation != previous:
            previous = designation.designation
            html.append(f'<span class="tag">{conditional_escape(display(designation, "designation"))}</span> ')
    return "".join(html)
