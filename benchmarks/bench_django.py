"""The parts of ``make bench`` that run inside the Django project (``benchmarks/bench.py`` calls them).

Run from the project directory with the database in ``DATABASE_URL``::

    python benchmarks/bench_django.py info                  # slugs and ids the measured pages use, as JSON
    python benchmarks/bench_django.py superuser NAME        # create or reset a superuser (password from
                                                            # DJANGO_SUPERUSER_PASSWORD)
    python benchmarks/bench_django.py import-csv PATH N     # N new outcome rows, as a staff user would import
    python benchmarks/bench_django.py count-imported        # how many of those rows are in the database
    python benchmarks/bench_django.py analyze               # ANALYZE (PostgreSQL: VACUUM (ANALYZE)) after the bulk load

Imported rows get slugs ``demo-import-NNNNN``: generate_demo counts them as its own, so the next
``generate_demo`` deletes them and does not refuse to run.
"""

import csv
import json
import os
import sys
from pathlib import Path

IMPORT_PREFIX = "demo-import-"


def setup():
    sys.path.insert(0, os.getcwd())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def info():
    from django.db import connection
    from django.db.models import Count

    from counties.models import Province
    from programs.models import Fund, Program

    fund = (Fund.objects.filter(slug__startswith="demo-").annotate(n=Count("programs"))
            .order_by("-n", "slug").first())
    area = (Program.objects.filter(fund=fund).values("area").annotate(n=Count("id"))
            .order_by("-n", "area").first()["area"])
    province = (Province.objects.filter(slug__startswith="demo-")
                .annotate(n=Count("counties__programs", distinct=True)).order_by("-n", "slug").first())
    print(json.dumps({
        "vendor": connection.vendor,
        "programs": Program.objects.count(),
        "fund": {"slug": fund.slug, "id": fund.id},
        "area": area,
        "province": {"slug": province.slug, "id": province.id},
    }))


def superuser(name):
    from django.contrib.auth import get_user_model

    password = os.environ["DJANGO_SUPERUSER_PASSWORD"]
    user, _ = get_user_model().objects.get_or_create(username=name, defaults={"email": f"{name}@example.invalid"})
    user.is_staff = user.is_superuser = user.is_active = True
    user.set_password(password)
    user.save()


def import_csv(path, count):
    """``count`` outcome rows as the export writes them, with new slugs: an exported file imported back."""
    from programs.models import Outcome
    from programs.resources import OutcomeResource

    resource = OutcomeResource()
    header = list(resource.get_export_headers())
    slug_at = header.index("slug")
    keep = [i for i, name in enumerate(header) if name != "version"]  # new rows: no version to check
    queryset = OutcomeResource.prepare_export_queryset(
        Outcome.objects.filter(slug__startswith="demo-").exclude(slug__startswith=IMPORT_PREFIX).order_by("pk")
    )[:count]
    written = 0
    with open(path, "w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow([header[i] for i in keep])
        for outcome in queryset:
            row = [str(value) for value in resource.export_row(outcome)]
            written += 1
            row[slug_at] = f"{IMPORT_PREFIX}{written:05d}"
            writer.writerow([row[i] for i in keep])
    if written != count:
        raise SystemExit(f"only {written} outcomes to copy, {count} wanted")
    print(json.dumps({"rows": written, "bytes": Path(path).stat().st_size}))


def analyze():
    """Planner statistics (and on PostgreSQL the visibility map, which index-only scans need) for the
    freshly generated tables, as autovacuum would soon gather them on PostgreSQL."""
    from django.core.cache import cache
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)" if connection.vendor == "postgresql" else "ANALYZE")
    cache.clear()  # an earlier run's data generation and uploads; the counts live in each server process: cold at start


def count_imported():
    from programs.models import Outcome

    print(json.dumps({"imported": Outcome.objects.filter(slug__startswith=IMPORT_PREFIX).count()}))


def main(argv):
    setup()
    command, *args = argv
    if command == "info":
        info()
    elif command == "superuser":
        superuser(*args)
    elif command == "import-csv":
        import_csv(args[0], int(args[1]))
    elif command == "analyze":
        analyze()
    elif command == "count-imported":
        count_imported()
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
