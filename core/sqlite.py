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

tracker/tests/test_sqlite_concurrency.py checks both on a SQLite file, with readers and a writer at once.
"""

from __future__ import annotations

import contextlib
import sqlite3

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.signals import connection_created

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
