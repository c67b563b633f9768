"""The page and count caches shared by the worker processes of one machine (SHARED_CACHE_DIR).

gunicorn.conf.py sets SHARED_CACHE_DIR for the processes it starts; config/settings.py then keeps the
"pages" and "counts" caches as files there (Django's FileBasedCache) instead of each process's memory.
"""

import json
import os
import subprocess
import sys

import pytest
from django.core.cache import caches
from django.db import transaction

from core.listing import data_generation, new_data_generation
from core.testing.config import ROOT, start_django
from core.testing.world import build_world

PRINT_CACHES = (
    "import json; from django.conf import settings; "
    "print(json.dumps({n: [settings.CACHES[n]['BACKEND'].rsplit('.', 1)[-1], settings.CACHES[n]['LOCATION']] "
    "for n in ('counts', 'pages')}))"
)


def caches_with(**env):
    result = start_django(PRINT_CACHES, SECRET_KEY="x", **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_without_shared_cache_dir_each_process_keeps_its_own():
    for env in ({}, {"SHARED_CACHE_DIR": ""}, {"SHARED_CACHE_DIR": "none"}):
        found = caches_with(**env)
        assert {name: backend for name, (backend, _) in found.items()} == {"counts": "LocMemCache",
                                                                             "pages": "LocMemCache"}


def test_with_shared_cache_dir_the_caches_are_files_there(tmp_path):
    found = caches_with(SHARED_CACHE_DIR=str(tmp_path))
    assert found == {"counts": ["SharedFileCache", str(tmp_path / "counts")],
                     "pages": ["SharedFileCache", str(tmp_path / "pages")]}


def gunicorn_cache_dir(**env) -> str:
    """SHARED_CACHE_DIR as gunicorn.conf.py leaves it for the workers, with ``env`` over a clean environment."""
    environment = {k: v for k, v in os.environ.items() if k not in {"SHARED_CACHE_DIR", "DATABASE_URL"}}
    environment.update(env)
    code = "import os, runpy; runpy.run_path('gunicorn.conf.py'); print(os.environ['SHARED_CACHE_DIR'])"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_gunicorn_shares_the_caches_in_a_folder_of_the_database():
    sqlite = gunicorn_cache_dir()
    postgres = gunicorn_cache_dir(DATABASE_URL="postgres://u@db:5432/tracker")
    other = gunicorn_cache_dir(DATABASE_URL="postgres://u@db:5432/other")
    assert "rural-tracker-cache-" in sqlite
    assert len({sqlite, postgres, other}) == 3  # two sites on one machine never share
    assert gunicorn_cache_dir(DATABASE_URL="postgres://u@db:5432/other") == other  # and it is stable
    assert gunicorn_cache_dir(SHARED_CACHE_DIR="/srv/cache") == "/srv/cache"
    assert gunicorn_cache_dir(SHARED_CACHE_DIR="none") == "none"


# ---------------------------------------------------------------------------
# The page cache and the counts, kept in files


@pytest.fixture
def shared(settings, tmp_path):
    settings.CACHES = {
        **settings.CACHES,
        "counts": {"BACKEND": "core.sharedcache.SharedFileCache", "LOCATION": str(tmp_path / "counts")},
        "pages": {"BACKEND": "core.sharedcache.SharedFileCache", "LOCATION": str(tmp_path / "pages")},
    }
    yield tmp_path
    caches["counts"].clear()
    caches["pages"].clear()


@pytest.mark.django_db(transaction=True)
def test_pages_and_counts_kept_in_files_serve_and_follow_the_data(client, shared):
    world = build_world()
    first = client.get("/programs/")
    assert first["X-Page-Cache"] == "miss"
    assert list((shared / "pages").iterdir()) and list((shared / "counts").iterdir())
    # What another worker process has: cache objects of its own over the same folder, nothing in memory. The
    # hit below can then only come from the files the first request wrote.
    mine = caches["pages"]
    del caches["pages"], caches["counts"]
    assert caches["pages"] is not mine and caches["pages"]._list_cache_files()
    second = client.get("/programs/")
    assert second["X-Page-Cache"] == "hit" and second.content == first.content
    with transaction.atomic():
        world["dianshang"].summary = "文件缓存之后的新摘要"
        world["dianshang"].save()
    after = client.get("/programs/dianshangtuopin/")
    assert after["X-Page-Cache"] == "miss" and "文件缓存之后的新摘要" in after.content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_migrated_database_starts_a_generation_of_its_own():
    """A database just made never shares the generation of another one (so never its cached pages)."""
    from core.apps import create_cache_table

    new_data_generation()
    before = data_generation()
    create_cache_table(sender=None, using="default")
    assert data_generation() not in (before, "0", None)


def test_the_shared_cache_makes_room_every_so_many_sets(tmp_path):
    from core.sharedcache import SharedFileCache

    cache = SharedFileCache(str(tmp_path), {"OPTIONS": {"MAX_ENTRIES": 10, "CULL_FREQUENCY": 2}})
    cache.CULL_EVERY = 25
    for n in range(24):
        cache.set(f"k{n}", n)
    assert len(list(tmp_path.glob("*.djcache"))) == 24  # not looked at yet: past MAX_ENTRIES for a while
    cache.set("k24", 24)  # the 25th set looks, and drops half
    assert len(list(tmp_path.glob("*.djcache"))) <= 13
    assert cache.get("k24") == 24
