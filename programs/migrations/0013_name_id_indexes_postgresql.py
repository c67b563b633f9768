"""PostgreSQL: an index on (name, id) of programs and of indicators, for their lists' deep pages.

A list sorted by name is ordered by ``name, id`` (the key breaks ties). Past the first 1,000 rows a page first
reads its keys along the sort (core.listing: ``page=500`` of the programs reads 25,000); the unique index on
``name`` alone holds no id, so PostgreSQL fetched each row from the table to read it, where an index on both
columns answers from the index alone (``page=500`` rendered afresh: 65.0 ms p95 before, 14.6 ms after;
BENCHMARKS.md, issue 14 third pass). SQLite needs none: its index on ``name`` holds each row's id (the rowid) already.

Created by SQL on PostgreSQL only, so it is no part of the models' state (an index of the models would be made on
SQLite too, where it would only cost every write).
"""

from django.db import migrations

INDEXES = {"programs_program_name_id_idx": "programs_program", "programs_indicator_name_id_idx": "programs_indicator"}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table in INDEXES.items():
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ("name", "id")')


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):

    dependencies = [
        ("programs", "0012_outcome_fund_partial_index"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
