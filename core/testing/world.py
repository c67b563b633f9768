"""The one ``world`` every test that needs linked records uses: three counties in two provinces, five
programs, an indicator, seven figures, three sources, four envoys, built as the real data is (quotes
verbatim in their articles, printed values in their quotes).

Keys are short names (``w["puan"]``, ``w["dianshang"]``). The admin, import and backup tests edit one
record of each type and name it by its type: ``w["program"]`` (热土计划), ``w["outcome"]``,
``w["source"]``, ``w["envoy"]``, ``w["posting"]`` are theirs; ``w["fund"]``, ``w["organization"]``,
``w["county"]``, ``w["prefecture"]`` and ``w["province"]`` are the shared ones (阿里巴巴脱贫基金,
淘宝大学, 普安县 in 黔西南州, 贵州省).

``build_world()`` creates the rows with plain ``objects.create`` (the browser test calls it in a live
database); the ``world`` fixture builds them once per test module (see below). Models are looked up by
name: this package is part of ``core`` and imports no record app.
"""

import copy
import datetime
import re
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import transaction

from core.records import slugify_zh

ARTICLE_ONE = (
    "阿里巴巴脱贫基金成立于2017年12月,承诺投入100亿元。电商脱贫项目在普安县开展,2019年销售额达到100万元。"
    "到2020年,普安县的销售额达到300万元。教育扶贫项目培训了500名教师,并在独山县建成10所学校。"
)
ARTICLE_TWO = "阿里巴巴脫貧基金在瀘水市推動村播計劃,累計直播1200場。"
ARTICLE_THREE = "阿里巴巴脱贫基金投入100亿元。普安县是国家级贫困县。帮助3000人就业。"


def model(label):
    """``model("programs.Program")``: the model class, found through the app registry."""
    return apps.get_model(label)


def _maker(label, name_field="name"):
    def make(**kwargs):
        kwargs.setdefault("slug", slugify_zh(kwargs[name_field]))
        return model(label).objects.create(**kwargs)

    return make


def build_world() -> dict:
    """The rows, created with plain ``objects.create``; returns them by short name."""
    make_province, make_prefecture = _maker("counties.Province"), _maker("counties.Prefecture")
    make_fund, make_organization = _maker("programs.Fund"), _maker("programs.Organization")
    make_program, make_envoy = _maker("programs.Program"), _maker("envoys.Envoy")
    make_source = _maker("programs.Source", "title")
    make_outcome = model("programs.Outcome").objects.create
    make_designation = model("counties.CountyDesignation").objects.create
    postings = iter(range(1, 100))

    def make_county(**kwargs):
        kwargs.setdefault("province", kwargs["prefecture"].province)
        return _maker("counties.County")(**kwargs)

    def make_posting(**kwargs):
        kwargs.setdefault("slug", f"posting-{next(postings)}")
        return model("envoys.Posting").objects.create(**kwargs)

    w = {}
    # Places
    w["guizhou"] = make_province(name="贵州省")
    w["yunnan"] = make_province(name="云南省")
    w["qianxinan"] = make_prefecture(name="黔西南州", province=w["guizhou"], slug="qianxinan-zhou")
    w["qiannan"] = make_prefecture(name="黔南州", province=w["guizhou"], slug="qiannan-zhou")
    w["nujiang"] = make_prefecture(name="怒江州", province=w["yunnan"], slug="nujiang-zhou")
    w["puan"] = make_county(name="普安县", prefecture=w["qianxinan"], aliases="普安縣")
    w["dushan"] = make_county(name="独山县", prefecture=w["qiannan"])
    w["lushui"] = make_county(name="泸水市", prefecture=w["nujiang"], kind="xianjishi")

    # Sources: two dated articles, and an undated one whose quotes the admin tests edit
    w["s1"] = make_source(title="阿里巴巴脱贫基金的五年", text=ARTICLE_ONE, published=datetime.date(2021, 5, 1),
                          published_precision="day", publisher="人民网")
    w["s2"] = make_source(title="村播計劃在瀘水", text=ARTICLE_TWO, published=datetime.date(2019, 1, 1),
                          published_precision="year", publisher="澎湃", script="traditional")
    w["source"] = make_source(title="脱贫文章", slug="tuopin-wenzhang", text=ARTICLE_THREE)
    make_designation(county=w["puan"], designation="guojiaji-pinkunxian", source=w["source"],
                     quote="普安县是国家级贫困县")
    for county, code in (("puan", "shendu-pinkunxian"), ("dushan", "guojiaji-pinkunxian"),
                         ("lushui", "sanqu-sanzhou")):
        make_designation(county=w[county], designation=code, source=w["s1"])

    # Funds and organizations
    w["zhenxing"] = make_fund(name="乡村振兴基金", founded=datetime.date(2021, 1, 1), founded_precision="year")
    w["tuopin"] = make_fund(
        name="阿里巴巴脱贫基金", aliases="阿里巴巴脫貧基金", founded=datetime.date(2017, 12, 1),
        founded_precision="month", commitment=Decimal("10000000000"), commitment_printed="100亿元",
        successor=w["zhenxing"], succeeded_on=datetime.date(2021, 1, 1), succeeded_on_precision="year",
    )
    w["taoda"] = make_organization(name="淘宝大学")
    w["mayi"] = make_organization(name="蚂蚁金服")

    # Programs
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
    w["program"] = make_program(name="热土计划", slug="retu-jihua", fund=w["tuopin"], summary="乡村振兴")
    w["program"].counties.add(w["puan"])
    w["program"].sources.add(w["source"])
    w["program"].organizations.add(w["taoda"])

    # An indicator: 普安's sales, followed over two years
    w["indicator"] = _maker("programs.Indicator")(
        name="普安电商销售额", slug="puan-dianshang-xiaoshoue", quantity="money", base_unit="元", units="元",
        program=w["dianshang"], county=w["puan"], aliases="普安銷售額",
    )
    w["indicator"].sources.set([w["s1"]])

    # Figures
    w["sales2019"] = make_outcome(
        slug="puan-sales-2019", metric="销售额", value=Decimal("1000000"), unit="元", value_printed="100万元",
        period_end=datetime.date(2019, 1, 1), period_end_precision="year", program=w["dianshang"],
        county=w["puan"], source=w["s1"], quote="2019年销售额达到100万元", indicator=w["indicator"],
    )
    w["sales2020"] = make_outcome(
        slug="puan-sales-2020", metric="销售额", value=Decimal("3000000"), unit="元", value_printed="300万元",
        period_end=datetime.date(2020, 1, 1), period_end_precision="year", program=w["dianshang"],
        county=w["puan"], source=w["s1"], quote="到2020年,普安县的销售额达到300万元", indicator=w["indicator"],
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
        quote="阿里巴巴脱贫基金成立于2017年12月,承诺投入100亿元",
    )
    w["outcome"] = make_outcome(
        slug="puan-jiuye", metric="就业人数", value=Decimal("3000"), unit="人", value_printed="3000人",
        quote="帮助3000人就业", source=w["source"], program=w["program"], county=w["puan"],
    )

    # Envoys
    w["niu"] = make_envoy(name="牛少龙", role="tepaiyuan", joined_year=2009, batch="第一批")
    w["wang"] = make_envoy(name="王开北", role="peixun", nickname="北北")
    w["li"] = make_envoy(name="李村小", role="cunxiaoer", joined_year=2015)
    w["envoy"] = make_envoy(name="王小明", slug="wang-xiaoming", nickname="明哥")
    make_posting(envoy=w["niu"], county=w["puan"], title="副县长", start=datetime.date(2019, 7, 1),
                 start_precision="month")
    make_posting(envoy=w["wang"], county=w["dushan"], title="培训小二")
    make_posting(envoy=w["li"], county=w["lushui"], title="村小二")
    w["posting"] = make_posting(envoy=w["envoy"], county=w["puan"], slug="wang-xiaoming-puan-xian",
                                title="副县长")

    # The shared records under the names the admin tests use
    w["fund"], w["organization"], w["county"] = w["tuopin"], w["taoda"], w["puan"]
    w["prefecture"], w["province"] = w["qianxinan"], w["guizhou"]
    return w


# ---------------------------------------------------------------------------
# The fixture: built once per test module, inside a transaction rolled back after it. Each test runs in
# its own savepoint (pytest-django's ``db``), so its writes are undone, and gets its own copies of the
# rows, so what it changes in memory does not reach the next test either.


class _ModuleWorld:
    """The world of one test module, kept in an open transaction until no later test of it needs it."""

    current = None  # the one open at the moment, if any

    def __init__(self, django_db_blocker):
        self.blocker = django_db_blocker
        with self.blocker.unblock():
            self.atomic = transaction.atomic()
            self.atomic.__enter__()
            _ModuleWorld.current = self
            try:
                self.rows = build_world()
            except BaseException:
                self.close()
                raise

    @property
    def open(self):
        return self.atomic is not None

    def close(self):
        if not self.open:
            return
        with self.blocker.unblock():
            transaction.set_rollback(True)
            self.atomic.__exit__(None, None, None)
        self.atomic = None
        if _ModuleWorld.current is self:
            _ModuleWorld.current = None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """A test that does not ask for the world must not find it: roll the module's world back first
    (a later test of the module that asks for it then builds its own)."""
    if _ModuleWorld.current is not None and "world" not in item.fixturenames:
        _ModuleWorld.current.close()


@pytest.fixture(scope="module")
def _module_world(django_db_setup, django_db_blocker):
    built = _ModuleWorld(django_db_blocker)
    yield built
    built.close()


@pytest.fixture
def world(_module_world, db):
    if _module_world.open:
        return copy.deepcopy(_module_world.rows)
    return build_world()  # inside this test's transaction


ROW_LINK = re.compile(r'<th scope="row"><a href="/[a-z]+/([a-z0-9-]+)/"')


def html_slugs(response) -> list[str]:
    """The slugs of the rows of a list page, in order."""
    return ROW_LINK.findall(response.content.decode())
