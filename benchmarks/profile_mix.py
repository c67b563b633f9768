"""Where the CPU of load.py's request mix goes, shape by shape, without a server: each request of the mix is
rendered in this process through Django's test client, with the page cache emptied before it (every request a
first request, as most of load.py's are) and the count cache kept (as a long-running worker keeps it).

    DATABASE_URL=sqlite:////path/bench.sqlite3 .venv/bin/python benchmarks/profile_mix.py --requests 300
    DATABASE_URL=... .venv/bin/python benchmarks/profile_mix.py --queries '/outcomes/?fund=x&sort=-value'

Prints the CPU seconds (``time.process_time``: this process only, so it holds on a busy machine) per request
shape, slowest first. ``--queries URL …`` instead renders each URL with both caches empty and prints its
slowest SQL statements (``--keep-counts``: the whole list's counts counted first, as a warm worker has them).
The database must be one load.py (or make bench) filled; nothing is written to it.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "profile-mix-only")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SECURE_COOKIES", "0")
os.environ.setdefault("LOG_LEVEL", "ERROR")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300, help="requests of the mix (default 300)")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the mix (default 7)")
    parser.add_argument("--queries", nargs="+", metavar="URL", help="print the slowest SQL of each URL instead")
    parser.add_argument("--keep-counts", action="store_true", help="with --queries: whole-list counts first")
    args = parser.parse_args(argv)
    if "DATABASE_URL" not in os.environ:
        sys.exit("set DATABASE_URL to the database load.py or make bench filled")

    import django

    django.setup()
    import load
    from django.core.cache import caches
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    client.get("/")  # imports, templates, the first connection: not counted

    if args.queries:
        for path in args.queries:
            caches["pages"].clear()
            caches["counts"].clear()
            if args.keep_counts:
                client.get(path.split("?")[0])
                caches["pages"].clear()
            with CaptureQueriesContext(connection) as captured:
                started = time.process_time()
                status = client.get(path).status_code
                cpu = time.process_time() - started
            print(f"== {path}: {status}, {cpu * 1000:.0f} ms CPU, {len(captured.captured_queries)} queries")
            for query in sorted(captured.captured_queries, key=lambda q: -float(q["time"]))[:6]:
                print(f"  {float(query['time']) * 1000:7.0f} ms  {query['sql'][:300]}")
        return 0

    class Args:
        database_url = os.environ["DATABASE_URL"]

    slugs = load.sample(Args)
    rng = random.Random(args.seed)
    shapes = collections.defaultdict(list)
    for _ in range(args.requests):
        _kind, path = load.make_request(rng, slugs)
        caches["pages"].clear()
        started = time.process_time()
        response = client.get(path)
        if response.streaming:
            for _chunk in response.streaming_content:
                pass
        shapes[load.route_of(path)].append((time.process_time() - started, path, response.status_code))
    total = sum(cpu for rows in shapes.values() for cpu, _path, _status in rows)
    print(f"{args.requests} requests of the mix (seed {args.seed}): {total:.1f} s CPU, "
          f"{total / args.requests * 1000:.0f} ms a request")
    print(f"{'CPU s':>7} {'n':>4} {'ms/req':>7} {'max ms':>7}  shape")
    for shape, rows in sorted(shapes.items(), key=lambda item: -sum(r[0] for r in item[1])):
        cpu = sum(r[0] for r in rows)
        print(f"{cpu:7.2f} {len(rows):4d} {cpu / len(rows) * 1000:7.0f} {max(rows)[0] * 1000:7.0f}  {shape}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
