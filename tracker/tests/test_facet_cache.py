"""Facet counts come from the cache until the data changes, and never outlive a change."""

import re

import pytest

from core.listing import new_data_generation

pytestmark = pytest.mark.django_db


def area_select(html):
    return re.search(r'<select[^>]*name="area".*?</select>', html, re.S).group(0)


def area_options(client, path="/programs/"):
    """``{area code: count}`` of the area facet of a programs page."""
    select = area_select(client.get(path, HTTP_ACCEPT_LANGUAGE="en").content.decode())
    return {value: int(count) for value, count in re.findall(r'<option value="([^"]+)"[^>]*>[^<]*\((\d+)\)', select)}


def test_a_committed_save_makes_the_next_page_count_again(client, make_program, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        make_program(slug="a", name="甲", area="dianshang")
    assert area_options(client) == {"dianshang": 1}
    with django_capture_on_commit_callbacks(execute=True):
        make_program(slug="b", name="乙", area="dianshang")
    assert area_options(client) == {"dianshang": 2}
    with django_capture_on_commit_callbacks(execute=True):
        from programs.models import Program

        Program.objects.get(slug="a").delete()
    assert area_options(client) == {"dianshang": 1}


def test_counts_are_served_from_the_cache_until_the_generation_moves(client, make_program):
    make_program(slug="a", name="甲", area="dianshang")
    area_options(client)
    make_program(slug="b", name="乙", area="dianshang")  # not committed: no new generation yet
    assert area_options(client) == {"dianshang": 1}
    new_data_generation()
    assert area_options(client) == {"dianshang": 2}


def test_each_filter_combination_and_language_has_its_own_entry(client, make_program):
    make_program(slug="a", name="甲", area="dianshang")
    make_program(slug="b", name="乙电商", area="chanye")
    assert area_options(client) == {"dianshang": 1, "chanye": 1}
    assert area_options(client, "/programs/?q=电商") == {"chanye": 1}
    assert area_options(client, "/programs/?q=电商&sort=-name&page=1") == {"chanye": 1}
    # The English page above cached English labels; the Chinese page must not be served them.
    english = area_select(client.get("/programs/", HTTP_ACCEPT_LANGUAGE="en").content.decode())
    chinese = area_select(client.get("/programs/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode())
    assert english != chinese
    assert "e-commerce" in english and "e-commerce" not in chinese


def test_a_selected_facet_is_counted_once_for_every_value_of_its_own_filter(client, make_program):
    # The area facet of ?area=X&q=电商 leaves out its own filter: its counts are those of ?q=电商, whatever X.
    make_program(slug="a", name="甲电商", area="dianshang")
    make_program(slug="b", name="乙电商", area="chanye")
    make_program(slug="c", name="丙", area="chanye")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def area_facet_queries(path):
        with CaptureQueriesContext(connection) as queries:
            options = area_options(client, path)
        return options, [q["sql"] for q in queries.captured_queries if '"area" AS "facet_value"' in q["sql"]]

    first, counted = area_facet_queries("/programs/?area=dianshang&q=电商")
    assert first == {"dianshang": 1, "chanye": 1} and len(counted) == 1
    second, counted = area_facet_queries("/programs/?area=chanye&q=電商")  # another value, the same search
    assert second == first and counted == []  # from the cache
    third, counted = area_facet_queries("/programs/?area=chanye")  # the only filter: the unfiltered counts
    assert third == {"dianshang": 1, "chanye": 2}
    make_program(slug="d", name="丁电商", area="chanye")
    new_data_generation()
    fourth, counted = area_facet_queries("/programs/?area=chanye&q=电商")
    assert fourth == {"dianshang": 1, "chanye": 2} and len(counted) == 1  # a change: counted again


def test_a_page_reads_the_data_generation_once_however_many_counts_it_checks(client, make_program):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_program(slug="a", name="甲电商", area="dianshang")
    # The page cache's key, the list's counts and the area facet's own entry: three checks, one read.
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/programs/?area=dianshang&q=电商").status_code == 200
    assert len([q for q in queries.captured_queries if "facets:generation" in q["sql"]]) == 1


def test_within_a_request_the_generation_is_read_once_and_a_change_is_seen():
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from core.listing import data_generation, request_generation

    # As Django's test client does: the signals without closing the test's connection.
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        request_started.send(sender=None)
        try:
            first = request_generation()
            assert request_generation() == first
            new_data_generation()  # this request changed the data: it reads the new generation after it
            assert request_generation() == data_generation() != first
        finally:
            request_finished.send(sender=None)
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)
    new_data_generation()
    assert request_generation() == data_generation()  # outside a request: read each time


def test_a_link_change_counts_as_a_change(client, make_program, make_county, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        program = make_program(slug="a", name="甲", area="dianshang")
        county = make_county()
    def county_select():
        html = client.get("/programs/").content.decode()
        return re.search(r'<select[^>]*name="county".*?</select>', html, re.S).group(0)

    assert f'value="{county.slug}"' not in county_select()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        program.counties.add(county)
    assert len(callbacks) == 1
    assert f'value="{county.slug}"' in county_select()  # counted again, not served from the cache


def test_one_new_generation_per_transaction_however_many_rows(make_program, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        for n in range(20):
            make_program(slug=f"p{n}", name=f"项目{n}")
    assert len(callbacks) == 1


# ---------------------------------------------------------------------------
# Public reads write nothing: the counts live in a per-process cache, not in the database

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.I)

PUBLIC_PAGES = [
    "/", "/?q=电商", "/?q=puan",
    "/programs/", "/programs/?area=dianshang&province=guizhou-sheng", "/programs/?q=脫貧&sort=-start",
    "/programs/?format=json&county=puan-xian", "/programs/?format=csv&area=jiaoyu",
    "/funds/?area=jiaoyu", "/counties/?designation=sanqu-sanzhou", "/envoys/?role=peixun",
    "/outcomes/?unit=元&sort=-value", "/sources/?script=traditional",
    "/programs/dianshangtuopin/", "/funds/alibabatuopin-jijin/", "/counties/puan-xian/",
    "/envoys/niushaolong/", "/outcomes/puan-sales-2019/", "/sources/alibabatuopinjijindewunian/",
]


def test_anonymous_page_views_write_nothing_to_the_database(client, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    new_data_generation()  # as after any edit: the generation is in the shared cache
    for language in ("zh-hans", "en"):
        for path in PUBLIC_PAGES:
            with CaptureQueriesContext(connection) as queries:
                response = client.get(path, HTTP_ACCEPT_LANGUAGE=language)
                assert response.status_code == 200, path
                if response.streaming:
                    b"".join(response.streaming_content)  # the test client closes it at the end
            writes = [q["sql"] for q in queries.captured_queries if WRITE.match(q["sql"])]
            assert writes == [], (path, writes)


# ---------------------------------------------------------------------------
# The first visitors after a change count once


@pytest.mark.django_db(transaction=True)
def test_requests_wanting_the_same_counts_at_once_count_them_once():
    import threading
    import time

    from django.db import connections

    from core.listing import cached_counts, new_data_generation

    new_data_generation()
    counted = []

    def slow_count():
        counted.append(1)
        time.sleep(0.3)
        return 42

    results, errors = [], []

    def visitor():
        try:
            results.append(cached_counts(["herd-test"], {"total": slow_count})["total"])
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=visitor) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not errors
    assert results == [42] * 6
    assert len(counted) == 1  # one counted; five waited and read its counts


def test_processes_sharing_a_cache_folder_take_turns(tmp_path, settings):
    """The file lock: while another process holds it, this one waits (here: until it lets go)."""
    import subprocess
    import sys
    import time

    from core.listing import _file_lock
    from core.testing.config import ROOT

    settings.SHARED_CACHE_DIR = str(tmp_path)
    (tmp_path / "locks").mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, sys, time\n"
         f"f = open({str(tmp_path / 'locks' / 'ab')!r}, 'a+b')\n"
         "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(1.0)"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    started = time.monotonic()
    with _file_lock("ab", time.monotonic() + 10):
        waited = time.monotonic() - started
    holder.wait(10)
    assert 0.5 < waited < 5
    # With a deadline already past, nobody waits.
    with _file_lock("cd", time.monotonic() - 1):
        pass


def test_a_count_that_needs_another_count_under_the_same_lock_does_not_wait(tmp_path, settings):
    import time

    from core.listing import _COUNT_LOCKS, counting

    settings.SHARED_CACHE_DIR = str(tmp_path)
    outer = "0" * 64
    inner = f"{len(_COUNT_LOCKS):08x}" + "0" * 56  # another key, the same stripe
    started = time.monotonic()
    with counting(outer), counting(inner):
        pass
    assert time.monotonic() - started < 1


def test_a_nested_count_never_waits_for_another_thread():
    """Two threads each holding the lock the other one's nested count wants must not wait for each other."""
    import threading
    import time

    from core.listing import counting

    first, second = "1" * 64, "2" * 64  # two stripes
    holding = threading.Event()
    release = threading.Event()

    def other_thread():
        with counting(second):
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=other_thread)
    thread.start()
    assert holding.wait(10)
    started = time.monotonic()
    with counting(first), counting(second):  # nested: the other thread holds ``second``
        waited = time.monotonic() - started
    release.set()
    thread.join(10)
    assert waited < 1
