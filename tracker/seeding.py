"""``load_seeds``: read every seed file, check the whole set, then load it in one transaction.

The record types, their files and their load order come from ``core.registry``; each record app's
``seeding.py`` loads its own rows. The command is a thin shell over :func:`check_seeds` and
:func:`load_seeds`.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from django.db import transaction

from core import registry
from core.records import parse_partial_date
from core.seeding import (
    SEEDS_DIR,
    SeedError,
    Seeds,
    SeedRow,
    as_list,
    cycles,
    decimal_problem,
    exact_decimal,
)
from core.seeding import read_seeds as read_seed_files
from programs.printed import value_agrees

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def read_seeds(root: Path | str = SEEDS_DIR) -> Seeds:
    """Every registered record type's seed files under ``root``."""
    return read_seed_files([t.key for t in registry.record_types() if t.seed_loader], root)


KEYS = {
    "provinces": {"slug", "name", "aliases", "kind", "note"},
    "prefectures": {"slug", "name", "aliases", "kind", "province", "note"},
    "counties": {"slug", "name", "aliases", "kind", "prefecture", "province", "code", "note", "designations"},
    "funds": {"slug", "name", "aliases", "founded", "commitment", "commitment_printed", "commitment_term",
              "successor", "succeeded_on", "summary", "sources"},
    "organizations": {"slug", "name", "aliases", "kind", "parent", "summary", "sources"},
    "programs": {"slug", "name", "aliases", "kind", "area", "fund", "organizations", "parent", "start", "end",
                 "summary", "counties", "sources"},
    "envoys": {"slug", "name", "nickname", "aliases", "role", "joined_year", "batch", "organization",
               "summary", "sources"},
    "postings": {"slug", "envoy", "county", "title", "start", "end", "note", "sources"},
    "outcomes": {"slug", "metric", "kind", "value", "unit", "value_printed", "qualifier", "period_start",
                 "period_end", "program", "fund", "county", "source", "quote", "note"},
}


REQUIRED = {
    "provinces": {"slug", "name"},
    "prefectures": {"slug", "name", "province"},
    "counties": {"slug", "name", "province"},
    "funds": {"slug", "name"},
    "organizations": {"slug", "name"},
    "programs": {"slug", "name"},
    "envoys": {"slug", "name"},
    "postings": {"slug", "envoy", "county"},
    "outcomes": {"slug", "metric", "value_printed", "source", "quote"},
}


# (file, key) → the file its slugs must be found in; list-valued keys are marked with a star.
REFERENCES = {
    "prefectures": {"province": "provinces"},
    "counties": {"prefecture": "prefectures", "province": "provinces"},
    "funds": {"successor": "funds", "sources*": "sources"},
    "organizations": {"parent": "organizations", "sources*": "sources"},
    "programs": {"fund": "funds", "organizations*": "organizations", "parent": "programs",
                 "counties*": "counties", "sources*": "sources"},
    "envoys": {"organization": "organizations", "sources*": "sources"},
    "postings": {"envoy": "envoys", "county": "counties", "sources*": "sources"},
    "outcomes": {"program": "programs", "fund": "funds", "county": "counties", "source": "sources"},
}


DATE_KEYS = {
    "funds": ["founded", "succeeded_on"],
    "programs": ["start", "end"],
    "postings": ["start", "end"],
    "outcomes": ["period_start", "period_end"],
}


def _choices():
    from counties.models import County, Designation, Prefecture, Province
    from envoys.models import Envoy
    from programs.models import Area, Organization, Outcome, Program, Source

    return {
        ("provinces", "kind"): Province.Kind.values,
        ("prefectures", "kind"): Prefecture.Kind.values,
        ("counties", "kind"): County.Kind.values,
        ("organizations", "kind"): Organization.Kind.values,
        ("programs", "kind"): Program.Kind.values,
        ("programs", "area"): Area.values,
        ("envoys", "role"): Envoy.Role.values,
        ("outcomes", "kind"): Outcome.Kind.values,
        ("sources", "script"): Source.Script.values,
        ("designation", "designation"): Designation.values,
    }


def check_seeds(seeds: Seeds) -> list[str]:
    """Every problem in the seed set, one line each, naming file and record. Writes nothing."""
    problems = list(seeds.problems)
    choices = _choices()
    texts = {row.data["slug"]: row.data.get("text", "") for row in seeds.of("sources")}

    for kind in [t.key for t in registry.record_types() if t.seed_loader]:
        seen: dict[str, str] = {}
        for row in seeds.of(kind):
            data, where = row.data, row.where
            slug = data.get("slug")
            if kind != "sources":
                unknown = sorted(set(data) - KEYS[kind])
                if unknown:
                    problems.append(f"{where}: unknown keys {', '.join(unknown)}")
                missing = sorted(key for key in REQUIRED[kind] if data.get(key) in (None, ""))
                if missing:
                    problems.append(f"{where}: missing {', '.join(missing)}")
            if not isinstance(slug, str) or not SLUG_RE.match(slug):
                problems.append(f"{where}: slug {slug!r} is not lowercase ASCII words joined by hyphens")
            elif slug in seen:
                problems.append(f"{where}: duplicate slug {slug!r} (also in {seen[slug]})")
            else:
                seen[slug] = row.file
            for (file_kind, key), allowed in choices.items():
                if file_kind == kind and data.get(key) not in (None, "") and data.get(key) not in allowed:
                    problems.append(f"{where}: {key} {data.get(key)!r} is not one of {', '.join(allowed)}")
            for key, target in REFERENCES.get(kind, {}).items():
                many = key.endswith("*")
                key = key.rstrip("*")
                values = as_list(data.get(key)) if many else [data.get(key)]
                targets = seeds.slugs(target)
                for value in values:
                    if value not in (None, "") and value not in targets:
                        problems.append(f"{where}: {key} {value!r} does not resolve to a record in {target}")
            for key in DATE_KEYS.get(kind, []):
                try:
                    parse_partial_date(data.get(key))
                except ValueError as exc:
                    problems.append(f"{where}: {key}: {exc}")
            problems.extend(_check_record(kind, row, texts, choices))
    for kind, key in (("funds", "successor"), ("organizations", "parent"), ("programs", "parent")):
        problems.extend(cycles(seeds.of(kind), key))
    return problems


def _check_record(kind: str, row: SeedRow, texts: dict, choices: dict) -> list[str]:
    data, where, problems = row.data, row.where, []
    if kind == "sources":
        try:
            parse_partial_date(data.get("published"))
        except ValueError as exc:
            problems.append(f"{where}: published: {exc}")
        if data.get("script") not in choices[("sources", "script")]:
            problems.append(f"{where}: script {data.get('script')!r} is not simplified or traditional")
    if kind == "counties":
        for number, item in enumerate(as_list(data.get("designations")), start=1):
            if not isinstance(item, dict):
                problems.append(f"{where}: designation {number} is not a mapping")
                continue
            if item.get("designation") not in choices[("designation", "designation")]:
                problems.append(f"{where}: designation {item.get('designation')!r} is not a known designation")
            if item.get("source") and item["source"] not in texts:
                problems.append(f"{where}: designation source {item['source']!r} does not resolve to a source")
            elif item.get("quote") and item["quote"] not in texts.get(item.get("source"), ""):
                problems.append(f"{where}: designation quote not found verbatim in {item.get('source')}: "
                                f"{item['quote'][:40]!r}")
    if kind in ("funds",) and data.get("commitment") not in (None, ""):
        problems.extend(decimal_problem(where, "commitment", data.get("commitment")))
        if data.get("commitment_printed"):
            wrong = value_agrees(exact_decimal(data["commitment"]), data["commitment_printed"], "元")
            if wrong and "unit" not in wrong:
                problems.append(f"{where}: commitment {wrong}")
    if kind in ("programs", "postings", "outcomes"):
        start_key, end_key = ("period_start", "period_end") if kind == "outcomes" else ("start", "end")
        try:
            start, _ = parse_partial_date(data.get(start_key))
            end, _ = parse_partial_date(data.get(end_key))
            if start and end and end < start:
                problems.append(f"{where}: {end_key} {data.get(end_key)} is before {start_key} {data.get(start_key)}")
        except ValueError:
            pass  # reported above
    if kind == "envoys" and data.get("joined_year") not in (None, ""):
        if not re.fullmatch(r"(19|20)\d\d", str(data["joined_year"])):
            problems.append(f"{where}: joined_year {data['joined_year']!r} is not a year")
    if kind == "outcomes":
        quote = data.get("quote") or ""
        source = data.get("source")
        if not any(data.get(key) for key in ("program", "fund", "county")):
            problems.append(f"{where}: belongs to nothing (give a program, fund or county)")
        if quote and source in texts and quote not in texts[source]:
            problems.append(f"{where}: quote not found verbatim in {source}: {quote[:40]!r}")
        printed = str(data.get("value_printed") or "")
        if printed and quote and printed not in quote:
            problems.append(f"{where}: value_printed {printed!r} does not occur in its quote")
        value_problems = decimal_problem(where, "value", data.get("value"))
        problems.extend(value_problems)
        if printed and not value_problems:
            wrong = value_agrees(exact_decimal(data.get("value")), printed, str(data.get("unit") or ""))
            if wrong:
                problems.append(f"{where}: {wrong}")
    return problems



def load_seeds(root: Path | str = SEEDS_DIR, *, progress=None) -> dict[str, Counter]:
    """Check, then load everything in one transaction, in the registry's load order. Returns counts per
    record type.

    Raises :class:`SeedError` (and writes nothing) if the check finds problems; any error while
    writing rolls the whole load back.
    """
    seeds = read_seeds(root)
    problems = check_seeds(seeds)
    if problems:
        raise SeedError(problems)
    results: dict[str, Counter] = {}
    with transaction.atomic():
        for record_type in registry.record_types():
            if not record_type.seed_loader:
                continue
            rows = seeds.of(record_type.key)
            if progress:
                progress(record_type.key, len(rows))
            counts: Counter = Counter()
            record_type.loader(rows, counts=counts)
            results[record_type.key] = counts
    return results
