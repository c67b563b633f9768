"""``/data/``: the whole database as a zip of CSV files with a Frictionless ``datapackage.json`` that
validates, and row counts equal to the lists' totals."""

import csv
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import frictionless
import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from core import registry
from core.middleware import export_limiter

pytestmark = pytest.mark.django_db
FRICTIONLESS = Path(sys.executable).parent / "frictionless"


@pytest.fixture
def seeded(db):
    """The seed data, in this test's transaction (the other tests use the world, which it would clash with)."""
    call_command("load_seeds", stdout=io.StringIO())


def download(client=None) -> bytes:
    response = (client or Client()).get("/data/")
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="rural-programs-tracker-')
    return b"".join(response.streaming_content)


@pytest.fixture
def package_dir(tmp_path):
    """The downloaded zip, unpacked."""

    def unpack(data: bytes) -> Path:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            archive.extractall(tmp_path)
        return tmp_path

    return unpack


def validate_with_cli(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(FRICTIONLESS), "validate", "datapackage.json"], cwd=folder,
                          capture_output=True, text=True, timeout=300)


def rows_of(folder: Path, name: str) -> list[dict]:
    with open(folder / name, encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


# ---------------------------------------------------------------------------
# The real data


def test_the_seeded_package_validates_and_its_row_counts_equal_the_lists_totals(seeded, package_dir):
    folder = package_dir(download())
    result = validate_with_cli(folder)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    report = frictionless.validate(str(folder / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:20]

    descriptor = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    types = registry.record_types()
    assert [r["name"] for r in descriptor["resources"]] == [t.key for t in types]
    assert sorted(p.name for p in folder.iterdir()) == sorted(["datapackage.json"] + [f"{t.key}.csv" for t in types])
    client = Client()
    for record_type in types:
        rows = rows_of(folder, f"{record_type.key}.csv")
        if record_type.list_url:
            total = client.get(reverse(record_type.list_url) + "?format=json").json()["count"]
        else:  # no public list: every row of the table
            total = record_type.model_class._base_manager.count()
        assert len(rows) == total > 0, record_type.key


# ---------------------------------------------------------------------------
# The descriptor: built from the registry and the Resources


def descriptor_of(data: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return json.loads(archive.read("datapackage.json"))


def test_every_column_of_every_resource_is_described_with_its_type_and_keys(world):
    descriptor = descriptor_of(download())
    assert descriptor["profile"] == "tabular-data-package"
    resources = {r["name"]: r for r in descriptor["resources"]}
    for record_type in registry.record_types():
        schema = resources[record_type.key]["schema"]
        columns = record_type.resource_class().get_export_headers()
        assert [f["name"] for f in schema["fields"]] == columns
        assert schema["primaryKey"] == ["slug"]
    programs = {f["name"]: f for f in resources["programs"]["schema"]["fields"]}
    assert programs["slug"]["constraints"]["unique"] and programs["slug"]["constraints"]["required"]
    assert programs["version"]["type"] == "integer"
    assert programs["start"]["type"] == "string" and programs["start"]["constraints"]["pattern"].startswith("[0-9]{4}")
    assert programs["area"]["constraints"]["enum"][:2] == ["jiaoyu", "jiankang"]
    assert "counties.csv" in programs["counties"]["description"]
    outcomes = {f["name"]: f for f in resources["outcomes"]["schema"]["fields"]}
    assert outcomes["value"]["type"] == "number" and outcomes["quote"]["type"] == "string"
    keys = {fk["fields"]: fk["reference"] for fk in resources["programs"]["schema"]["foreignKeys"]}
    assert keys == {"fund": {"resource": "funds", "fields": "slug"}, "parent": {"resource": "", "fields": "slug"}}
    outcome_keys = {fk["fields"]: fk["reference"]["resource"] for fk in resources["outcomes"]["schema"]["foreignKeys"]}
    assert outcome_keys == {"program": "programs", "fund": "funds", "county": "counties", "source": "sources",
                            "indicator": "indicators"}
    assert "foreignKeys" not in resources["sources"]["schema"]


def test_the_files_keep_dates_precise_numbers_exact_and_formulas_escaped(world, package_dir):
    folder = package_dir(download())
    programs = {row["slug"]: row for row in rows_of(folder, "programs.csv")}
    assert programs["dianshangtuopin"]["start"] == "2018"
    assert programs["cunbo-jihua"]["start"] == "2019-06"
    assert programs["jiankangbaoxian"]["summary"].startswith("'=HYPERLINK")
    assert programs["dianshangtuopin"]["counties"] == "dushan-xian|puan-xian"
    funds = {row["slug"]: row for row in rows_of(folder, "funds.csv")}
    assert funds[world["tuopin"].slug]["commitment"] == "10000000000"
    assert not (folder / "programs.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # no BOM: tools read packages
    report = frictionless.validate(str(folder / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:20]


@pytest.mark.parametrize("column, value, error", [
    ("fund", "no-such-fund", "foreign-key"),
    ("start", "2019-6-1", "constraint-error"),
    ("slug", "dianshangtuopin", "primary-key"),
    ("version", "two", "type-error"),
])
def test_a_broken_file_fails_validation(world, package_dir, column, value, error):
    """The descriptor says enough to catch a wrong reference, date, duplicate key or number."""
    folder = package_dir(download())
    rows = rows_of(folder, "programs.csv")
    rows[-1][column] = value
    with open(folder / "programs.csv", "w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert validate_with_cli(folder).returncode != 0
    report = frictionless.validate(str(folder / "datapackage.json"))
    assert not report.valid
    assert error in {e[0] for e in report.flatten(["type"])}


# ---------------------------------------------------------------------------
# Links, HEAD and the export limit


def test_the_home_page_and_the_api_page_link_to_the_data_package(client, world):
    assert 'href="/data/"' in client.get("/").content.decode()
    assert 'href="/data/"' in client.get("/api/").content.decode()


def test_head_answers_headers_only(client, world, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.head("/data/")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert not response.content


def test_a_download_takes_an_export_slot(client, world, settings):
    settings.EXPORT_CONCURRENCY = 1
    release = export_limiter().acquire()
    try:
        response = client.get("/data/")
        assert response.status_code == 429 and response["Retry-After"]
    finally:
        release()
    assert client.get("/data/").status_code == 200
    assert client.post("/data/").status_code == 405


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_every_file_comes_from_one_snapshot(make_program, make_fund):
    """Outside a transaction (as a request is), the package's transaction starts REPEATABLE READ, so a fund
    deleted while the files are written cannot leave programs.csv pointing at a row funds.csv lacks."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tracker.datapackage import write_package

    make_program(fund=make_fund(name="某基金"))
    output = io.BytesIO()
    with CaptureQueriesContext(connection) as captured:
        write_package(output)
    statements = [q["sql"] for q in captured.captured_queries if q["sql"] != "BEGIN"]
    assert "REPEATABLE READ" in statements[0]  # before any read of the transaction
    with zipfile.ZipFile(output) as archive:
        programs = list(csv.DictReader(io.StringIO(archive.read("programs.csv").decode("utf-8"))))
    assert [row["fund"] for row in programs] == ["mou-jijin"]
