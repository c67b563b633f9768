"""Loading sources, funds, organizations, programs, indicators and outcomes from ``seeds/`` (called by
``load_seeds``, in the order ``core.registry`` gives)."""

from __future__ import annotations

from collections import Counter

from core.seeding import SeedRow, as_list, by_slug, dates, exact_decimal, joined, parents_first, text, upsert


def load_sources(rows: list[SeedRow], *, counts: Counter) -> None:
    from programs.models import Source

    for row in rows:
        data = row.data
        upsert(Source, slug=data["slug"], counts=counts, values={
            "title": data["title"],
            "publisher": text(data.get("publisher")),
            **dates(data, "published"),
            "date_note": text(data.get("date_note")),
            "note": text(data.get("note")),
            "script": data["script"],
            "file_name": data.get("file_name", ""),
            "original_file": text(data.get("original_file")),
            "text": data["text"],
        })


def load_funds(rows: list[SeedRow], *, counts: Counter) -> None:
    from programs.models import Fund, Source

    sources, funds = by_slug(Source), {}
    for row in parents_first(rows, "successor"):
        data = row.data
        funds[data["slug"]] = upsert(Fund, slug=data["slug"], counts=counts, values={
            "name": data["name"],
            "aliases": joined(data.get("aliases")),
            **dates(data, "founded"),
            "commitment": exact_decimal(data.get("commitment")),
            "commitment_printed": text(data.get("commitment_printed")),
            "commitment_term": text(data.get("commitment_term")),
            "successor": funds.get(data.get("successor") or ""),
            **dates(data, "succeeded_on"),
            "summary": text(data.get("summary")),
        }, many={"sources": [sources[s] for s in as_list(data.get("sources"))]})


def load_organizations(rows: list[SeedRow], *, counts: Counter) -> None:
    from programs.models import Organization, Source

    sources, organizations = by_slug(Source), {}
    for row in parents_first(rows, "parent"):
        data = row.data
        organizations[data["slug"]] = upsert(Organization, slug=data["slug"], counts=counts, values={
            "name": data["name"],
            "aliases": joined(data.get("aliases")),
            "kind": data.get("kind") or Organization.Kind.COMPANY_UNIT,
            "parent": organizations.get(data.get("parent") or ""),
            "summary": text(data.get("summary")),
        }, many={"sources": [sources[s] for s in as_list(data.get("sources"))]})


def load_programs(rows: list[SeedRow], *, counts: Counter) -> None:
    from counties.models import County
    from programs.models import Area, Fund, Organization, Program, Source

    sources, funds = by_slug(Source), by_slug(Fund)
    organizations, counties, programs = by_slug(Organization), by_slug(County), {}
    for row in parents_first(rows, "parent"):
        data = row.data
        programs[data["slug"]] = upsert(Program, slug=data["slug"], counts=counts, values={
            "name": data["name"],
            "aliases": joined(data.get("aliases")),
            "kind": data.get("kind") or Program.Kind.PROGRAM,
            "area": data.get("area") or Area.OTHER,
            "fund": funds.get(data.get("fund") or ""),
            "parent": programs.get(data.get("parent") or ""),
            **dates(data, "start"),
            **dates(data, "end"),
            "summary": text(data.get("summary")),
        }, many={
            "organizations": [organizations[s] for s in as_list(data.get("organizations"))],
            "counties": [counties[s] for s in as_list(data.get("counties"))],
            "sources": [sources[s] for s in as_list(data.get("sources"))],
        })


def load_indicators(rows: list[SeedRow], *, counts: Counter) -> None:
    from counties.models import County
    from programs.models import Fund, Indicator, Program, Quantity, Source

    sources, funds, programs, counties = by_slug(Source), by_slug(Fund), by_slug(Program), by_slug(County)
    for row in rows:
        data = row.data
        upsert(Indicator, slug=data["slug"], counts=counts, values={
            "name": data["name"],
            "aliases": joined(data.get("aliases")),
            "quantity": data.get("quantity") or Quantity.COUNT,
            "base_unit": text(data["base_unit"]),
            "units": joined(data.get("units")),
            "fund": funds.get(data.get("fund") or ""),
            "program": programs.get(data.get("program") or ""),
            "county": counties.get(data.get("county") or ""),
            "description": text(data.get("description")),
        }, many={"sources": [sources[s] for s in as_list(data.get("sources"))]})


def load_outcomes(rows: list[SeedRow], *, counts: Counter) -> None:
    from counties.models import County
    from programs.models import Fund, Indicator, Outcome, Program, Source

    sources, funds, programs, counties = by_slug(Source), by_slug(Fund), by_slug(Program), by_slug(County)
    indicators = by_slug(Indicator)
    for row in rows:
        data = row.data
        upsert(Outcome, slug=data["slug"], counts=counts, values={
            "metric": text(data["metric"]),
            "kind": data.get("kind") or Outcome.Kind.RESULT,
            "value": exact_decimal(data.get("value")),
            "unit": text(data.get("unit")),
            "value_printed": text(data["value_printed"]),
            "qualifier": text(data.get("qualifier")),
            **dates(data, "period_start"),
            **dates(data, "period_end"),
            "program": programs.get(data.get("program") or ""),
            "fund": funds.get(data.get("fund") or ""),
            "county": counties.get(data.get("county") or ""),
            "source": sources[data["source"]],
            "quote": data["quote"],
            "note": text(data.get("note")),
            "indicator": indicators.get(data.get("indicator") or ""),
        })

