"""``load_seeds``: read every seed file, check the whole set, then load it in one transaction.

The record types, their files and their load order come from ``core.registry``; each record app's
``seeding.py`` loads its own rows. The command is a thin shell over :func:`check_seeds` and
:func:`load_seeds`.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from django.db import transaction
from django.utils import translation

from core import registry
from core.seeding import SEEDS_DIR, SeedError, SeedRow, Seeds, as_list, check_rows
from core.seeding import read_seeds as read_seed_files
from counties.seeding import check_division_codes


def read_seeds(root: Path | str = SEEDS_DIR) -> Seeds:
    """Every registered record type's seed files under ``root``."""
    return read_seed_files([t.key for t in seeded_types()], root)


def seeded_types():
    """The registry's record types that have seed files, in load order."""
    return [t for t in registry.record_types() if t.seed_loader]


def check_seeds(seeds: Seeds) -> list[str]:
    """Every problem in the seed set, one line each, naming file and record. Writes nothing.

    The columns, references and rules are those of the import and the models (``core.seeding.check_rows``);
    what only seed files have is checked here: a county's designations with their quotes, and its division
    code and coordinates against the division table.
    """
    with translation.override("en"):  # the command's output is in one language, whatever is active
        problems = check_rows(seeds, seeded_types())
    texts = {row.data["slug"]: row.data.get("text", "") for row in seeds.of("sources")}
    problems.extend(check_designations(seeds.of("counties"), texts))
    places = {row.data.get("slug"): row.data.get("name")
              for kind in ("provinces", "prefectures") for row in seeds.of(kind)}
    problems.extend(check_division_codes(seeds.of("counties"), places=places))
    return problems


def check_designations(rows: list[SeedRow], texts: dict) -> list[str]:
    """Each designation is a known one, cites a source that resolves, and quotes it verbatim."""
    from counties.models import Designation

    problems = []
    for row in rows:
        for number, item in enumerate(as_list(row.data.get("designations")), start=1):
            if not isinstance(item, dict):
                problems.append(f"{row.where}: designation {number} is not a mapping")
                continue
            if item.get("designation") not in Designation.values:
                problems.append(f"{row.where}: designation {item.get('designation')!r} is not a known designation")
            if item.get("source") and item["source"] not in texts:
                problems.append(f"{row.where}: designation source {item['source']!r} does not resolve to a source")
            elif item.get("quote") and item["quote"] not in texts.get(item.get("source"), ""):
                problems.append(f"{row.where}: designation quote not found verbatim in {item.get('source')}: "
                                f"{item['quote'][:40]!r}")
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
        for record_type in seeded_types():
            rows = seeds.of(record_type.key)
            if progress:
                progress(record_type.key, len(rows))
            counts: Counter = Counter()
            record_type.loader(rows, counts=counts)
            results[record_type.key] = counts
    return results
