"""``manage.py import_all DIR``: restore an export_all backup into an empty database (tracker/backup.py)."""

from django.core.management.base import BaseCommand, CommandError

from tracker.backup import BackupError, import_all


class Command(BaseCommand):
    help = ("Restore a backup written by export_all into an EMPTY database: checks the manifest "
            "(sizes, SHA-256, rows, columns) first, then imports everything in one transaction.")

    def add_arguments(self, parser):
        parser.add_argument("directory", help="folder holding manifest.json and the CSV files")

    def handle(self, *args, directory, **options):
        try:
            counts = import_all(directory=directory)
        except BackupError as exc:
            for problem in exc.problems:
                self.stderr.write(problem)
            raise CommandError(f"{len(exc.problems)} problem(s) in {directory}; nothing was written") from None
        for label, count in counts.items():
            self.stdout.write(f"{label:<22} {count:>7} restored")
        self.stdout.write(self.style.SUCCESS(f"{sum(counts.values())} records restored from {directory}"))
