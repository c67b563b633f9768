"""``load_seeds``: check mode on real and broken data, idempotent loads, all or nothing."""

import io
import shutil

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from core.seeding import SEEDS_DIR
from programs.models import Outcome, Program, Source

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def seed_copy(tmp_path):
    target = tmp_path / "seeds"
    shutil.copytree(SEEDS_DIR / "articles", target / "articles")
    shutil.copytree(SEEDS_DIR / "data", target / "data")
    return target


def edit(path, change):
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(rows)
    path.write_text(yaml.safe_dump(rows, allow_unicode=True, sort_keys=False), encoding="utf-8")


def first_outcome_file(root):
    return sorted((root / "data").glob("outcomes-*.yaml"))[0]


def run_check(path):
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("load_seeds", "--check", "--path", str(path), stdout=out, stderr=err)
    return err.getvalue(), str(failure.value)


def dump():
    out = io.StringIO()
    call_command("dumpdata", "programs", "counties", "envoys", stdout=out, indent=0)
    return out.getvalue()


def test_check_passes_on_the_real_data_and_writes_nothing():
    out = io.StringIO()
    call_command("load_seeds", "--check", stdout=out)
    assert "seed data OK" in out.getvalue()
    assert Source.objects.count() == 0


def test_check_reports_a_broken_quote(seed_copy):
    path = first_outcome_file(seed_copy)
    edit(path, lambda rows: rows[0].update(quote=rows[0]["quote"] + "（编造）"))
    errors, summary = run_check(seed_copy)
    assert f"data/{path.name}: " in errors and "quote: The quote is not verbatim in the source" in errors
    assert "nothing was written" in summary


def test_check_reports_an_unresolved_reference(seed_copy):
    path = first_outcome_file(seed_copy)
    edit(path, lambda rows: rows[0].update(source="no-such-article"))
    errors, _ = run_check(seed_copy)
    assert "source 'no-such-article' does not resolve" in errors


def test_check_reports_a_value_that_disagrees_with_its_printed_form(seed_copy):
    path = first_outcome_file(seed_copy)

    def break_value(rows):
        row = next(r for r in rows if r.get("value") not in (None, ""))
        row["value"] = str(int(float(row["value"])) + 1)

    edit(path, break_value)
    errors, _ = run_check(seed_copy)
    assert "disagrees with printed form" in errors


def test_check_reports_a_duplicate(seed_copy):
    path = seed_copy / "data" / "programs.yaml"
    edit(path, lambda rows: rows.append(dict(rows[0])))
    errors, _ = run_check(seed_copy)
    assert "data/programs.yaml" in errors and "duplicate slug" in errors


def test_load_then_load_again_changes_nothing():
    first = io.StringIO()
    call_command("load_seeds", stdout=first)
    assert Outcome.objects.count() >= 100
    before = dump()
    second = io.StringIO()
    call_command("load_seeds", stdout=second)
    assert "0 created, 0 updated" in second.getvalue()
    assert dump() == before


def test_a_corrected_figure_is_an_update_not_a_new_row(seed_copy):
    call_command("load_seeds", "--path", str(seed_copy), stdout=io.StringIO())
    path = seed_copy / "data" / "programs.yaml"
    edit(path, lambda rows: rows[0].update(summary="更正后的简介"))
    out = io.StringIO()
    call_command("load_seeds", "--path", str(seed_copy), stdout=out)
    assert "0 created, 1 updated" in out.getvalue()
    program = Program.objects.get(summary="更正后的简介")
    assert program.version == 2


def test_a_failure_in_the_last_step_leaves_the_database_as_it_was(monkeypatch):
    import programs.seeding

    def fail(rows, *, counts):
        Outcome.objects.all().delete()
        raise RuntimeError("disk on fire while loading outcomes")

    before = dump()
    monkeypatch.setattr(programs.seeding, "load_outcomes", fail)
    with pytest.raises(RuntimeError):
        call_command("load_seeds", stdout=io.StringIO())
    assert dump() == before
    assert Source.objects.count() == 0


def test_a_failure_in_the_last_step_keeps_an_earlier_load(monkeypatch):
    call_command("load_seeds", stdout=io.StringIO())
    before = dump()
    import programs.seeding

    def fail(rows, *, counts):
        Outcome.objects.all().delete()
        raise RuntimeError("interrupted")

    monkeypatch.setattr(programs.seeding, "load_outcomes", fail)
    with pytest.raises(RuntimeError):
        call_command("load_seeds", stdout=io.StringIO())
    assert dump() == before


def test_a_broken_seed_set_writes_nothing(seed_copy):
    path = first_outcome_file(seed_copy)
    edit(path, lambda rows: rows[-1].update(quote="不在文中的句子"))
    with pytest.raises(CommandError):
        call_command("load_seeds", "--path", str(seed_copy), stdout=io.StringIO(), stderr=io.StringIO())
    assert Source.objects.count() == 0 and Program.objects.count() == 0
