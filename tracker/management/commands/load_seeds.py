"""``manage.py load_seeds [--check] [--path DIR]``: load or validate ``seeds/``. No rules live here."""

from django.core.management.base import BaseCommand, CommandError

from core.seeding import SEEDS_DIR, SeedError
from tracker.seeding import check_seeds, load_seeds, read_seeds


class Command(BaseCommand):
    help = "Load seeds/ into the database in one transaction (idempotent), or --check it and write nothing."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="validate the seed data and write nothing")
        parser.add_argument("--path", default=str(SEEDS_DIR), help="seed folder (default: the project's seeds/)")

    def handle(self, *args, check=False, path=None, **options):
        if check:
            seeds = read_seeds(path)
            problems = check_seeds(seeds)
            if problems:
                for problem in problems:
                    self.stderr.write(problem)
                raise CommandError(f"{len(problems)} problem(s) in {path}; nothing was written")
            total = sum(len(rows) for rows in seeds.rows.values())
            self.stdout.write(self.style.SUCCESS(f"seed data OK: {total} records checked"))
            return

        def progress(kind, count):
            self.stdout.write(f"loading {kind} ({count}) …")

        try:
            results = load_seeds(path, progress=progress)
        except SeedError as exc:
            for problem in exc.problems:
                self.stderr.write(problem)
            raise CommandError(f"{len(exc.problems)} problem(s) in {path}; nothing was written") from None
        created = updated = 0
        for kind, counts in results.items():
            created += counts["created"]
            updated += counts["updated"]
            self.stdout.write(
                f"{kind:<14} {counts['created']:>4} created {counts['updated']:>4} updated "
                f"{counts['unchanged']:>4} unchanged"
            )
        summary = f"{created} created, {updated} updated"
        if not created and not updated:
            summary += " (nothing changed)"
        self.stdout.write(self.style.SUCCESS(summary))
