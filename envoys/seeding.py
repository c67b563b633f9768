"""Loading envoys and their postings from ``seeds/data/`` (called by ``load_seeds``)."""

from collections import Counter

from core.seeding import SeedRow, as_list, by_slug, dates, joined, text, upsert
from counties.models import County
from envoys.models import Envoy, Posting
from programs.models import Organization, Source


def load_envoys(rows: list[SeedRow], *, counts: Counter) -> None:
    sources, organizations = by_slug(Source), by_slug(Organization)
    for row in rows:
        data = row.data
        joined_year = data.get("joined_year")
        upsert(Envoy, slug=data["slug"], counts=counts, values={
            "name": data["name"],
            "nickname": text(data.get("nickname")),
            "aliases": joined(data.get("aliases")),
            "role": data.get("role") or Envoy.Role.ENVOY,
            "joined_year": int(joined_year) if joined_year not in (None, "") else None,
            "batch": text(data.get("batch")),
            "organization": organizations.get(data.get("organization") or ""),
            "summary": text(data.get("summary")),
        }, many={"sources": [sources[s] for s in as_list(data.get("sources"))]})


def load_postings(rows: list[SeedRow], *, counts: Counter) -> None:
    sources, envoys, counties = by_slug(Source), by_slug(Envoy), by_slug(County)
    for row in rows:
        data = row.data
        upsert(Posting, slug=data["slug"], counts=counts, values={
            "envoy": envoys[data["envoy"]],
            "county": counties[data["county"]],
            "title": text(data.get("title")),
            **dates(data, "start"),
            **dates(data, "end"),
            "note": text(data.get("note")),
        }, many={"sources": [sources[s] for s in as_list(data.get("sources"))]})
