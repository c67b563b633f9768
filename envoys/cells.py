"""Cells of the envoys list (core.listing.Column.cell): a row's cell content as HTML, escaped; Python rather
than a template per cell because they run for every row of every page."""

from core.presenting import record_link


def envoy_counties(row) -> str:
    """The counties of the envoy's postings (prefetched with their county), each linked, comma-separated."""
    return ", ".join(record_link(posting.county, "") for posting in row.postings.all())
