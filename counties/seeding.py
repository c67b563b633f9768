"""Loading provinces, prefectures and counties from ``seeds/data/`` (called by ``load_seeds``)."""

from collections import Counter

from counties.models import County, CountyDesignation, Prefecture, Province, designation_source_model
from core.seeding import SeedRow, as_list, by_slug, joined, text, upsert


def load_provinces(rows: list[SeedRow], *, counts: Counter) -> None:
    for row in rows:
        data = row.data
        upsert(Province, slug=data["slug"], counts=counts, values={
            "name": data["name"],
            "aliases": joined(data.get("aliases")),
            "kind": data.get("kind") or Province.Kind.PROVINCE,
            "note": text(data.get("note")),
        })


def load_prefectures(rows: list[SeedRow], *, counts: Counter) -> None:
    provinces = by_slug(Province)
    for row in rows:
        data = row.data
        upsert(Prefecture, slug=data["slug"], counts=counts, values={
            "name": data["name"],
            "aliases": joined(data.get("aliases")),
            "kind": data.get("kind") or Prefecture.Kind.CITY,
            "province": provinces[data["province"]],
            "note": text(data.get("note")),
        })


def load_counties(rows: list[SeedRow], *, counts: Counter) -> None:
    """Counties with their designations; a designation no longer in the file is removed."""
    Source = designation_source_model()

    provinces, prefectures, sources = by_slug(Province), by_slug(Prefecture), by_slug(Source)
    for row in rows:
        data = row.data
        before = Counter(counts)
        county = upsert(County, slug=data["slug"], counts=counts, values={
            "name": data["name"],
            "aliases": joined(data.get("aliases")),
            "kind": data.get("kind") or County.Kind.COUNTY,
            "prefecture": prefectures.get(data.get("prefecture") or ""),
            "province": provinces[data["province"]],
            "code": text(data.get("code")),
            "note": text(data.get("note")),
        })
        wanted = {
            (item["designation"], item.get("source") or None): text(item.get("quote"))
            for item in as_list(data.get("designations"))
        }
        existing = {(d.designation, d.source.slug if d.source else None): d for d in county.designations.all()}
        changed = False
        for key, designation in existing.items():
            if key not in wanted:
                designation.delete()
                changed = True
            elif designation.quote != wanted[key]:
                designation.quote = wanted[key]
                designation.save()
                changed = True
        for key, quote in wanted.items():
            if key not in existing:
                CountyDesignation.objects.create(
                    county=county, designation=key[0], source=sources.get(key[1] or ""), quote=quote
                )
                changed = True
        if changed and counts["unchanged"] > before["unchanged"]:
            counts["unchanged"] -= 1
            counts["updated"] += 1
