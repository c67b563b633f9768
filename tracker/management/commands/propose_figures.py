"""``manage.py propose_figures FILE [--date YYYY-MM-DD]``: the intake's proposer from the command line.

Reads an article (``.txt`` or ``.html``; UTF-8, GB18030/GBK or Big5, told apart as the admin's intake does),
cleans it the same way, and prints one CSV row per candidate figure to stdout. It reads the database only to
match names against the records there (programs, funds, counties …) and writes nothing. A cleaned seed article
(``seeds/articles/*.txt``, a header above ``---``) is read without its header, and dated by it unless
``--date`` says otherwise.
"""

import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from core.records import parse_partial_date, plain_decimal
from core.seeding import parse_article
from tracker.intake import ArticleFileError, clean_article, known_records, read_article_file
from tracker.proposer import Known, propose

COLUMNS = ("quote", "printed", "value", "unit", "period_start", "period_end", "program", "fund", "county",
           "indicator", "confidence", "qualifier", "metric", "county_code", "reasons")


class Command(BaseCommand):
    help = ("Print the candidate figures of an article (.txt or .html; UTF-8, GB18030/GBK or Big5) as CSV; "
            "writes nothing.")

    def add_arguments(self, parser):
        parser.add_argument("file", help="the article: a .txt or .html file")
        parser.add_argument("--date", default="", help="the article's date, YYYY, YYYY-MM or YYYY-MM-DD: "
                                                        "what 去年, 今年 and 目前 are counted from")

    def handle(self, *args, file, date="", **options):
        try:
            parse_partial_date(date)
        except ValueError as exc:
            raise CommandError(f"--date: {exc}") from None
        path = Path(file)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"{file}: {exc.strerror or exc}") from None
        try:
            article = read_article_file(data, path.name, check_name=False)  # what is in it decides, not its name
        except ArticleFileError as exc:
            raise CommandError(f"{file}: {exc}") from None
        text = article.text
        try:
            seed = parse_article(text)
        except ValueError:
            seed = None
        if seed is not None:
            text, date = seed["text"], date or seed.get("published", "")
        text = clean_article(text).text
        try:
            known = known_records()
        except DatabaseError as exc:  # no database yet (not migrated): names are not matched against records
            self.stderr.write(f"the database could not be read ({exc.__class__.__name__}); names are not matched "
                              "against records")
            known = Known()
        writer = csv.writer(self.stdout, lineterminator="\n")
        writer.writerow(COLUMNS)
        for candidate in propose(text, published=date or None, known=known):
            writer.writerow([
                candidate.quote, candidate.printed,
                plain_decimal(candidate.value) if candidate.value is not None else "",
                candidate.unit, candidate.period_start, candidate.period_end, candidate.program, candidate.fund,
                candidate.county, candidate.indicator, f"{candidate.confidence:.2f}", candidate.qualifier,
                candidate.metric, candidate.division.adcode if candidate.division else "",
                "; ".join(f"{what}: {words}" for what, words in candidate.reasons),
            ])
