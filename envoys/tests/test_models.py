"""What the database itself guarantees about envoys and their postings."""

import datetime

import pytest
from django.db import IntegrityError, transaction

from core.records import Precision
from envoys.models import Posting

pytestmark = pytest.mark.django_db


def refused(callable_, *args, **kwargs):
    """True when the database rejects the write (run in a savepoint so the test can go on)."""
    try:
        with transaction.atomic():
            callable_(*args, **kwargs)
    except IntegrityError:
        return True
    return False


def test_posting_ending_before_it_starts_is_refused(make_posting):
    assert refused(make_posting, start=datetime.date(2019, 6, 1), end=datetime.date(2018, 6, 1))


def test_posting_ending_the_day_it_starts_is_accepted(make_posting):
    day = datetime.date(2019, 6, 26)
    posting = make_posting(start=day, end=day)
    assert Posting.objects.filter(pk=posting.pk).exists()


def test_open_posting_is_current(make_posting):
    posting = make_posting(start=datetime.date(2019, 1, 1), start_precision=Precision.YEAR)
    assert posting.is_current
    assert list(Posting.objects.current()) == [posting]


def test_finished_posting_is_not_current(make_posting):
    posting = make_posting(start=datetime.date(2018, 1, 1), end=datetime.date(2019, 12, 31))
    assert not posting.is_current
    assert not Posting.objects.current().exists()


@pytest.mark.parametrize(
    ("precision", "shown"),
    [(Precision.YEAR, "2019"), (Precision.MONTH, "2019-06"), (Precision.DAY, "2019-06-26")],
)
def test_posting_dates_render_with_their_precision(precision, shown, make_posting):
    posting = make_posting(start=datetime.date(2019, 6, 26), start_precision=precision)
    posting.refresh_from_db()
    assert posting.start_display == shown


def test_duplicate_envoy_slug_is_refused(make_envoy):
    make_envoy(name="王杰", slug="wang-jie")
    assert refused(make_envoy, name="王傑", slug="wang-jie")


def test_duplicate_posting_slug_is_refused(make_posting):
    first = make_posting()
    assert refused(make_posting, slug=first.slug)


def test_posting_lists_under_its_envoy(make_posting):
    posting = make_posting()
    assert posting.get_absolute_url() == posting.envoy.get_absolute_url()
