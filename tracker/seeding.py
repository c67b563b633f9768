"""``load_seeds``: read every seed file, check the whole set, then load it in one transaction.

The record types, their files and their load order come from ``core.registry``; each record app's
``seeding.py`` loads its own rows. The command is a thin shell over :func:`check_seeds` and
:func:`load_seeds`.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from pathlib import Path

from django.db import transaction
from django.utils import translation

from core import registry
from core.records import plain_decimal
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
    problems.extend(check_note_numbers(seeds, texts.values()))
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


# A number in a note: digits, with thousands commas or a decimal point (fullwidth digits are read as ASCII).
NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
# What a note may print that is not a figure (seeds/README.md): a slug (o001-005-puan-…, 2021-zaoxueshi-…),
# an ISO date (2018-10-17, 2019-12) and an article's number (000 … 004, ARTICLE_NUMBERS).
NOT_A_FIGURE = re.compile(r"[a-z0-9]*[a-z][a-z0-9]*(?:-[a-z0-9]+)+|\d+(?:-\d+)*-[a-z][a-z0-9-]*"
                          r"|(?<!\d)\d{4}-\d{2}(?:-\d{2})?(?!\d)")
ARTICLE_NUMBERS = re.compile(r"00\d")
NOTE_KEYS = ("note", "date_note")


def numbers_in(text: str) -> set[str]:
    """The numbers a note prints in digits (``20,000`` is ``20000``), without what is not a figure."""
    text = NOT_A_FIGURE.sub(" ", unicodedata.normalize("NFKC", text or ""))
    found = {match.replace(",", "") for match in NUMBER.findall(text)}
    return {number for number in found if not ARTICLE_NUMBERS.fullmatch(number)}


def printed_numbers(articles) -> set[str]:
    """Every number the articles print: as written in digits, and as the value of each figure they print
    (``2万余名`` is 20000, ``三人`` 3), so that a note may give a printed figure in base units."""
    from programs.printed import find_figures

    found = set()
    for text in articles:
        found |= {match.replace(",", "") for match in NUMBER.findall(unicodedata.normalize("NFKC", text))}
        for reading in find_figures(text):
            found |= {plain_decimal(n) for n in (reading.value, reading.low, reading.high) if n is not None}
    return found


def check_note_numbers(seeds: Seeds, articles) -> list[str]:
    """A note (of any seed record, an article's header too) prints no number that no article prints: notes
    say only what the articles say. Slugs, ISO dates and article numbers are not figures."""
    printed = printed_numbers(articles)
    problems = []
    for rows in seeds.rows.values():
        for row in rows:
            for key in NOTE_KEYS:
                value = row.data.get(key)
                unknown = sorted(numbers_in(value) - printed) if isinstance(value, str) else []
                if unknown:
                    problems.append(f"{row.where}: {key} prints {', '.join(unknown)}, which no article prints")
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
