"""Recall and precision of the intake proposer on the five seed articles (issue 13).

For each article in ``seeds/articles/``, ``tracker.proposer.propose`` runs on its cleaned text with
its date and the seed records as what is known; its candidates are compared with the curated
outcomes of that article in ``seeds/data/outcomes-*.yaml``, read afresh on every run.

- A curated outcome with a value is **found** when a candidate has exactly its value and either the
  candidate's sentence contains the outcome's quote or the quote (where it stands in the article)
  contains the candidate's printed number. **Recall** is found / curated.
- A candidate **matches** when it finds a curated outcome, or when it is a figure without a value
  standing where a curated outcome without a value (``數萬名``) is printed. **Precision** is the share
  of candidates that match.

Usage: python benchmarks/intake_recall.py  (prints the table; exit status 0)
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _setup_django() -> None:
    """Seeds are read by ``tracker.seeding``, which needs Django's settings (no database is used)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if not os.environ.get("SECRET_KEY"):
        os.environ.setdefault("DEBUG", "1")  # this script only reads files; settings insist on a key otherwise
    import django

    django.setup()


@dataclass
class Row:
    article: str
    curated: int  # curated outcomes with a value
    found: int
    candidates: int
    matching: int  # candidates that match a curated outcome
    missed: list[str]

    @property
    def recall(self) -> float:
        return self.found / self.curated if self.curated else 1.0

    @property
    def precision(self) -> float:
        return self.matching / self.candidates if self.candidates else 0.0


def known_from_seeds(seeds):
    """The seed records as the proposer's ``Known``: (slug, [name, aliases…]) for each."""
    from tracker.proposer import Known

    def pairs(kind, *extra):
        rows = []
        for row in seeds.of(kind):
            data = row.data
            names = [data.get("name"), *(data.get("aliases") or [])]
            names += [data.get(key) for key in extra if len(str(data.get(key) or "")) >= 3]
            rows.append((data["slug"], [n for n in names if n]))
        return rows

    return Known(
        programs=pairs("programs"),
        funds=pairs("funds"),
        organizations=pairs("organizations"),
        people=pairs("envoys", "nickname"),  # a nickname as short as 县长 would match every 县长
        counties=pairs("counties"),
    )


def _spans(text: str, quote: str) -> list[tuple[int, int]]:
    spans, at = [], text.find(quote)
    while quote and at >= 0:
        spans.append((at, at + len(quote)))
        at = text.find(quote, at + 1)
    return spans


def finds(candidate, outcome: dict, text: str) -> bool:
    """Whether ``candidate`` finds the curated ``outcome`` (see the module docstring)."""
    quote = outcome.get("quote") or ""
    if outcome.get("value") in (None, ""):
        return False
    if candidate.value is None or candidate.value != Decimal(str(outcome["value"])):
        return False
    if quote and quote in candidate.quote:
        return True
    return any(start <= candidate.start and candidate.end <= end for start, end in _spans(text, quote))


def _stands_for_empty(candidate, outcome: dict, text: str) -> bool:
    """A candidate without a value where a curated outcome without one is printed (數萬名)."""
    if outcome.get("value") not in (None, "") or candidate.value is not None:
        return False
    printed = outcome.get("value_printed") or ""
    inside = any(s <= candidate.start and candidate.end <= e for s, e in _spans(text, outcome.get("quote") or ""))
    return inside and bool(printed) and (printed in candidate.printed or candidate.printed in printed)


def measure(seeds_dir: Path | None = None) -> list[Row]:
    """One row per seed article, in file order (Django must be set up: ``_setup_django``)."""
    from core.seeding import SEEDS_DIR
    from tracker.proposer import propose
    from tracker.seeding import read_seeds

    seeds = read_seeds(seeds_dir or SEEDS_DIR)
    known = known_from_seeds(seeds)
    outcomes: dict[str, list[dict]] = {}
    for row in seeds.of("outcomes"):
        outcomes.setdefault(row.data.get("source"), []).append(row.data)
    rows = []
    for source in seeds.of("sources"):
        article, text = source.data, source.data["text"]
        candidates = propose(text, published=article.get("published") or None, known=known)
        curated = outcomes.get(article["slug"], [])
        with_value = [o for o in curated if o.get("value") not in (None, "")]
        found = [o for o in with_value if any(finds(c, o, text) for c in candidates)]
        matching = [c for c in candidates
                    if any(finds(c, o, text) or _stands_for_empty(c, o, text) for o in curated)]
        missed = [f"{o['slug']} ({o.get('value_printed')})" for o in with_value if o not in found]
        rows.append(Row(article["file_name"], len(with_value), len(found), len(candidates), len(matching), missed))
    return rows


def table(rows: list[Row]) -> str:
    lines = [f"{'article':<28} {'curated':>7} {'found':>5} {'recall':>6} {'candidates':>10} {'precision':>9}"]
    for row in rows:
        lines.append(f"{row.article:<28} {row.curated:>7} {row.found:>5} {row.recall:>6.0%} "
                     f"{row.candidates:>10} {row.precision:>9.0%}")
    curated, found = sum(r.curated for r in rows), sum(r.found for r in rows)
    candidates, matching = sum(r.candidates for r in rows), sum(r.matching for r in rows)
    lines.append(f"{'all':<28} {curated:>7} {found:>5} {found / curated:>6.0%} "
                 f"{candidates:>10} {matching / candidates:>9.0%}")
    for row in rows:
        for missed in row.missed:
            lines.append(f"missed in {row.article}: {missed}")
    return "\n".join(lines)


if __name__ == "__main__":
    _setup_django()
    print(table(measure()))
