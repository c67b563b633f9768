"""An admin import on SQLite commits without checkpointing the write-ahead log; the checkpoint is made after the
response, off the request's path (core.sqlite.checkpoint_after_response, issue 14).

Run in subprocesses on a SQLite file with the seeds loaded (the test database is in memory, which has no
write-ahead log): the preview and the confirm of an import of new outcomes, through the admin, as an editor
does it. While the confirm writes the rows, the connection's automatic checkpoint is off; once the response
is out it is back, and the checkpointer thread has checkpointed the file on its own connection. Outside a
request the block changes nothing.
"""

import sqlite3
import subprocess
import sys

import pytest

from core.testing.config import ROOT
from core.testing.processes import django_env, result_of, run_django


@pytest.fixture(scope="module")
def seeded_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("sqlite-checkpoint") / "tracker.sqlite3"
    for command in (["migrate", "--noinput", "-v0"], ["load_seeds"]):
        result = subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=django_env(path),
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
    return path


IMPORT = r"""
import csv, io, json, re
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from core.sqlite import checkpointer

def autocheckpoint():
    return connection.connection.execute("PRAGMA wal_autocheckpoint").fetchone()[0]

user = get_user_model().objects.create_superuser("checkpoint", password="not-used")
client = Client()
client.force_login(user)
# The seeds' outcomes as the list exports them, under new slugs: an import of new rows.
export = b"".join(client.get("/outcomes/?format=csv").streaming_content).decode("utf-8-sig")
rows = list(csv.reader(io.StringIO(export)))
header, body = rows[0], rows[1:]
slug = header.index("slug")
for number, row in enumerate(body):
    row[slug] = f"checkpoint-{number}"
out = io.StringIO()
csv.writer(out).writerows([header, *body])
upload = SimpleUploadedFile("new.csv", out.getvalue().encode("utf-8-sig"), content_type="text/csv")
preview = client.post("/admin/programs/outcome/import/", {"format": "0", "resource": "0", "import_file": upload})
form = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', preview.content.decode().split("process_import", 1)[1]))

seen = []
def watch(execute, sql, params, many, context):
    if sql.startswith('INSERT INTO "programs_outcome"'):
        seen.append(autocheckpoint())
    return execute(sql, params, many, context)

with connection.execute_wrapper(watch):
    confirm = client.post("/admin/programs/outcome/process_import/", {key: form[key] for key in (
        "import_file_name", "original_file_name", "format", "resource")})
after = autocheckpoint()
checkpointer.join()
print(json.dumps({"preview": preview.status_code, "confirm": confirm.status_code, "rows": len(body),
                  "during": seen, "after": after, "checkpoint": checkpointer.last}))
"""


def test_an_import_is_checkpointed_after_its_response_not_in_its_commit(seeded_file):
    result = result_of(run_django(seeded_file, IMPORT))
    assert (result["preview"], result["confirm"]) == (200, 302)
    with sqlite3.connect(f"file:{seeded_file}?mode=ro", uri=True) as db:
        imported = db.execute("SELECT count(*) FROM programs_outcome WHERE slug LIKE 'checkpoint-%'").fetchone()[0]
        history = db.execute("SELECT count(*) FROM programs_historicaloutcome WHERE slug LIKE 'checkpoint-%' "
                             "AND history_type = '+' AND history_change_reason = 'import of new.csv'").fetchone()[0]
    assert imported == history == result["rows"] > 10
    assert result["during"] == [0]  # the rows were written with the automatic checkpoint off
    assert result["after"] == 1000  # SQLite's own limit back once the response was out
    path, busy, log_frames, checkpointed = result["checkpoint"]
    assert (path, busy) == (str(seeded_file), 0) and log_frames == checkpointed > 0


OUTSIDE = r"""
import json
from django.core.signals import request_finished, request_started
from django.db import connection
from core.sqlite import checkpoint_after_response

connection.ensure_connection()
def autocheckpoint():
    return connection.connection.execute("PRAGMA wal_autocheckpoint").fetchone()[0]

with checkpoint_after_response():
    outside = autocheckpoint()
request_started.send(sender=None)
with checkpoint_after_response(), checkpoint_after_response():  # nested: owed once
    inside = autocheckpoint()
before_end = autocheckpoint()
request_finished.send(sender=None)
print(json.dumps({"outside": outside, "inside": inside, "before_end": before_end, "after": autocheckpoint()}))
"""


def test_outside_a_request_nothing_changes_and_inside_one_the_setting_comes_back(seeded_file):
    assert result_of(run_django(seeded_file, OUTSIDE)) == {"outside": 1000, "inside": 0, "before_end": 0,
                                                           "after": 1000}
