"""What the database itself guarantees about provinces, prefectures and counties."""

import pytest
from django.db import IntegrityError, transaction

from core.records import slugify_zh
from counties.models import County, CountyDesignation, Designation

pytestmark = pytest.mark.django_db


def refused(callable_, *args, **kwargs):
    """True when the database rejects the write (run in a savepoint so the test can go on)."""
    try:
        with transaction.atomic():
            callable_(*args, **kwargs)
    except IntegrityError:
        return True
    return False


def test_county_slug_is_pinyin_with_its_suffix():
    assert slugify_zh("普安县") == "puan-xian"


def test_county_keeps_its_prefecture_and_province(make_county, make_prefecture, make_province):
    guizhou = make_province(name="贵州省", slug="guizhou-sheng")
    qianxinan = make_prefecture(name="黔西南布依族苗族自治州", province=guizhou)
    county = make_county(name="普安县", prefecture=qianxinan, province=guizhou)
    county.refresh_from_db()
    assert county.slug == "puan-xian"
    assert (county.prefecture, county.province) == (qianxinan, guizhou)
    assert county.get_absolute_url() == "/counties/puan-xian/"


def test_duplicate_county_slug_is_refused(make_county, make_province):
    province = make_province()
    make_county(name="普安县", province=province, slug="puan-xian")
    assert refused(make_county, name="普安县二", province=province, slug="puan-xian")


def test_duplicate_province_slug_is_refused(make_province):
    make_province(name="贵州省", slug="guizhou-sheng")
    assert refused(make_province, name="贵州", slug="guizhou-sheng")


def test_duplicate_prefecture_slug_is_refused(make_prefecture, make_province):
    province = make_province()
    make_prefecture(name="黔西南州", province=province, slug="qianxinan-zhou")
    assert refused(make_prefecture, name="黔西南", province=province, slug="qianxinan-zhou")


def test_same_county_name_twice_in_one_prefecture_is_refused(make_county, make_prefecture):
    prefecture = make_prefecture()
    make_county(name="新县", prefecture=prefecture, province=prefecture.province, slug="xin-xian-1")
    assert refused(
        make_county, name="新县", prefecture=prefecture, province=prefecture.province, slug="xin-xian-2"
    )


def test_same_county_name_in_two_provinces_is_allowed(make_county, make_prefecture):
    first, second = make_prefecture(), make_prefecture()
    make_county(name="新县", prefecture=first, province=first.province, slug="xin-xian-1")
    make_county(name="新县", prefecture=second, province=second.province, slug="xin-xian-2")
    assert County.objects.filter(name="新县").count() == 2


def test_a_designation_is_recorded_once_per_source(make_county, make_source):
    county, source = make_county(), make_source()
    CountyDesignation.objects.create(county=county, designation=Designation.DEEP_POVERTY, source=source)
    assert refused(
        CountyDesignation.objects.create, county=county, designation=Designation.DEEP_POVERTY, source=source
    )
    assert list(County.objects.filter(designations__designation=Designation.DEEP_POVERTY)) == [county]
