"""Where a page's time goes: its SQL queries (each timed) and the Python functions that cost most.

Run from the project directory, with the benchmark's database::

    DATABASE_URL=sqlite:///$PWD/benchmarks/out/bench.sqlite3 SECRET_KEY=x \\
        .venv/bin/python benchmarks/profile_page.py "/programs/?q=县" [--profile] [--sql-chars 300]

The request goes through Django's test client in this process (no server), as an anonymous visitor.
"""

import argparse
import cProfile
import io
import os
import pstats
import sys
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("--profile", action="store_true", help="also print the top functions (cProfile)")
    parser.add_argument("--sql-chars", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=2, help="requests; the last one is reported")
    args = parser.parse_args()

    sys.path.insert(0, os.getcwd())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    for _ in range(args.repeat - 1):
        client.get(args.path)
    profiler = cProfile.Profile() if args.profile else None
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        response = client.get(args.path)
        size = sum(len(chunk) for chunk in response.streaming_content) if response.streaming else len(response.content)
        if profiler:
            profiler.disable()
        elapsed = time.perf_counter() - started
    sql_total = sum(float(q["time"]) for q in queries.captured_queries)
    print(f"{args.path}: {response.status_code}, {size} bytes, {elapsed * 1000:.1f} ms, "
          f"{len(queries.captured_queries)} queries taking {sql_total * 1000:.1f} ms")
    for query in sorted(queries.captured_queries, key=lambda q: -float(q["time"])):
        print(f"  {float(query['time']) * 1000:8.1f} ms  {query['sql'][:args.sql_chars]}")
    if profiler:
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats("cumulative").print_stats(35)
        print(stream.getvalue())


if __name__ == "__main__":
    main()
