"""Loading ``seeds/`` into the database: reading, checking and upserting, as plain functions.

The command ``load_seeds`` is a thin shell over :func:`read_seeds`, :func:`check_seeds` and
:func:`load_seeds`. Every loader upserts on the slug and saves a row only when something in it
differs, so a second run changes nothing, not even a timestamp.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml
from django.conf import settings
from django.db import transaction

from config.records import parse_partial_date
from programs.printed import value_agrees

SEEDS_DIR = Path(settings.BASE_DIR) / "seeds"
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
HEADER_KEYS = ("slug", "title", "publisher", "published", "script", "original_file", "date_note", "note")


# ---------------------------------------------------------------------------
# Reading


def parse_article(text: str) -> dict:
    """One cleaned article file → the fields of its Source. Pure: text in, dict out.

    The file is ``key: value`` header lines, a ``---`` line, then the article as printed.
    """
    text = text.lstrip("\ufeff").replace("\r\n", "\n")
    head, sep, body = text.partition("\n---\n")
    if not sep:
        raise ValueError("no '---' line between header and text")
    fields = {}
    for number, line in enumerate(head.split("\n"), start=1):
        if not line.strip():
            continue
        key, colon, value = line.partition(":")
        if not colon:
            raise ValueError(f"header line {number} is not 'key: value': {line!r}")
        fields[key.strip()] = value.strip()
    missing = [key for key in ("slug", "title", "script") if not fields.get(key)]
    if missing:
        raise ValueError(f"header lacks {', '.join(missing)}")
    unknown = sorted(set(fields) - set(HEADER_KEYS))
    if unknown:
        raise ValueError(f"unknown header keys: {', '.join(unknown)}")
    fields["text"] = body
    return fields


@dataclass
class SeedRow:
    """One record read from a seed file, with where it came from for error messages."""

    file: str
    index: int
    data: dict

    @property
    def where(self) -> str:
        slug = self.data.get("slug") if isinstance(self.data, dict) else None
        return f"{self.file}: {slug or f'record {self.index}'}"


@dataclass
class Seeds:
    rows: dict[str, list[SeedRow]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def of(self, kind: str) -> list[SeedRow]:
        return self.rows.get(kind, [])

    def slugs(self, kind: str) -> set[str]:
        return {row.data.get("slug") for row in self.of(kind)}


# Loading order: what a file refers to is loaded before it.
DATA_FILES = [
    "provinces", "prefectures", "counties", "funds", "organizations",
    "programs", "envoys", "postings", "outcomes",
]


def read_seeds(root: Path | str = SEEDS_DIR) -> Seeds:
    """Read ``articles/`` and ``data/`` under ``root``; unreadable files become problems."""
    root = Path(root)
    seeds = Seeds()
    sources = []
    for path in sorted((root / "articles").glob("*.txt")):
        name = f"articles/{path.name}"
        try:
            fields = parse_article(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            seeds.problems.append(f"{name}: {exc}")
            continue
        fields["file_name"] = path.name
        sources.append(SeedRow(name, len(sources) + 1, fields))
    seeds.rows["sources"] = sources

    for kind in DATA_FILES:
        paths = sorted((root / "data").glob(f"{kind}.yaml")) + sorted((root / "data").glob(f"{kind}-*.yaml"))
        rows = []
        for path in paths:
            name = f"data/{path.name}"
            try:
                content = yaml.safe_load(path.read_text(encoding="utf-8")) or []
            except (yaml.YAMLError, UnicodeDecodeError) as exc:
                seeds.problems.append(f"{name}: not readable YAML: {exc}")
                continue
            if not isinstance(content, list):
                seeds.problems.append(f"{name}: expected a list of records")
                continue
            for index, data in enumerate(content, start=1):
                if not isinstance(data, dict):
                    seeds.problems.append(f"{name}: record {index} is not a mapping")
                    continue
                rows.append(SeedRow(name, index, data))
        seeds.rows[kind] = rows
    return seeds


# ---------------------------------------------------------------------------
# Checking

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


def as_list(value) -> list:
    if value in (None, ""):
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def check_seeds(seeds: Seeds) -> list[str]:
    """Every problem in the seed set, one line each, naming file and record. Writes nothing."""
    problems = list(seeds.problems)
    choices = _choices()
    texts = {row.data["slug"]: row.data.get("text", "") for row in seeds.of("sources")}

    for kind in ["sources", *DATA_FILES]:
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
        problems.extend(_cycles(seeds.of(kind), key))
    return problems


def _cycles(rows: list[SeedRow], key: str) -> list[str]:
    """A record that is, through ``key``, its own parent (or successor)."""
    target = {row.data.get("slug"): row.data.get(key) for row in rows}
    problems = []
    for row in rows:
        slug, seen = row.data.get("slug"), set()
        step = target.get(slug)
        while step and step not in seen:
            if step == slug:
                problems.append(f"{row.where}: {key} chain leads back to itself")
                break
            seen.add(step)
            step = target.get(step)
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
        problems.extend(_decimal_problem(where, "commitment", data.get("commitment")))
        if data.get("commitment_printed"):
            wrong = value_agrees(_decimal(data["commitment"]), data["commitment_printed"], "元")
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
        value_problems = _decimal_problem(where, "value", data.get("value"))
        problems.extend(value_problems)
        if printed and not value_problems:
            wrong = value_agrees(_decimal(data.get("value")), printed, str(data.get("unit") or ""))
            if wrong:
                problems.append(f"{where}: {wrong}")
    return problems


def _decimal(value) -> Decimal | None:
    if value in (None, ""):
        return None
    if isinstance(value, float):
        raise InvalidOperation("floats are not exact; quote the value as a string")
    return Decimal(str(value).replace(",", ""))


def _decimal_problem(where: str, key: str, value) -> list[str]:
    try:
        _decimal(value)
    except (InvalidOperation, ValueError) as exc:
        return [f"{where}: {key} {value!r} is not an exact decimal ({exc or 'unparseable'})"]
    return []


# ---------------------------------------------------------------------------
# Writing


def joined(value) -> str:
    """A YAML list (or string) of aliases → the newline-separated text the models keep."""
    return "\n".join(str(v).strip() for v in as_list(value) if str(v).strip())


def text(value) -> str:
    return "" if value is None else str(value).strip()


def dates(data: dict, key: str, field_name: str | None = None) -> dict:
    value, precision = parse_partial_date(data.get(key))
    field_name = field_name or key
    return {field_name: value, f"{field_name}_precision": precision}


def upsert(model, *, slug: str, values: dict, many: dict | None = None, counts: Counter) -> object:
    """Create or update the row with ``slug`` so it holds ``values``; touch it only if it differs.

    ``many`` maps a many-to-many field to the objects it must hold. ``counts`` gets one of
    ``created``, ``updated`` or ``unchanged`` per call.
    """
    instance = model.objects.filter(slug=slug).first()
    if instance is None:
        instance = model(slug=slug, **values)
        instance.save()
        outcome = "created"
    else:
        changed = [name for name, value in values.items() if _differs(getattr(instance, name), value)]
        if changed:
            for name in changed:
                setattr(instance, name, values[name])
            # The seed load runs in one transaction, so a plain increment is safe here; an F()
            # expression would also reach simple-history's insert of the historical row and fail.
            instance.version += 1
            instance.save()
            outcome = "updated"
        else:
            outcome = "unchanged"
    for name, objects in (many or {}).items():
        manager = getattr(instance, name)
        wanted = {obj.pk for obj in objects}
        if set(manager.values_list("pk", flat=True)) != wanted:
            manager.set(objects)
            if outcome == "unchanged":
                outcome = "updated"
    counts[outcome] += 1
    return instance


def _differs(current, wanted) -> bool:
    if isinstance(current, Decimal) or isinstance(wanted, Decimal):
        if current is None or wanted is None:
            return current is not wanted
        return Decimal(current) != Decimal(wanted)
    if hasattr(current, "pk") or hasattr(wanted, "pk"):
        return getattr(current, "pk", None) != getattr(wanted, "pk", None)
    return current != wanted


def parents_first(rows: list[SeedRow], key: str) -> list[SeedRow]:
    """Order rows so that the row a ``key`` points to (a parent, a successor) comes first."""
    by = {row.data["slug"]: row for row in rows}
    ordered, placed = [], set()

    def place(row, trail=()):
        slug = row.data["slug"]
        if slug in placed or slug in trail:
            return
        target = by.get(row.data.get(key) or "")
        if target is not None:
            place(target, (*trail, slug))
        placed.add(slug)
        ordered.append(row)

    for row in rows:
        place(row)
    return ordered


def by_slug(model) -> dict:
    return {obj.slug: obj for obj in model.objects.all()}


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
            "commitment": _decimal(data.get("commitment")),
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


def load_outcomes(rows: list[SeedRow], *, counts: Counter) -> None:
    from counties.models import County
    from programs.models import Fund, Outcome, Program, Source

    sources, funds, programs, counties = by_slug(Source), by_slug(Fund), by_slug(Program), by_slug(County)
    for row in rows:
        data = row.data
        upsert(Outcome, slug=data["slug"], counts=counts, values={
            "metric": text(data["metric"]),
            "kind": data.get("kind") or Outcome.Kind.RESULT,
            "value": _decimal(data.get("value")),
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
        })


class SeedError(Exception):
    """The seed set has problems; nothing was written."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in the seed data")


def load_seeds(root: Path | str = SEEDS_DIR, *, progress=None) -> dict[str, Counter]:
    """Check, then load everything in one transaction. Returns counts per model.

    Raises :class:`SeedError` (and writes nothing) if the check finds problems; any error while
    writing rolls the whole load back.
    """
    from counties.seeding import load_counties, load_prefectures, load_provinces
    from envoys.seeding import load_envoys, load_postings

    seeds = read_seeds(root)
    problems = check_seeds(seeds)
    if problems:
        raise SeedError(problems)
    steps = [
        ("sources", load_sources), ("provinces", load_provinces), ("prefectures", load_prefectures),
        ("counties", load_counties), ("funds", load_funds), ("organizations", load_organizations),
        ("programs", load_programs), ("envoys", load_envoys), ("postings", load_postings),
        ("outcomes", load_outcomes),
    ]
    results: dict[str, Counter] = {}
    with transaction.atomic():
        for kind, loader in steps:
            rows = seeds.of(kind)
            if progress:
                progress(kind, len(rows))
            counts: Counter = Counter()
            loader(rows, counts=counts)
            results[kind] = counts
    return results
