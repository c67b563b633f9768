"""Loading provinces, prefectures and counties from ``seeds/data/`` (called by ``load_seeds``)."""

from collections import Counter

from core.seeding import SeedRow, as_list, by_slug, exact_decimal, joined, text, upsert
from counties.models import County, CountyDesignation, Prefecture, Province, designation_source_model


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
            "latitude": exact_decimal(data.get("latitude")),
            "longitude": exact_decimal(data.get("longitude")),
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


def check_division_codes(rows: list[SeedRow], *, places: dict[str, str]) -> list[str]:
    """Each county's code is its division's in the division table (``counties.divisions``), and its
    coordinates are that division's. ``places``: province and prefecture slugs → names, to settle a name that
    several divisions share. One line per problem, naming file and record."""
    from counties.divisions import division_by_code, lookup_county

    problems = []
    for row in rows:
        data = row.data
        code = text(data.get("code")).strip()
        names = [data.get("name") or "", *as_list(data.get("aliases"))]
        within = [places[s] for s in (data.get("province"), data.get("prefecture")) if s in places]
        if not code:
            found = next((d for d in (lookup_county(n, within=within) for n in names) if d), None)
            hint = f"; the table gives {found.adcode} ({found.name})" if found else ""
            problems.append(f"{row.where}: no division code{hint}")
            continue
        division = division_by_code(code)
        if division is None:
            problems.append(f"{row.where}: code {code} is not a county-level division in the division table")
            continue
        if division.name not in names:
            problems.append(f"{row.where}: code {code} is {division.name} in the division table, "
                            f"not {data.get('name')}")
        for key, expected in (("latitude", division.lat), ("longitude", division.lon)):
            given = data.get(key)
            try:
                wrong = exact_decimal(given) != expected
            except (ArithmeticError, ValueError):
                continue  # not a number: the column check reports it
            if wrong:
                problems.append(f"{row.where}: {key} {given or '(empty)'} is not the division table's {expected} "
                                f"for {code}")
    return problems
