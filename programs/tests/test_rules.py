"""A rule of the data has one home and every write path runs it: the admin's change form, an import, and
``load_seeds --check`` refuse the same outcome — a quote edited to text that is not in its article — and
write nothing."""

import io
import shutil

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from core.seeding import SEEDS_DIR
from core.testing.admin import admin_url, csv_bytes, db_dump, form_data, problems, upload
from programs.models import Outcome
from programs.resources import OutcomeResource

NOT_IN_THE_ARTICLE = "帮助3000人就业了"  # the world's quote is 帮助3000人; this sentence is in no article


@pytest.mark.django_db
def test_the_admin_change_form_refuses_a_quote_not_in_its_source(editor_client, world):
    outcome = world["outcome"]
    before = db_dump()
    url = admin_url(Outcome, "change", outcome.pk)
    data = form_data(editor_client.get(url))
    data["quote"] = NOT_IN_THE_ARTICLE
    response = editor_client.post(url, data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "not verbatim in the source" in " ".join(errors["quote"])
    assert db_dump() == before
    outcome.refresh_from_db()
    assert outcome.quote != NOT_IN_THE_ARTICLE


@pytest.mark.django_db
def test_an_import_refuses_a_quote_not_in_its_source(editor_client, world):
    outcome = world["outcome"]
    resource = OutcomeResource()
    header = resource.get_export_headers()
    row = dict(zip(header, resource.export_row(outcome), strict=True))
    row["quote"] = NOT_IN_THE_ARTICLE
    before = db_dump()
    preview = upload(editor_client, Outcome, csv_bytes(header, [[row[h] for h in header]]))
    assert "confirm_form" not in preview.context
    found = problems(preview)
    assert found and "not verbatim in the source" in str(found)
    assert db_dump() == before


def test_load_seeds_check_refuses_a_quote_not_in_its_source(tmp_path):
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS_DIR, seeds, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    path = sorted((seeds / "data").glob("outcomes-*.yaml"))[0]
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))
    rows[0]["quote"] = rows[0]["quote"] + "（编造）"
    path.write_text(yaml.safe_dump(rows, allow_unicode=True, sort_keys=False), encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("load_seeds", "--check", "--path", str(seeds), stdout=io.StringIO(), stderr=err)
    assert f"{rows[0]['slug']}: quote: The quote is not verbatim in the source" in err.getvalue()
