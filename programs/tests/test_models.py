"""What the database itself guarantees about sources, funds, programs and outcomes."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from core.records import Precision, format_partial_date, parse_partial_date, slugify_zh
from programs.models import Fund, Outcome, Program

pytestmark = pytest.mark.django_db

TRILLION_AND_A_BIT = Decimal("1200000000000.00")  # 1.2万亿元 in yuan, with cents


def refused(callable_, *args, **kwargs):
    """True when the database rejects the write (run in a savepoint so the test can go on)."""
    try:
        with transaction.atomic():
            callable_(*args, **kwargs)
    except IntegrityError:
        return True
    return False


# --- Outcomes ----------------------------------------------------------------


def test_outcome_without_program_fund_or_county_is_refused_by_the_database(make_outcome):
    assert refused(make_outcome, program=None, fund=None, county=None)


def test_outcome_without_owner_is_refused_in_bulk_too(make_source):
    orphan = Outcome(
        slug="orphan", metric="投入资金", value_printed="1亿元", quote="投入1亿元", source=make_source()
    )
    assert refused(Outcome.objects.bulk_create, [orphan])


@pytest.mark.parametrize("owner", ["program", "fund", "county"])
def test_outcome_with_any_one_owner_is_accepted(owner, make_outcome, make_program, make_fund, make_county):
    owners = dict.fromkeys(["program", "fund", "county"])
    owners[owner] = {"program": make_program, "fund": make_fund, "county": make_county}[owner]()
    outcome = make_outcome(**owners)
    assert Outcome.objects.filter(pk=outcome.pk).exists()


def test_outcome_with_an_empty_quote_is_refused(make_outcome):
    assert refused(make_outcome, quote="")


def test_outcome_without_a_source_is_refused(make_outcome):
    assert refused(make_outcome, source=None)


def test_outcome_period_ending_before_it_starts_is_refused(make_outcome):
    assert refused(
        make_outcome, period_start=datetime.date(2020, 1, 1), period_end=datetime.date(2019, 12, 31)
    )


def test_outcome_value_survives_a_round_trip_exactly(make_outcome):
    outcome = make_outcome(value=TRILLION_AND_A_BIT, unit="元", value_printed="1.2万亿元")
    outcome.refresh_from_db()
    assert isinstance(outcome.value, Decimal)
    assert outcome.value == TRILLION_AND_A_BIT
    assert Outcome.objects.filter(value=TRILLION_AND_A_BIT).count() == 1


def test_outcome_value_keeps_its_cents(make_outcome):
    outcome = make_outcome(value=Decimal("1200000000000.01"))
    outcome.refresh_from_db()
    assert outcome.value == Decimal("1200000000000.01")


def test_outcome_period_renders_with_its_precision(make_outcome):
    outcome = make_outcome(
        period_start=datetime.date(2017, 1, 1), period_start_precision=Precision.YEAR,
        period_end=datetime.date(2019, 6, 1), period_end_precision=Precision.MONTH,
    )
    outcome.refresh_from_db()
    assert outcome.period_display == "2017 – 2019-06"


# --- Funds -------------------------------------------------------------------


def test_fund_commitment_survives_a_round_trip_exactly(make_fund):
    fund = make_fund(commitment=TRILLION_AND_A_BIT)
    fund.refresh_from_db()
    assert isinstance(fund.commitment, Decimal)
    assert fund.commitment == TRILLION_AND_A_BIT
    assert Fund.objects.get(commitment__gte=Decimal("1199999999999.99")) == fund


def test_duplicate_fund_slug_is_refused(make_fund):
    make_fund(name="阿里巴巴脱贫基金", slug="alibaba-tuopin-jijin")
    assert refused(make_fund, name="另一个基金", slug="alibaba-tuopin-jijin")


# --- Programs and sources -----------------------------------------------------


def test_duplicate_program_slug_is_refused(make_program):
    make_program(name="热土计划", slug="retu-jihua")
    assert refused(make_program, name="热土计划二", slug="retu-jihua")


def test_duplicate_source_slug_is_refused(make_source):
    make_source(slug="same")
    assert refused(make_source, slug="same")


def test_duplicate_organization_slug_is_refused(make_organization):
    make_organization(name="淘宝大学", slug="taobao-daxue")
    assert refused(make_organization, name="淘寶大學", slug="taobao-daxue")


def test_program_ending_before_it_starts_is_refused(make_program):
    assert refused(make_program, start=datetime.date(2020, 1, 1), end=datetime.date(2019, 1, 1))


@pytest.mark.parametrize(
    ("precision", "shown"),
    [(Precision.YEAR, "2019"), (Precision.MONTH, "2019-06"), (Precision.DAY, "2019-06-26")],
)
def test_program_start_renders_with_its_precision(precision, shown, make_program):
    program = make_program(start=datetime.date(2019, 6, 26), start_precision=precision)
    program.refresh_from_db()
    assert program.start_display == shown
    assert Program.objects.get(pk=program.pk).start_display == shown


def test_source_published_renders_year_only(make_source):
    source = make_source(published=datetime.date(2019, 1, 1), published_precision=Precision.YEAR)
    assert source.published_display == "2019"


# --- Partial dates and slugs (core.records) --------------------------------


@pytest.mark.parametrize(
    ("text", "value", "precision"),
    [
        ("2019", datetime.date(2019, 1, 1), Precision.YEAR),
        ("2019-06", datetime.date(2019, 6, 1), Precision.MONTH),
        ("2019-06-26", datetime.date(2019, 6, 26), Precision.DAY),
    ],
)
def test_partial_dates_parse_and_format_back_unchanged(text, value, precision):
    assert parse_partial_date(text) == (value, precision)
    assert format_partial_date(value, precision) == text


def test_a_year_only_date_never_shows_as_january_first():
    assert format_partial_date(datetime.date(2019, 1, 1), Precision.YEAR) == "2019"


def test_empty_partial_date():
    assert parse_partial_date("") == (None, "")
    assert format_partial_date(None, Precision.YEAR) == ""


@pytest.mark.parametrize("junk", ["20x9", "2019-13", "2019-02-30", "June 2019"])
def test_junk_partial_date_is_an_error(junk):
    with pytest.raises(ValueError):
        parse_partial_date(junk)


@pytest.mark.parametrize(
    ("name", "slug"),
    [("普安县", "puan-xian"), ("热土计划", "retu-jihua")],
)
def test_slugs_are_lowercase_ascii_pinyin(name, slug):
    assert slugify_zh(name) == slug


# --- PostgreSQL only ---------------------------------------------------------


@pytest.mark.postgres
def test_check_constraints_are_in_the_postgresql_schema():
    with connection.cursor() as cursor:
        cursor.execute("SELECT conname FROM pg_constraint WHERE contype = 'c'")
        names = {row[0] for row in cursor.fetchall()}
    assert {
        "outcome_belongs_to_something",
        "outcome_quote_not_empty",
        "outcome_period_end_not_before_start",
        "program_end_not_before_start",
        "posting_end_not_before_start",
    } <= names
