"""SQLite, the embedded default, under many readers and a writer (issue 14).

settings.py gives every SQLite connection write-ahead logging, a busy timeout and IMMEDIATE transactions
(a transaction takes the write lock when it begins, so two writers queue instead of deadlocking). Two
things more keep readers from failing or from blocking writers:

- ``connect_search_tables``: each new connection connects its FTS5 search tables at once. FTS5 reads its
  configuration when a connection first uses the table (the "vtable constructor"); if that first use ran
  under ``core.listing.query_time_limit``, whose progress handler interrupts a query past its deadline,
  the interruption landed inside the constructor and surfaced as ``vtable constructor failed:
  programs_outcome_fts`` (a 500), not as a timeout. Under load, when every query runs slowly, that was
  the first search of each new connection. Done here, outside any time limit, the constructor always
  completes, and a later interruption is an ordinary ``interrupted``.
- ``read_snapshot()``: ``transaction.atomic()`` for a block that only reads but wants one consistent
  view of the data (the /data/ zip). With IMMEDIATE transactions a plain ``atomic()`` would hold the
  write lock for as long as the block runs, so every editor's save would wait for a download; this one
  begins a DEFERRED transaction on SQLite: a WAL read snapshot, no lock a writer waits for.

- ``checkpoint_after_response()``: a bulk write in a request (an admin import's preview keeps the upload in
  the database cache; its confirm writes the rows) leaves the write-ahead log longer than SQLite's automatic
  checkpoint allows (1,000 pages), so the commit would copy the log into the database and sync it before the
  request could answer. Inside the block this connection does not
  checkpoint; when the response has gone out (``request_finished``) the connection's setting is given back and
  a thread of its own (``Checkpointer``) checkpoints the file on a connection of its own (PASSIVE: it waits
  for no reader or writer). This is what SQLite's documentation suggests for an application that wants no
  checkpoint in its commits (https://www.sqlite.org/wal.html, "Application-Initiated Checkpoints").

tracker/tests/test_sqlite_concurrency.py checks the first two on a SQLite file, with readers and a writer at
once; tracker/tests/test_sqlite_checkpoint.py the third, through an admin import on a SQLite file.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import sqlite3
import threading

from django.core.signals import request_finished, request_started
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.signals import connection_created

logger = logging.getLogger(__name__)

FTS_TABLES_SQL = "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%fts5%'"


def connect_search_tables(sender, connection, **kwargs):
    """``connection_created`` receiver: run each FTS5 table's constructor now (see the module's text).
    On the raw connection, so it is not counted among a request's queries; it never fails the connection."""
    if connection.vendor != "sqlite":
        return
    raw = connection.connection
    with contextlib.suppress(sqlite3.Error):
        for (name,) in raw.execute(FTS_TABLES_SQL).fetchall():
            raw.execute(f'SELECT 1 FROM "{name}" WHERE 0').fetchall()


def connect():
    connection_created.connect(connect_search_tables, dispatch_uid="core.sqlite.connect_search_tables")
    request_started.connect(_request_started, dispatch_uid="core.sqlite.request_started")
    request_finished.connect(_request_finished, dispatch_uid="core.sqlite.request_finished")


# ---------------------------------------------------------------------------
# Checkpoints after the response

class Checkpointer:
    """One thread per process that checkpoints SQLite files handed to it (:meth:`submit`), each on a short-lived
    connection of its own, PASSIVE: it copies what no reader still needs and never waits for a lock. Started on
    first use. ``last`` is the latest result, ``(path, busy, log frames, frames checkpointed)``."""

    def __init__(self):
        self._queue = queue.Queue()
        self._lock = threading.Lock()
        self._thread = None
        self.last = None

    def submit(self, path: str) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="sqlite-checkpointer", daemon=True)
                self._thread.start()
        self._queue.put(path)

    def join(self) -> None:
        """Wait until every file handed over so far is checkpointed (for tests)."""
        self._queue.join()

    def _run(self):
        while True:
            path = self._queue.get()
            try:
                with contextlib.closing(sqlite3.connect(path, timeout=0, isolation_level=None)) as db:
                    busy, log, done = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                self.last = (path, busy, log, done)
            except sqlite3.Error as exc:  # the next commit past the limit checkpoints instead
                logger.warning("checkpoint of %s failed: %s", path, exc)
            finally:
                self._queue.task_done()


checkpointer = Checkpointer()
_request = threading.local()  # this thread's request: whether one runs, and the checkpoints it owes


def _request_started(sender, **kwargs):
    _request.running, _request.owed = True, {}


def _request_finished(sender, **kwargs):
    owed = getattr(_request, "owed", None) or {}
    _request.running, _request.owed = False, {}
    for alias, (raw, limit) in owed.items():
        connection = connections[alias]
        if connection.connection is not raw:
            continue  # closed in the meantime: a new connection has SQLite's own setting
        try:
            raw.execute(f"PRAGMA wal_autocheckpoint = {int(limit)}")
        except sqlite3.Error as exc:
            logger.warning("could not give %s back its automatic checkpoint: %s", alias, exc)
            continue
        checkpointer.submit(connection.settings_dict["NAME"])


@contextlib.contextmanager
def checkpoint_after_response(*aliases: str):
    """Within a request, the SQLite connections ``aliases`` (default: the default database) in write-ahead-log
    mode commit without checkpointing until the response has gone out; then the checkpoint is made by
    ``checkpointer``, off the request's path (see the module's text). Elsewhere (a management command, a
    test without a request), and on other databases, it does nothing."""
    if getattr(_request, "running", False):
        for alias in dict.fromkeys(aliases or (DEFAULT_DB_ALIAS,)):
            connection = connections[alias]
            if connection.vendor != "sqlite" or alias in _request.owed:
                continue
            connection.ensure_connection()
            raw = connection.connection  # raw: these PRAGMAs are not the request's queries
            with contextlib.suppress(sqlite3.Error):
                if raw.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    continue
                limit = raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
                if limit > 0:
                    raw.execute("PRAGMA wal_autocheckpoint = 0")
                    _request.owed[alias] = (raw, limit)
    yield


@contextlib.contextmanager
def read_snapshot(using: str = DEFAULT_DB_ALIAS):
    """A transaction for reading only: ``atomic()``, except that on SQLite it begins DEFERRED whatever the
    connection's ``transaction_mode``, so it takes no write lock. Inside an open transaction it is a
    savepoint of that one, as ``atomic()`` is. Writing in the block is a mistake: the write would have to
    upgrade the lock and could fail at once with ``database is locked``."""
    connection = connections[using]
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        with transaction.atomic(using=using):
            yield
        return
    connection.close_if_health_check_failed()
    connection.ensure_connection()  # so that connecting does not set the mode back while the block begins
    mode = connection.transaction_mode
    connection.transaction_mode = None  # Django begins with a plain BEGIN: DEFERRED
    try:
        with transaction.atomic(using=using):
            connection.transaction_mode = mode
            yield
    finally:
        connection.transaction_mode = mode
