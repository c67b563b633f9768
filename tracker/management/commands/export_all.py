"""``manage.py export_all DIR``: every record as one CSV per model plus manifest.json (tracker/backup.py)."""

from django.core.management.base import BaseCommand, CommandError

from tracker.backup import BackupError, export_all


class Command(BaseCommand):
    help = "Write every record to DIR: one CSV per model (the Resources' columns) and manifest.json."

    def add_arguments(self, parser):
        parser.add_argument("directory", help="a new folder (created) or an empty one to write into")

    def handle(self, *args, directory, **options):
        try:
            manifest = export_all(directory=directory)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        for entry in manifest["files"]:
            self.stdout.write(f"{entry['file']:<18} {entry['rows']:>7} rows  sha256 {entry['sha256'][:12]}…")
        total = sum(entry["rows"] for entry in manifest["files"])
        self.stdout.write(self.style.SUCCESS(f"{total} records written to {directory}"))
