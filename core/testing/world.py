"""A small world for the browsing tests: two provinces, three counties, four programs, figures, envoys.

``build_world(...)`` takes the root conftest's ``make_*`` helpers and returns the rows by name,
so each test can say what it expects in slugs.
"""

import contextlib
import datetime
import itertools
import re
from decimal import Decimal

import pytest
from django.db import transaction

from core.records import slugify_zh

ARTICLE_ONE = (
    "阿里巴巴脱贫基金成立于2017年12月。电商脱贫项目在普安县开展,2019年销售额达到100万元。"
    "到2020年,普安县的销售额达到300万元。教育扶贫项目培训了500名教师,并在独山县建成10所学校。"
)
ARTICLE_TWO = "阿里巴巴脫貧基金在瀘水市推動村播計劃,累計直播1200場。"


def _maker(model, name_field="name"):
    def make(**kwargs):
        kwargs.setdefault("slug", slugify_zh(kwargs[name_field]))
        return model.objects.create(**kwargs)

    return make


def build_world():
    """The rows, created with plain ``objects.create``; returns them by short name."""
    from counties.models import County, CountyDesignation, Prefecture, Province
    from envoys.models import Envoy, Posting
    from programs.models import Fund, Organization, Outcome, Program, Source

    make_province, make_prefecture, make_fund = _maker(Province), _maker(Prefecture), _maker(Fund)
    make_organization, make_program, make_envoy = _maker(Organization), _maker(Program), _maker(Envoy)
    make_source = _maker(Source, "title")

    def make_county(**kwargs):
        kwargs.setdefault("province", kwargs["prefecture"].province)
        return _maker(County)(**kwargs)

    make_outcome = Outcome.objects.create

    counter = itertools.count(1)

    def make_posting(**kwargs):
        kwargs.setdefault("slug", f"posting-{next(counter)}")
        return Posting.objects.create(**kwargs)

    w = {}
    w["guizhou"] = make_province(name="贵州省")
    w["yunnan"] = make_province(name="云南省")
    w["qianxinan"] = make_prefecture(name="黔西南州", province=w["guizhou"], slug="qianxinan-zhou")
    w["qiannan"] = make_prefecture(name="黔南州", province=w["guizhou"], slug="qiannan-zhou")
    w["nujiang"] = make_prefecture(name="怒江州", province=w["yunnan"], slug="nujiang-zhou")
    w["puan"] = make_county(name="普安县", prefecture=w["qianxinan"], aliases="普安縣")
    w["dushan"] = make_county(name="独山县", prefecture=w["qiannan"])
    w["lushui"] = make_county(name="泸水市", prefecture=w["nujiang"], kind="xianjishi")
    w["s1"] = make_source(title="阿里巴巴脱贫基金的五年", text=ARTICLE_ONE, published=datetime.date(2021, 5, 1),
                          published_precision="day", publisher="人民网")
    w["s2"] = make_source(title="村播計劃在瀘水", text=ARTICLE_TWO, published=datetime.date(2019, 1, 1),
                          published_precision="year", publisher="澎湃", script="traditional")
    for county, code in (("puan", "guojiaji-pinkunxian"), ("puan", "shendu-pinkunxian"),
                         ("dushan", "guojiaji-pinkunxian"), ("lushui", "sanqu-sanzhou")):
        CountyDesignation.objects.create(county=w[county], designation=code, source=w["s1"])
    w["zhenxing"] = make_fund(name="乡村振兴基金", founded=datetime.date(2021, 1, 1), founded_precision="year")
    w["tuopin"] = make_fund(
        name="阿里巴巴脱贫基金", founded=datetime.date(2017, 12, 1), founded_precision="month",
        commitment=Decimal("10000000000"), commitment_printed="100亿元", successor=w["zhenxing"],
        succeeded_on=datetime.date(2021, 1, 1), succeeded_on_precision="year",
    )
    w["taoda"] = make_organization(name="淘宝大学")
    w["mayi"] = make_organization(name="蚂蚁金服")
    w["dianshang"] = make_program(name="电商脱贫", area="dianshang", fund=w["tuopin"],
                                  start=datetime.date(2018, 1, 1), start_precision="year",
                                  summary="县域电商培训", aliases="電商脫貧")
    w["dianshang"].organizations.set([w["taoda"]])
    w["dianshang"].counties.set([w["puan"], w["dushan"]])
    w["cunbo"] = make_program(name="村播计划", area="dianshang", start=datetime.date(2019, 6, 1),
                              start_precision="month", aliases="村播計劃")
    w["cunbo"].organizations.set([w["mayi"]])
    w["cunbo"].counties.set([w["lushui"]])
    w["jiaoyu"] = make_program(name="教育扶贫", area="jiaoyu", fund=w["tuopin"],
                               start=datetime.date(2017, 1, 1), start_precision="year",
                               end=datetime.date(2020, 1, 1), end_precision="year")
    w["jiaoyu"].organizations.set([w["taoda"]])
    w["jiaoyu"].counties.set([w["puan"]])
    w["jiankang"] = make_program(name="健康保险", area="jiankang", fund=w["zhenxing"], kind="project",
                                 summary="=HYPERLINK(\"http://evil\") 保障", start=datetime.date(2021, 3, 1),
                                 start_precision="month")
    w["sales2019"] = make_outcome(
        slug="puan-sales-2019", metric="销售额", value=Decimal("1000000"), unit="元", value_printed="100万元",
        period_end=datetime.date(2019, 1, 1), period_end_precision="year", program=w["dianshang"],
        county=w["puan"], source=w["s1"], quote="2019年销售额达到100万元",
    )
    w["sales2020"] = make_outcome(
        slug="puan-sales-2020", metric="销售额", value=Decimal("3000000"), unit="元", value_printed="300万元",
        period_end=datetime.date(2020, 1, 1), period_end_precision="year", program=w["dianshang"],
        county=w["puan"], source=w["s1"], quote="到2020年,普安县的销售额达到300万元",
    )
    w["teachers"] = make_outcome(
        slug="jiaoyu-teachers", metric="培训教师", value=Decimal("500"), unit="名", value_printed="500名",
        period_start=datetime.date(2017, 1, 1), period_start_precision="year",
        period_end=datetime.date(2020, 1, 1), period_end_precision="year", program=w["jiaoyu"],
        source=w["s1"], quote="培训了500名教师",
    )
    w["schools"] = make_outcome(
        slug="dushan-schools", metric="建成学校", value=Decimal("10"), unit="所", value_printed="10所",
        kind="result", program=w["jiaoyu"], county=w["dushan"], source=w["s1"],
        quote="在独山县建成10所学校",
    )
    w["broadcasts"] = make_outcome(
        slug="lushui-broadcasts", metric="直播场次", value=Decimal("1200"), unit="场", value_printed="1200場",
        qualifier="累计", period_end=datetime.date(2019, 1, 1), period_end_precision="year",
        program=w["cunbo"], county=w["lushui"], source=w["s2"], quote="累計直播1200場",
    )
    w["commitment"] = make_outcome(
        slug="tuopin-commitment", metric="投入资金", value=Decimal("10000000000"), unit="元",
        value_printed="100亿元", kind="commitment", program=None, fund=w["tuopin"], source=w["s1"],
        quote="阿里巴巴脱贫基金成立于2017年12月",
    )
    w["niu"] = make_envoy(name="牛少龙", role="tepaiyuan", joined_year=2009, batch="第一批")
    w["wang"] = make_envoy(name="王开北", role="peixun", nickname="北北")
    w["li"] = make_envoy(name="李村小", role="cunxiaoer", joined_year=2015)
    make_posting(envoy=w["niu"], county=w["puan"], title="副县长", start=datetime.date(2019, 7, 1),
                 start_precision="month")
    make_posting(envoy=w["wang"], county=w["dushan"], title="培训小二")
    make_posting(envoy=w["li"], county=w["lushui"], title="村小二")
    return w


@contextlib.contextmanager
def world_for_module(django_db_blocker):
    """The world, built once for a whole test module inside a transaction that is rolled back after it.

    Each test still runs in its own savepoint (pytest-django's ``db``), so tests cannot disturb it,
    and other modules never see it.
    """
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield build_world()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with world_for_module(django_db_blocker) as built:
        yield built


ROW_LINK = re.compile(r'<th scope="row"><a href="/[a-z]+/([a-z0-9-]+)/"')


def html_slugs(response) -> list[str]:
    """The slugs of the rows of a list page, in order."""
    return ROW_LINK.findall(response.content.decode())
