"""``manage.py generate_demo --programs N [--seed S] [--force]``: demo data at scale (see tracker/demo.py)."""

import time

from django.core.management.base import BaseCommand, CommandError

from tracker.demo import DemoRefused, expected_total, generate_demo


class Command(BaseCommand):
    help = (
        "Fill the database with N generated programs (and their counties, funds, figures, articles, envoys). "
        "Deterministic for a given --seed; replaces earlier generated rows; refuses to run beside records "
        "that are neither generated nor seed records unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument("--programs", type=int, required=True, help="how many programs to generate")
        parser.add_argument("--seed", type=int, default=1, help="random seed (default 1): same seed, same rows")
        parser.add_argument("--force", action="store_true",
                            help="run even though the database holds records the generator did not write")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, programs, seed, force, no_progress, **options):
        from tqdm import tqdm

        started = time.monotonic()
        bar = tqdm(total=expected_total(programs), unit="rows", unit_scale=True, disable=no_progress or None,
                   file=self.stderr._out, desc="generating")
        try:
            counts = generate_demo(programs=programs, seed=seed, force=force, progress=bar.update)
        except DemoRefused as exc:
            raise CommandError(str(exc)) from None
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        finally:
            bar.close()
        for label, count in counts.items():
            self.stdout.write(f"{label:<24} {count:>9}")
        total = sum(counts.values())
        self.stdout.write(self.style.SUCCESS(
            f"{total} rows generated (seed {seed}) in {time.monotonic() - started:.1f} s"
        ))
