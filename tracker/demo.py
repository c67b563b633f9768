"""Demo data at scale: ``manage.py generate_demo --programs N`` fills the database with N programs.

The rows have the shape of the real data (provinces, prefectures and counties; funds and
organizations; programs in the real areas; about five reported figures per program, each
quoting a sentence that occurs verbatim in a generated article; envoys and their postings),
in Chinese, and the same seed always gives the same rows.

Generated rows are told apart by their slug, which starts with ``demo-``. The generator deletes
its own earlier rows before writing new ones, never touches a seed row (the records of
``seeds/``, which ``make run`` loads), and refuses to run on a database that holds any other
record unless it is forced: such a database is somebody's real data.

Speed (100,000 programs, about 1.07 million rows; BENCHMARKS.md has the figures): the big tables'
rows are built as tuples and written without model instances (SQLite: INSERTs of up to 2,000 rows
each, as many as its parameter limit allows; PostgreSQL: ``COPY``; a value every row shares is
written into the statement, not bound per row), by a second thread on the same connection while the
next rows are built, in one transaction; the interpreter's switch interval is short while both run,
so the writer, which gives up the GIL whenever SQLite steps a statement, wins it back at once
instead of after up to 5 ms (one statement per row, as ``executemany`` runs them, cost a hand-over
of the GIL each way per row). The envoys are built while the writer rebuilds the indexes, and the
file is read through a memory map during the load. ``search_text`` and
``search_tokens`` are filled here (no ``pre_save`` is sent): every text is made of fragments of a
small vocabulary, so each fragment is normalised, read in pinyin and
cut into index terms once, and a text's terms are put together from its fragments' (the tests
check every generated row against what a save would write). On SQLite the secondary indexes and
the search index's triggers of the big tables are taken down for the load and put back from their
SQL afterwards, each batch goes into the search index in one statement, and a database file nobody
else has open is written with a rollback journal and ``synchronous=OFF`` (WAL and the usual syncs
are put back after). Generated rows get no history rows; cached facet counts are made stale on
commit, and ANALYZE runs at the end.
"""

from __future__ import annotations

import datetime
import queue
import random
import re
import sqlite3
import sys
import threading
from contextlib import contextmanager, suppress
from decimal import Decimal
from itertools import chain

from django.apps import apps
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, OperationalError, connection, connections, transaction
from django.utils import translation
from pypinyin.converter import UltimateConverter
from pypinyin.core import Pinyin

from core import registry
from core.importing import page_cache
from core.listing import new_data_generation
from core.search import SUFFIX_LENGTH, drop_index, ensure_index, fts_table, normalise, search_tokens

DEMO_PREFIX = "demo-"
BATCH = 2000
BULK_MMAP_SIZE = 1 << 32  # bytes of the database file SQLite may map while it loads
WRITER_SWITCH_INTERVAL = 0.0001  # seconds (sys.setswitchinterval) while the writer thread runs


class DemoRefused(Exception):
    """The database holds records the generator did not write (and that are not seed records)."""


# ---------------------------------------------------------------------------
# Vocabulary. Pinyin is always taken of a whole joined name, since a reading can change with its
# neighbour (电商 + 行动 reads dian shang hang dong).

PROVINCES = [
    ("河北省", "sheng"), ("山西省", "sheng"), ("内蒙古自治区", "zizhiqu"), ("吉林省", "sheng"),
    ("黑龙江省", "sheng"), ("安徽省", "sheng"), ("江西省", "sheng"), ("河南省", "sheng"),
    ("湖北省", "sheng"), ("湖南省", "sheng"), ("广西壮族自治区", "zizhiqu"), ("海南省", "sheng"),
    ("四川省", "sheng"), ("贵州省", "sheng"), ("云南省", "sheng"), ("西藏自治区", "zizhiqu"),
    ("陕西省", "sheng"), ("甘肃省", "sheng"), ("青海省", "sheng"), ("宁夏回族自治区", "zizhiqu"),
    ("新疆维吾尔自治区", "zizhiqu"), ("重庆市", "zhixiashi"),
]
PLACE_CHARS = (
    "安宁平丰永德昌兴华新阳山河源江川云石龙凤泉林溪岭清白金玉东西南北青秀峰湖桃梅松柏"
    "春鸣嘉福泰康宝远盛茂吉祥瑞文武仁义信岩坪沟塘湾坝营城关庄寨集镇屯"
)
PREFECTURE_KINDS = [("市", "dijishi", 6), ("自治州", "zizhizhou", 2), ("地区", "diqu", 1)]
COUNTY_KINDS = [("县", "xian", 12), ("自治县", "zizhixian", 2), ("旗", "qi", 1), ("市", "xianjishi", 2),
                ("区", "qu", 1)]
DESIGNATIONS = ["guojiaji-pinkunxian", "shendu-pinkunxian", "sanqu-sanzhou", "zhongdianxian"]

# (theme, area)
THEMES = [
    ("茶叶电商", "dianshang"), ("农产品直播", "dianshang"), ("网店孵化", "dianshang"),
    ("乡村教师", "jiaoyu"), ("留守儿童阅读", "jiaoyu"), ("职业教育", "jiaoyu"),
    ("乡村医生培训", "jiankang"), ("母婴健康", "jiankang"), ("大病救助", "jiankang"),
    ("女性创业", "nvxing"), ("巾帼电商", "nvxing"), ("妈妈工坊", "nvxing"),
    ("生态保护", "shengtai"), ("护林员", "shengtai"), ("水源涵养", "shengtai"),
    ("数字乡村", "keji"), ("智慧农业", "keji"), ("特色产业", "chanye"), ("食用菌种植", "chanye"),
    ("电商人才", "rencai"), ("青年创业", "rencai"), ("普惠金融", "jinrong"), ("小额信贷", "jinrong"),
    ("农村物流", "wuliu"), ("冷链仓储", "wuliu"), ("乡村旅游", "lvyou"), ("民宿发展", "lvyou"),
    ("公益助农", "qita"),
]
PROGRAM_KINDS = [("计划", "plan"), ("项目", "project"), ("行动", "program"), ("工程", "project"),
                 ("示范班", "event"), ("平台", "platform")]
ORDINALS = "二三四五六七八九"
FUND_THEMES = ["乡村教育", "乡村健康", "女性发展", "生态保护", "数字乡村", "产业振兴", "人才培养",
               "普惠金融", "乡村物流", "文旅融合", "助农公益", "应急救助", "科技助农", "乡村振兴",
               "留守儿童", "乡村医疗", "绿色发展", "青年创业", "乡村治理", "电商扶贫"]
ORG_KINDS = [("电商服务中心", "partner"), ("农业合作社", "partner"), ("公益基金会", "foundation"),
             ("职业技术学校", "partner"), ("乡村振兴局", "government"), ("物流服务站", "company"),
             ("数字产业园", "company")]
PUBLISHERS = ["人民网", "新华网", "澎湃新闻", "中国青年报", "浙江日报", "经济日报", "中国新闻网",
              "农民日报", "光明日报", "钱江晚报"]
SURNAMES = (
    "王李张刘陈杨黄吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔汤"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建文辉鹏斌宇浩凯健俊帆帅旭宁琳晨晶欣雪梅琴云飞鑫波"
NICKNAMES = ["小龙", "阿星", "青松", "老牛", "县长", "山鹰", "石头", "大树", "小鱼", "向阳"]
ROLES = [("tepaiyuan", 5), ("cunxiaoer", 3), ("peixun", 1), ("yuangong", 1)]
POSTING_TITLES = ["副县长", "脱贫特派员", "乡村振兴特派员", "农村淘宝村小二", "电商培训讲师", "副指挥长"]
BATCHES = ["首批", "第二批", "第三批", "第四批"]
# (metric, verb before the figure, unit, (low, high) in units, multiplier word)
METRICS = [
    ("培训人数", "培训农民", "人", (50, 30000), ""),
    ("带动销售额", "带动销售额", "元", (10, 90000), "万"),
    ("覆盖行政村", "覆盖行政村", "个", (3, 300), ""),
    ("惠及人次", "惠及", "人次", (100, 900000), ""),
    ("投入资金", "投入资金", "元", (5, 5000), "万"),
    ("新增就业岗位", "新增就业岗位", "个", (10, 5000), ""),
    ("开设网店", "开设网店", "家", (5, 2000), ""),
    ("农产品销售额", "农产品销售额达", "元", (11, 99), "亿"),
]
# What each metric's indicator counts (programs.models.Quantity)
QUANTITIES = {"培训人数": "people", "带动销售额": "money", "覆盖行政村": "villages", "惠及人次": "person-times",
              "投入资金": "money", "新增就业岗位": "count", "开设网店": "count", "农产品销售额": "money"}
QUALIFIERS = ["", "", "", "超过", "近", "约", "累计"]
MULTIPLIER = {"": 1, "万": 10_000, "亿": 100_000_000}


# ---------------------------------------------------------------------------
# Text helpers: a text is a list of fragments; each fragment is normalised once.


class _MemoConverter(UltimateConverter):
    """The converter ``pypinyin.lazy_pinyin`` uses with its defaults, remembering each segment's reading.

    ``lazy_pinyin`` cuts a text into segments (runs of Chinese by its phrase dictionary, and the runs
    between them) and converts each segment on its own, so a text's reading is the readings of its
    segments: remembering them gives exactly :func:`core.search.pinyin_of`, several times faster
    (a generated name repeats the segments of a small vocabulary).
    """

    def __init__(self):
        super().__init__(v_to_u=False, neutral_tone_with_five=False, tone_sandhi=False)
        self._memo: dict = {}

    def convert(self, words, style, heteronym, errors, strict, **kwargs):
        key = (words, style, heteronym, errors, strict)
        value = self._memo.get(key)
        if value is None:
            value = self._memo[key] = super().convert(words, style, heteronym, errors, strict, **kwargs)
        return value


class Texts:
    """Caches of normalised and pinyin forms of fragments (the vocabulary is small)."""

    def __init__(self):
        self._norm: dict[str, str] = {}
        self._pinyin: dict[str, str] = {}
        self._slug: dict[str, str] = {}
        self._tokens: dict[str, list[str]] = {}
        self._info: dict[str, tuple] = {}  # fragment -> (normalised, kinds of its first and last character, terms)
        self._reader = Pinyin(_MemoConverter())

    def norm1(self, fragment: str) -> str:
        value = self._norm.get(fragment)
        if value is None:
            if fragment.isascii():  # its own NFKC form, no traditional characters: only lowercased
                return fragment.lower()  # (not kept: numbers and pinyin, mostly met once)
            value = normalise(fragment)
            if len(self._norm) > 200_000:
                self._norm.clear()
            self._norm[fragment] = value
        return value

    def norm(self, fragments) -> str:
        norm1 = self.norm1
        return "".join([norm1(fragment) for fragment in fragments])

    def pinyin(self, fragments) -> str:
        """The pinyin of the joined text (not of each fragment: 电商+行动 reads shanghang joined);
        the same as ``pinyin_of`` (checked on every generated name by the tests)."""
        text = "".join(fragments)
        value = self._pinyin.get(text)
        if value is None:
            if len(self._pinyin) > 100_000:  # most names occur once: the cache is emptied now and then
                self._pinyin.clear()
            value = self._pinyin[text] = "".join(self._reader.lazy_pinyin(text, errors="ignore")).lower()
        return value

    def slugpart(self, fragments) -> str:
        text = "".join(fragments)
        value = self._slug.get(text)
        if value is None:
            value = self._slug[text] = _slugpart(self.pinyin(fragments))
        return value

    def search_text(self, parts, name_fragments) -> str:
        """Same as ``build_search_text``: each non-empty part normalised, then the name's pinyin."""
        pieces = [self.norm(fragments) for fragments in parts if any(fragments)]
        name_pinyin = self.pinyin(name_fragments) if name_fragments else ""
        if name_pinyin:
            pieces.append(self.norm([name_pinyin]))
        return "\n".join(pieces)

    def terms(self, text, remember=True) -> list[str]:
        """The index terms of ``text`` as a list (``search_tokens``). The terms of a text made of
        pieces that no term spans (lines; digits, then Chinese) are the pieces' terms in order, each
        once: ``" ".join(dict.fromkeys(terms of each piece))``."""
        found = self._tokens.get(text)
        if found is None:
            if len(text) > 4 and text.isascii() and text.isalnum():  # a number or a pinyin: not kept
                return _ascii_terms(text)
            joined = search_tokens(text)
            found = joined.split(" ") if joined else []
            if remember:
                if len(self._tokens) > 100_000:
                    self._tokens.clear()
                self._tokens[text] = found
        return found

    def line(self, fragments) -> tuple[str, list[str]]:
        """The normalised ``"".join(fragments)`` and its index terms, put together from each
        fragment's (normalised once, its terms and the kinds of its first and last character kept).

        A run of Chinese that goes on from one fragment into the next adds the bigram across the
        join, between the two fragments' terms, where ``search_tokens`` has it; nothing else spans a
        join, but a run of ASCII letters or digits, whose terms (its suffixes) are then taken of
        the whole line. The list may hold a term twice: the caller keeps each once, in order.
        """
        info = self._info
        norms, out = [], []
        last_kind, last_char, whole = 0, "", False
        for fragment in fragments:
            found = info.get(fragment)
            if found is None:
                found = self._info_of(fragment)
            norm, first, last, terms = found
            if not norm:
                continue
            norms.append(norm)
            if first == last_kind:
                if last_kind == _CHINESE:
                    out.append(last_char + norm[0])
                elif last_kind == _ASCII:
                    whole = True
            out += terms
            last_kind, last_char = last, norm[-1]
        text = "".join(norms)
        return text, (self.terms(text, remember=False) if whole else out)

    def _info_of(self, fragment):
        norm = self.norm1(fragment)
        if not norm:
            found = (norm, 0, 0, [])
        elif norm.isascii() and norm.isalnum():  # a number or a pinyin
            found = (norm, _ASCII, _ASCII, self.terms(norm))
            if len(norm) > 4:  # mostly met once: not kept
                return found
        else:
            found = (norm, _char_kind(norm[0]), _char_kind(norm[-1]), self.terms(norm))
        if len(self._info) > 200_000:
            self._info.clear()
        self._info[fragment] = found
        return found

    def indexed(self, parts, name_fragments) -> tuple[str, str]:
        """``(search_text, search_tokens)`` as a save would write them (``build_search_text``: each
        non-empty part normalised, then the name's pinyin), the terms put together from the
        fragments' (see :meth:`line`)."""
        lines = [self.line(fragments) for fragments in parts if any(fragments)]
        name_pinyin = self.pinyin(name_fragments) if name_fragments else ""
        if name_pinyin:
            lines.append(self.line([name_pinyin]))
        terms = []
        for _text, line_terms in lines:
            terms += line_terms
        return "\n".join([text for text, _terms in lines]), " ".join(dict.fromkeys(terms))


_ASCII, _CHINESE = 1, 2  # the two kinds of run search_tokens cuts a text into (0: neither)
_ASCII_RUN = (_ASCII, _ASCII)  # the kinds of a piece's first and last character: a run of ASCII letters and digits


_ASCII_CHAR, _CHINESE_CHAR = re.compile(r"[0-9A-Za-z]"), re.compile(r"[^\W\x00-\x7f_]")  # core.search._RUNS


def _char_kind(char: str) -> int:
    return _ASCII if _ASCII_CHAR.match(char) else _CHINESE if _CHINESE_CHAR.match(char) else 0


def _weighted(rng, pairs):
    total = sum(weight for *_rest, weight in pairs)
    pick = rng.uniform(0, total)
    for item in pairs:
        pick -= item[-1]
        if pick <= 0:
            return item
    return pairs[-1]


def _then(first: dict, second: dict) -> dict:
    """``first`` with the keys of ``second`` it lacks after its own, in order: the keys of
    ``dict.fromkeys([*first, *second])``."""
    first.update(second)
    return first


def _ascii_terms(text: str) -> list[str]:
    """``search_tokens`` of one run of ASCII letters and digits, as a list: its suffixes, each cut
    to ``SUFFIX_LENGTH`` (suffixes of different lengths differ: only a longer run can repeat one)."""
    if len(text) <= SUFFIX_LENGTH:
        return [text[i:] for i in range(len(text))]
    return list(dict.fromkeys([text[i:i + SUFFIX_LENGTH] for i in range(len(text))]))


def _number_terms(number: str) -> list[str]:
    """The index terms of a printed number (digits and a decimal point), as ``search_tokens``
    gives them (each run of digits and its suffixes), not necessarily each once."""
    return [run[i:] for run in number.split(".") for i in range(len(run))]


def _slugpart(pinyin: str) -> str:
    return "".join(ch for ch in pinyin.lower() if ch.isascii() and ch.isalnum()) or "x"


def _sql_literal(value) -> str:
    """``value`` (NULL, an integer or a text, as bound to SQLite) written into a statement: SQLite stores
    the literal exactly as it stores the bound value. For a statement handed to ``sqlite3`` itself (``?``
    placeholders: ``%`` is not doubled)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and "\x00" not in value:
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no literal for {value!r}")


# ---------------------------------------------------------------------------
# Which records the generator may live beside


def foreign_records() -> dict[str, int]:
    """Records that are neither generated (``demo-`` slug) nor seed records, counted per model."""
    from core.seeding import SEEDS_DIR
    from counties.models import County, Prefecture, Province
    from envoys.models import Envoy, Posting
    from programs.models import Fund, Indicator, Organization, Outcome, Program, Source
    from tracker.seeding import read_seeds

    seeds = read_seeds(SEEDS_DIR)
    kinds = {
        "sources": Source, "provinces": Province, "prefectures": Prefecture, "counties": County,
        "funds": Fund, "organizations": Organization, "programs": Program, "envoys": Envoy,
        "postings": Posting, "outcomes": Outcome, "indicators": Indicator,
    }
    found = {}
    for kind, model in kinds.items():
        count = (model.objects.exclude(slug__startswith=DEMO_PREFIX)
                 .exclude(slug__in=sorted(seeds.slugs(kind) - {None})).count())
        if count:
            found[model._meta.verbose_name_plural] = count
    return found


def delete_demo() -> int:
    """Delete every generated row (raw deletes: no history rows, no per-object signals), record types in
    the reverse of the registry's load order, each after the links and dependent rows that point at it."""

    def raw(queryset):
        return queryset._raw_delete(queryset.db)

    demo = {"slug__startswith": DEMO_PREFIX}
    types = list(reversed(registry.record_types()))
    models = [t.model_class for t in types]
    deleted = 0
    for record_type, model in zip(types, models, strict=True):
        for field in model._meta.many_to_many:
            through = field.remote_field.through
            raw(through.objects.filter(**{f"{field.m2m_field_name()}__slug__startswith": DEMO_PREFIX}))
        for relation in model._meta.related_objects:
            # rows that are not records themselves (a county's designations) go with what they belong to
            if relation.one_to_many and relation.related_model not in models:
                dependent = relation.related_model.objects
                raw(dependent.filter(**{f"{relation.field.name}__slug__startswith": DEMO_PREFIX}))
        if record_type.self_reference:
            model.objects.filter(**demo).update(**{record_type.self_reference: None})
        deleted += raw(model.objects.filter(**demo))
    return deleted


# ---------------------------------------------------------------------------
# The generator


def generate_demo(*, programs: int, seed: int = 1, force: bool = False, progress=None) -> dict[str, int]:
    """Write ``programs`` generated programs and everything around them; return counts per model.

    ``progress(n)`` is called after every batch with the number of rows just written.
    Raises :class:`DemoRefused` when foreign records exist and ``force`` is false.
    """
    if programs < 1:
        raise ValueError("--programs must be at least 1")
    if not force:
        found = foreign_records()
        if found:
            listed = ", ".join(f"{count} {name}" for name, count in found.items())
            raise DemoRefused(
                f"the database holds records that are neither seed records nor generated ({listed}); "
                "run on an empty or seeded database, or pass --force to add demo rows beside them"
            )
    # SQLite checks every foreign key of every inserted row as it goes; the generator's keys are
    # right by construction, so they are checked once at the end instead (any violation raises
    # and the transaction rolls back). PostgreSQL defers its checks to the commit anyway.
    # SQLite: a bigger page cache for this connection's big writes, its own size again afterwards.
    with (_sqlite_bulk_journal(), page_cache(connection.alias, kib=262144), connection.constraint_checks_disabled(),
          transaction.atomic(), translation.override("en")):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:  # deleting a previous run can outlast a page's timeout
                cursor.execute("SET LOCAL statement_timeout = 0")
        # SQLite's search index (FTS5) is taken down for the deletion of earlier demo rows and made
        # again over what is left; the bulk tables' rows are then indexed a batch at a time by one
        # statement each, not row by row through the index's triggers (several times slower), and
        # the triggers are put back at the end. All inside the same transaction.
        searchable = [m for m in apps.get_models() if hasattr(m, "SEARCH_FIELDS")]
        if connection.vendor == "sqlite":
            for model in searchable:
                drop_index(model, connection)
        delete_demo()
        for model in searchable:
            ensure_index(model, connection)
        generator = _Generator(programs=programs, seed=seed, progress=progress or (lambda n: None))
        counts = generator.run()
        for model in searchable:
            ensure_index(model, connection)  # nothing left to do unless a step above was skipped
        connection.check_constraints()
        # bulk writes send no signals: cached facet counts are made stale here, on commit
        transaction.on_commit(new_data_generation)
        with connection.cursor() as cursor:  # planner statistics for the new row counts
            cursor.execute("ANALYZE")
    return counts


@contextmanager
def _sqlite_bulk_journal():
    """SQLite, a database file nobody else has open: the load is written with a rollback journal
    and no syncs, WAL and the usual syncs are put back after it.

    The file is also read through a memory map (the rebuilding of each index reads the whole table,
    which outgrows the page cache: read from the map, its pages are not copied in again each time).

    In WAL mode every page of the load would be written twice (to the log, then into the file at
    the checkpoint); with a rollback journal only the pages that existed before are copied (new
    pages need no journal), and the transaction is still all or nothing. A database another
    connection has open keeps its mode (SQLite refuses the change): its readers go on reading.
    """
    if connection.vendor != "sqlite" or connection.in_atomic_block or connection.is_in_memory_db():
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        mode = cursor.fetchone()[0]
        cursor.execute("PRAGMA synchronous")
        synchronous = cursor.fetchone()[0]
        cursor.execute("PRAGMA busy_timeout")
        timeout = cursor.fetchone()[0]
        cursor.execute("PRAGMA busy_timeout = 0")  # the file is in use: no waiting, WAL stays
        with suppress(OperationalError):
            cursor.execute("PRAGMA journal_mode = DELETE")
        cursor.execute(f"PRAGMA busy_timeout = {int(timeout)}")
        cursor.execute("PRAGMA synchronous = OFF")
        cursor.execute("PRAGMA mmap_size")
        mmap_size = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA mmap_size = {BULK_MMAP_SIZE}")  # capped at SQLite's own limit
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA mmap_size = {int(mmap_size)}")
            cursor.execute(f"PRAGMA synchronous = {int(synchronous)}")
            with suppress(OperationalError):  # a connection opened the file meanwhile: it set WAL itself
                cursor.execute(f"PRAGMA journal_mode = {mode}")


class _Generator:
    def __init__(self, *, programs, seed, progress):
        self.n = programs
        self.rng = random.Random(seed)
        self.progress = progress
        self.texts = Texts()
        self.counts: dict[str, int] = {}
        self.now = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
        self.slugs: set[str] = set()
        self.db = connections[DEFAULT_DB_ALIAS]  # this thread's connection, lent to the writer thread
        self.sqlite = self.db.vendor == "sqlite"
        self.stashed: dict[str, list] = {}  # SQLite: table -> its indexes and search triggers, down for the load
        self.jobs = None  # the writer thread's queue while it runs
        self.failure = None

    # -- helpers ---------------------------------------------------------------

    def unique_slug(self, base: str) -> str:
        slug, k = base[:110], 2
        while slug in self.slugs:
            slug = f"{base[:110]}-{k}"
            k += 1
        self.slugs.add(slug)
        return slug

    def write(self, model, objects, label=None, indexed=False):
        """bulk_create in batches; returns the objects (with primary keys on SQLite and PostgreSQL).
        ``indexed``: the objects' index terms are filled already."""
        label = label or model._meta.verbose_name_plural
        for obj in () if indexed else objects:  # bulk_create sends no pre_save: the index terms are filled here
            if hasattr(obj, "search_tokens"):
                obj.search_tokens = search_tokens(obj.search_text)
        for start in range(0, len(objects), BATCH):
            chunk = objects[start:start + BATCH]
            model.objects.bulk_create(chunk, batch_size=_batch_size(model))
            self.progress(len(chunk))
        self.counts[str(label)] = self.counts.get(str(label), 0) + len(objects)
        return objects

    # -- the writer thread: the database work of the big tables runs beside the generation ----------
    #
    # The generation is Python and the writes are mostly SQLite's or PostgreSQL's own work, so on two
    # cores they take turns on one: the rows are handed in batches to a second thread, which writes
    # them in order on this thread's connection (lent to it, inside the same transaction) while the
    # next batch is built. The main thread does not touch the database while the writer runs.

    def start_writer(self):
        self.jobs = queue.Queue(maxsize=16)  # a few batches ahead at most: memory stays flat
        self.db.inc_thread_sharing()
        # The writer gives up the GIL for every statement SQLite steps (it binds a statement's
        # values, then steps without the GIL) and must win it back from the generating thread each
        # time: at the default switch interval (5 ms) it waits up to that long per statement. A short
        # interval while both run lets the writer keep pace at little cost to the generation. (A
        # statement holds many rows: with one per row, as ``executemany`` runs them, the two threads
        # spent much of their time handing the GIL over.)
        self.switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(WRITER_SWITCH_INTERVAL)
        self.writer = threading.Thread(target=self._work, name="generate_demo writer", daemon=True)
        self.writer.start()

    def _work(self):
        while (job := self.jobs.get()) is not None:
            if self.failure is None:
                try:
                    job[0](*job[1])
                except BaseException as exc:  # raised again in the main thread by stop_writer
                    self.failure = exc

    def stop_writer(self):
        if self.jobs is None:
            return
        self.jobs.put(None)
        self.writer.join()
        self.jobs = None
        sys.setswitchinterval(self.switch_interval)
        self.db.dec_thread_sharing()
        if self.failure is not None:
            raise self.failure

    def later(self, job, *args):
        """Run ``job(*args)`` in the writer thread (at once when it is not running)."""
        if self.failure is not None:
            self.stop_writer()
        if self.jobs is None:
            job(*args)
        else:
            self.jobs.put((job, args))

    def insert(self, model, columns, rows, label=None, fixed=None):
        """Write many rows given as tuples in the order of ``columns`` (attribute names); ``fixed``
        maps further attribute names to the one value every row has, and every other column gets
        its field's default (the timestamps: ``self.now``). No model instance is built: SQLite gets
        INSERTs of many rows each, PostgreSQL one ``COPY`` per batch. Used for the tables that grow with
        ``--programs``; several times faster than ``bulk_create``. Runs in the writer thread."""
        label = str(label or model._meta.verbose_name_plural)
        self.counts[label] = self.counts.get(label, 0) + len(rows)
        if rows:
            self.later(self._insert, model, columns, rows, fixed or {})

    def _insert(self, model, columns, rows, fixed):
        db, meta = self.db, model._meta
        by_name = {f.attname: f for f in meta.concrete_fields}
        stamp = self.stamp()
        ops = db.ops
        # The columns every row has the same value in: the fixed ones, then the rest at their defaults.
        constant = [(by_name[name], by_name[name].get_db_prep_save(value, db)) for name, value in fixed.items()]
        constant += [
            (f, ops.adapt_datetimefield_value(stamp[f.attname]) if f.attname in stamp
             else f.get_db_prep_save(f.get_default() if f.has_default() else None, db))
            for f in meta.concrete_fields if f.attname not in columns and f.attname not in fixed and not f.primary_key
        ]
        qn = ops.quote_name
        names = ", ".join([qn(by_name[name].column) for name in columns] + [qn(f.column) for f, _v in constant])
        table = qn(meta.db_table)
        step = BATCH * 5
        with db.cursor() as cursor:
            if db.vendor == "postgresql":
                # COPY: psycopg adapts the values (dates, decimals, None) itself.
                tail = tuple(value for _f, value in constant)
                with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for start in range(0, len(rows), step):
                        for row in rows[start:start + step]:
                            copy.write_row(row + tail)
                        self.progress(len(rows[start:start + step]))
                return
            searched = self.sqlite and hasattr(model, "SEARCH_FIELDS")
            if self.sqlite:
                self.stash(model)
                if searched:
                    cursor.execute(f"SELECT coalesce(max({qn(meta.pk.column)}), 0) FROM {table}")
                    last = cursor.fetchone()[0]
            dates = [i for i, name in enumerate(columns) if by_name[name].get_internal_type() == "DateField"]
            adapted = {None: None}
            # A value that is the same in every row is written into the statement (SQLite binds each
            # parameter of each row one by one: a large part of the cost of the big tables' inserts).
            literals = [_sql_literal(value) for _f, value in constant]
            row_sql = f"({', '.join(['?'] * len(columns) + literals)})"
            head = f"INSERT INTO {table} ({names}) VALUES "
            per = max(1, min(BATCH, db.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(columns)))
            full = head + ", ".join([row_sql] * per)
            # Handed to sqlite3 itself: Django's cursor would convert the long statement's placeholders
            # again for every statement (it is not seen by execute wrappers).
            raw = cursor.cursor
            for start in range(0, len(rows), step):
                chunk = rows[start:start + step]
                if dates:
                    values = []
                    for row in chunk:
                        row = list(row)
                        for i in dates:
                            value = row[i]
                            shown = adapted.get(value)
                            if shown is None and value is not None:
                                shown = adapted[value] = ops.adapt_datefield_value(value)
                            row[i] = shown
                        values.append(row)
                else:
                    values = chunk
                for first in range(0, len(values), per):
                    part = values[first:first + per]
                    sql = full if len(part) == per else head + ", ".join([row_sql] * len(part))
                    sqlite3.Cursor.execute(raw, sql, list(chain.from_iterable(part)))
                self.progress(len(chunk))
            if searched:  # the new rows into the search index, in one statement
                fts = qn(fts_table(model))
                cursor.execute(f"INSERT INTO {fts} (rowid, search_tokens) SELECT {qn(meta.pk.column)}, search_tokens "
                               f"FROM {table} WHERE {qn(meta.pk.column)} > %s", [last])

    def stash(self, model):
        """SQLite: take down the table's own indexes (SQLite builds an index from sorted rows
        several times faster than it keeps one current row by row) and its search index's triggers
        (:meth:`_insert` indexes each batch in one statement); :meth:`restore` makes them again from
        their SQL, in the same transaction. Unique constraints (SQLite's automatic indexes) stay."""
        table = model._meta.db_table
        if table in self.stashed:
            return
        with self.db.cursor() as cursor:
            cursor.execute("SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') "
                           "AND tbl_name = %s AND sql IS NOT NULL ORDER BY type, name", [table])
            self.stashed[table] = cursor.fetchall()
            for kind, name, _sql in self.stashed[table]:
                cursor.execute(f"DROP {kind.upper()} {self.db.ops.quote_name(name)}")

    def restore(self, *models):
        """Make the indexes and triggers :meth:`stash` took down again (in the writer thread, after
        the last batch of these tables)."""
        self.later(self._restore, [m._meta.db_table for m in models])

    def _restore(self, tables):
        with self.db.cursor() as cursor:
            for table in tables:
                for _kind, _name, sql in self.stashed.pop(table, []):
                    cursor.execute(sql)

    def next_id(self, model) -> int:
        from django.db.models import Max

        return (model.objects.aggregate(m=Max("pk"))["m"] or 0) + 1

    def stamp(self, **kwargs):
        kwargs.setdefault("created_at", self.now)
        kwargs.setdefault("updated_at", self.now)
        return kwargs

    # -- the steps -------------------------------------------------------------

    def run(self):
        self.places()
        self.funds_and_organizations()
        try:
            self.programs_sources_outcomes()
            envoys = self.envoys()  # built while the writer thread finishes (rebuilding the indexes)
        finally:
            self.stop_writer()
        self.write_envoys(*envoys)
        return self.counts

    def places(self):
        from counties.models import County, CountyDesignation, Prefecture, Province

        rng, texts = self.rng, self.texts
        n_counties = max(12, min(2500, self.n // 40))
        n_prefectures = max(4, min(320, n_counties // 8))
        n_provinces = max(2, min(len(PROVINCES), n_prefectures // 3))
        existing = {p.name: p for p in Province.objects.all()}
        self.provinces, new = [], []
        for name, kind in PROVINCES[:n_provinces]:
            if name in existing:  # a seed province: refer to it, never change it
                self.provinces.append(existing[name])
                continue
            province = Province(**self.stamp(
                name=name, kind=kind, slug=self.unique_slug(DEMO_PREFIX + texts.slugpart([name])),
                search_text=texts.search_text([[name]], [name]),
            ))
            new.append(province)
            self.provinces.append(province)
        self.write(Province, new)

        taken = set(Prefecture.objects.values_list("province_id", "name"))
        self.prefectures = []
        while len(self.prefectures) < n_prefectures:
            province = self.provinces[len(self.prefectures) % len(self.provinces)]
            suffix, kind, _w = _weighted(rng, PREFECTURE_KINDS)
            stem = "".join(rng.sample(PLACE_CHARS, 2))
            name = stem + suffix
            if (province.pk, name) in taken:
                continue
            taken.add((province.pk, name))
            self.prefectures.append(Prefecture(**self.stamp(
                name=name, kind=kind, province=province,
                slug=self.unique_slug(f"{DEMO_PREFIX}{texts.slugpart([stem])}-{texts.slugpart([suffix])}"),
                search_text=texts.search_text([[stem, suffix]], [stem, suffix]),
            )))
        self.write(Prefecture, self.prefectures)

        taken = set(County.objects.values_list("prefecture_id", "name"))
        self.counties, self.county_stems = [], {}
        while len(self.counties) < n_counties:
            prefecture = rng.choice(self.prefectures)
            suffix, kind, _w = _weighted(rng, COUNTY_KINDS)
            stem = "".join(rng.sample(PLACE_CHARS, 2))
            name = stem + suffix
            if (prefecture.pk, name) in taken:
                continue
            taken.add((prefecture.pk, name))
            alias = stem if rng.random() < 0.5 else ""
            county = County(**self.stamp(
                name=name, kind=kind, prefecture=prefecture, province=prefecture.province, aliases=alias,
                slug=self.unique_slug(f"{DEMO_PREFIX}{texts.slugpart([stem])}-{texts.slugpart([suffix])}"),
                search_text=texts.search_text([[stem, suffix], [alias]], [stem, suffix]),
            ))
            self.counties.append(county)
            self.county_stems[name] = (stem, suffix)
        self.write(County, self.counties)
        designations = []
        for county in self.counties:
            if rng.random() < 0.6:
                for code in rng.sample(DESIGNATIONS, rng.randint(1, 2)):
                    designations.append(CountyDesignation(county=county, designation=code))
        self.write(CountyDesignation, designations)

    def funds_and_organizations(self):
        from programs.models import Fund, Organization

        rng, texts = self.rng, self.texts
        fund_names = set(Fund.objects.values_list("name", flat=True))
        self.funds = []
        for theme in FUND_THEMES[:max(3, min(len(FUND_THEMES), self.n // 5000))]:
            name = f"{theme}专项基金"
            if name in fund_names:
                continue
            amount = rng.randint(1, 50)
            year = rng.randint(2015, 2021)
            summary = [f"{year}", "年设立，承诺", f"{amount}", "亿元，支持", theme, "方向的项目。"]
            self.funds.append(Fund(**self.stamp(
                name=name, founded=datetime.date(year, 1, 1), founded_precision="year",
                commitment=Decimal(amount) * MULTIPLIER["亿"], commitment_printed=f"{amount}亿元",
                commitment_term=f"{rng.choice([3, 5, 10])}年", summary="".join(summary),
                slug=self.unique_slug(f"{DEMO_PREFIX}{texts.slugpart([theme])}-zhuanxiang-jijin"),
                search_text=texts.search_text([[theme, "专项基金"], summary], [theme, "专项基金"]),
            )))
        self.write(Fund, self.funds)

        org_names = set(Organization.objects.values_list("name", flat=True))
        self.organizations = []
        n_orgs = max(5, min(200, self.n // 500))
        while len(self.organizations) < n_orgs:
            county = rng.choice(self.counties)
            org_kind, kind = rng.choice(ORG_KINDS)
            name = county.name + org_kind
            if name in org_names:
                continue
            org_names.add(name)
            stem, suffix = self.county_stems[county.name]
            summary = ["在", county.name, "开展", rng.choice(THEMES)[0], "工作。"]
            self.organizations.append(Organization(**self.stamp(
                name=name, kind=kind, summary="".join(summary),
                slug=self.unique_slug(f"{DEMO_PREFIX}{texts.slugpart([stem, suffix])}-"
                                      f"{texts.slugpart([org_kind])}"),
                search_text=texts.search_text([[stem, suffix, org_kind], summary], [stem, suffix, org_kind]),
            )))
        self.write(Organization, self.organizations)

    def programs_sources_outcomes(self):
        from programs.models import Indicator, Outcome, Program, Source

        rng, texts = self.rng, self.texts
        per_source = 50
        names = set(Program.objects.values_list("name", flat=True))
        program_id, source_id = self.next_id(Program), self.next_id(Source)
        indicator_names = set(Indicator.objects.values_list("name", flat=True))
        indicator_id = self.next_id(Indicator)
        through = {"program counties": (Program.counties.through, ("program_id", "county_id")),
                   "program organizations": (Program.organizations.through, ("program_id", "organization_id")),
                   "program sources": (Program.sources.through, ("program_id", "source_id"))}
        searched = ("slug", "search_text", "search_tokens")
        for label in ("sources", "programs", "indicators", "outcomes", *through):  # the order of the report
            self.counts.setdefault(label, 0)
        self.start_writer()  # from here on, the database is the writer thread's
        programs, plans = [], []
        program_columns = ("id", "name", "kind", "area", "fund_id", "parent_id", "start", "start_precision", "end",
                           "end_precision", "summary", "aliases", *searched)
        parent_of_county = {}
        for index in range(self.n):
            county = rng.choice(self.counties)
            stem, suffix = self.county_stems[county.name]
            theme, area = rng.choice(THEMES)
            kind_word, kind = rng.choice(PROGRAM_KINDS)
            name_fragments = [stem, suffix, theme, kind_word]
            name = "".join(name_fragments)
            k = 0
            while name in names:
                ordinal = ORDINALS[k] if k < len(ORDINALS) else str(k + 2)
                name_fragments = [stem, suffix, theme, kind_word, "（", ordinal, "期）"]
                name = "".join(name_fragments)
                k += 1
            names.add(name)
            start_year = rng.randint(2016, 2022)
            precision = rng.choice(["year", "year", "month", "day"])
            start = datetime.date(start_year, rng.randint(1, 12) if precision != "year" else 1,
                                  rng.randint(1, 28) if precision == "day" else 1)
            end = datetime.date(start_year + rng.randint(1, 4), 12, 31) if rng.random() < 0.4 else None
            organization = rng.choice(self.organizations)
            fund = rng.choice(self.funds) if rng.random() < 0.8 else None
            summary = [f"{start_year}", "年起在", stem, suffix, "开展", theme, "帮扶，由", organization.name,
                       "负责实施，覆盖", f"{rng.randint(2, 30)}", "个乡镇、", f"{rng.randint(5, 300)}", "个行政村。"]
            alias_fragments = [stem, theme, kind_word] if rng.random() < 0.3 else []
            # About one program in twenty is a measure under an earlier program of the same county.
            parent = parent_of_county.get(county.id)
            if parent is None or rng.random() >= 0.05:
                parent_of_county.setdefault(county.id, program_id)
                parent = None
            slug_base = (f"{DEMO_PREFIX}{texts.slugpart([stem, suffix])}-{texts.slugpart([theme])}"
                         f"-{texts.slugpart([kind_word])}")
            search_text, tokens = texts.indexed([name_fragments, alias_fragments, summary], name_fragments)
            programs.append((
                program_id, name, kind, area, fund and fund.id, parent, start, precision, end,
                "day" if end else "", "".join(summary), "".join(alias_fragments),
                self.unique_slug(slug_base + (f"-{k + 1}" if k else "")), search_text, tokens,
            ))
            plans.append((index, program_id, county, organization, name_fragments, start_year))
            program_id += 1
            if len(programs) >= BATCH * 5 or index == self.n - 1:  # the writer starts on them at once
                self.insert(Program, program_columns, programs)
                programs = []
        self.restore(Program)

        # Articles: each reports on ~50 programs, two sentences each; the figures quote them. A program's first
        # figure is its county's: the county's figures of one metric are one indicator's series (about five
        # values each; where two articles give one year different values, it is disputed).
        indicator_of, self.source_ids, written_sources = {}, [], 0
        sources, outcomes, indicators, county_links, org_links, source_links = [], [], [], [], [], []

        def flush():
            """Hand the rows built so far to the writer thread, and start new lists."""
            nonlocal sources, outcomes, indicators, county_links, org_links, source_links, written_sources
            self.insert(Source, ("id", "title", "publisher", "published", "text", *searched), sources,
                        fixed={"published_precision": "day", "script": "simplified"})
            self.insert(Indicator, ("id", "name", "quantity", "base_unit", "units", "county_id", *searched),
                        indicators)
            self.insert(Outcome, ("indicator_id", "metric", "value", "unit", "value_printed", "qualifier",
                                  "period_end", "program_id", "county_id", "source_id", "quote", *searched),
                        outcomes, fixed={"kind": "result", "period_end_precision": "year"})
            for label, links in zip(through, (county_links, org_links, source_links), strict=True):
                self.insert(*through[label], links, label=label)
            self.source_ids += [row[0] for row in sources]
            written_sources += len(sources)
            sources, outcomes, indicators, county_links, org_links, source_links = [], [], [], [], [], []

        norm_of = {text: texts.norm([text]) for metric, _verb, unit, _range, word in METRICS
                   for text in (metric, word + unit)}
        for first in range(0, len(plans), per_source):
            group = plans[first:first + per_source]
            publisher = rng.choice(PUBLISHERS)
            year = max(plan[5] for plan in group) + rng.randint(0, 2)
            published = datetime.date(year, rng.randint(1, 12), rng.randint(1, 28))
            title_fragments = [*group[0][4][:3], "帮扶纪实"]
            sentences, norm_sentences, sentence_terms = [], [], []
            for index, pid, county, organization, name_fragments, start_year in group:
                figures = []
                for metric, verb, unit, (low, high), word in rng.sample(METRICS, 5):
                    number = rng.randint(low, high)
                    shown = f"{number / 10:.1f}" if word == "亿" else str(number)
                    figures.append((metric, verb, unit, Decimal(shown) * MULTIPLIER[word], f"{shown}{word}{unit}",
                                    rng.choice(QUALIFIERS), word))
                # The number is a fragment of its own, so the units' normal form is looked up once.
                clause = [[verb, qualifier, printed[:-len(word + unit)], word + unit]
                          for _m, verb, unit, _v, printed, qualifier, word in figures]
                first_sentence = [f"{start_year}", "年，", *name_fragments, "由", organization.name, "实施，",
                                  *clause[0], "，", *clause[1], "，", *clause[2], "。"]
                second_sentence = ["截至", f"{year}", "年，该项目", *clause[3], "，", *clause[4], "。"]
                quotes = []
                for fragments in (first_sentence, second_sentence):
                    sentence = "".join(fragments)
                    norm_sentence, terms = texts.line(fragments)
                    sentences.append(sentence)
                    norm_sentences.append(norm_sentence)
                    sentence_terms += terms
                    quotes.append((sentence, norm_sentence, dict.fromkeys(terms)))
                for j, (metric, _verb, unit, value, printed, qualifier, word) in enumerate(figures):
                    quote, norm_quote, quote_terms = quotes[0] if j < 3 else quotes[1]  # terms each once
                    indicator = None
                    if j == 0:
                        indicator = indicator_of.get((county.id, metric))
                        if indicator is None:
                            indicator = indicator_of[county.id, metric] = indicator_id
                            indicator_id += 1
                            place = list(self.county_stems[county.name])
                            words = [*place, metric]
                            # county names repeat across prefectures; an indicator's name is unique
                            if "".join(words) in indicator_names:
                                words = [*place, metric, "（", county.prefecture.name, "）"]
                            k = 2
                            while "".join(words) in indicator_names:
                                words = [*place, metric, "（", county.prefecture.name, str(k), "）"]
                                k += 1
                            indicator_names.add("".join(words))
                            search_text, tokens = texts.indexed([words], words)
                            indicators.append((
                                indicator, "".join(words), QUANTITIES[metric], unit, unit, county.id,
                                self.unique_slug(f"{DEMO_PREFIX}{texts.slugpart(place)}-{texts.slugpart([metric])}"),
                                search_text, tokens,
                            ))
                    # search_text: the metric, the printed figure and the quote, each normalised (the
                    # number is ASCII: its own normal form). No index term spans the line breaks nor
                    # the step from the number's digits to its unit: the terms are those of the pieces.
                    shown = printed[:-len(word + unit)]
                    norm_metric, norm_unit = norm_of[metric], norm_of[word + unit]
                    outcomes.append((
                        indicator, metric, value, unit, printed, qualifier,
                        datetime.date(start_year if j < 3 else year, 1, 1), pid,
                        county.id if j == 0 else None, source_id, quote, f"{DEMO_PREFIX}o{index + 1:06d}-{j + 1}",
                        f"{norm_metric}\n{shown}{norm_unit}\n{norm_quote}",
                        " ".join(_then(dict.fromkeys([*texts.terms(norm_metric), *_number_terms(shown),
                                                      *texts.terms(norm_unit)]), quote_terms)),
                    ))
                county_links.append((pid, county.id))
                for extra in rng.sample(self.counties, rng.randint(0, 2)):
                    if extra.id != county.id:
                        county_links.append((pid, extra.id))
                org_links.append((pid, organization.id))
                if rng.random() < 0.3:
                    other = rng.choice(self.organizations)
                    if other.id != organization.id:
                        org_links.append((pid, other.id))
                source_links.append((pid, source_id))
            slug = (f"{DEMO_PREFIX}{texts.slugpart([publisher])}-{published.isoformat()}"
                    f"-{written_sources + len(sources) + 1}")
            self.unique_slug(slug)
            norm_title, title_terms = texts.line(title_fragments)
            norm_publisher, title_pinyin = texts.norm1(publisher), texts.pinyin(title_fragments)
            search_text = "\n".join([norm_title, norm_publisher, *norm_sentences, title_pinyin])
            terms = [*title_terms, *texts.terms(norm_publisher), *sentence_terms,
                     *texts.terms(title_pinyin, remember=False)]
            sources.append((
                source_id, "".join(title_fragments), publisher, published, "\n".join(sentences),
                slug, search_text, " ".join(dict.fromkeys(terms)),
            ))
            source_id += 1
            if len(outcomes) >= BATCH * 5:
                flush()
        flush()
        self.restore(Source, Indicator, Outcome, *(model for model, _columns in through.values()))
        self.later(self._reset_sequences, [Program, Source, Indicator])

    def _reset_sequences(self, models):
        """PostgreSQL: the id sequences past the ids given explicitly."""
        with self.db.cursor() as cursor:
            for sql in self.db.ops.sequence_reset_sql(no_style(), models):
                cursor.execute(sql)

    def envoys(self):
        """The envoys, their postings and the sources they are linked to, built without the database
        (the main thread does not touch it while the writer thread runs): :meth:`write_envoys` writes them."""
        from envoys.models import Envoy, Posting

        rng, texts = self.rng, self.texts
        n_envoys = max(5, min(5000, self.n // 20))
        envoys, postings = [], []
        for _index in range(n_envoys):
            name_fragments = [rng.choice(SURNAMES), "".join(rng.sample(GIVEN, rng.randint(1, 2)))]
            name = "".join(name_fragments)
            nickname = rng.choice(NICKNAMES) if rng.random() < 0.3 else ""
            role = _weighted(rng, ROLES)[0]
            joined = rng.randint(2004, 2020)
            organization = rng.choice(self.organizations)
            county = rng.choice(self.counties)
            summary = [f"{joined}", "年加入公司，", rng.choice(BATCHES), "派驻", county.name, "。"]
            envoys.append(Envoy(**self.stamp(
                name=name, nickname=nickname, role=role, joined_year=joined, batch=rng.choice(BATCHES),
                organization=organization, summary="".join(summary),
                slug=self.unique_slug(f"{DEMO_PREFIX}{texts.slugpart(name_fragments)}"),
                search_text=texts.search_text([name_fragments, [nickname], summary], name_fragments),
            )))
        for envoy in envoys:
            for _k in range(rng.randint(1, 2)):
                county = rng.choice(self.counties)
                title = rng.choice(POSTING_TITLES)
                start_year = rng.randint(2015, 2022)
                end = datetime.date(start_year + rng.randint(1, 3), 6, 30) if rng.random() < 0.5 else None
                stem, suffix = self.county_stems[county.name]
                note = [start_year and f"{start_year}", "年赴", county.name, "任", title, "。"]
                postings.append(Posting(**self.stamp(
                    envoy=envoy, county=county, title=title, start=datetime.date(start_year, 1, 1),
                    start_precision="year", end=end, end_precision="day" if end else "", note="".join(note),
                    slug=self.unique_slug(f"{envoy.slug}-{texts.slugpart([stem, suffix])}"),
                    search_text=texts.search_text([[title], note], [title]),
                )))
        sources = [rng.choice(self.source_ids) for _envoy in envoys]
        for obj in (*envoys, *postings):  # the index terms, as write() would fill them
            obj.search_tokens = search_tokens(obj.search_text)
        return envoys, postings, sources

    def write_envoys(self, envoys, postings, sources):
        from envoys.models import Envoy, Posting

        self.write(Envoy, envoys, indexed=True)
        self.write(Posting, postings, indexed=True)  # each posting's envoy has its primary key now
        links = [(envoy.pk, source) for envoy, source in zip(envoys, sources, strict=True)]
        self.insert(Envoy.sources.through, ("envoy_id", "source_id"), links, label="envoy sources")
        self.restore(Envoy.sources.through)


def _batch_size(model) -> int:
    """Rows per INSERT: as many as the database's parameter limit allows (SQLite: 999 or 32766)."""
    limit = connection.features.max_query_params or 65535
    columns = len(model._meta.concrete_fields)
    return max(1, min(1000, limit // columns))


def expected_total(programs: int) -> int:
    """A rough count of the rows ``generate_demo`` writes, for the progress bar."""
    counties = max(12, min(2500, programs // 40))
    return programs * 11 + max(5, min(5000, programs // 20)) * 3 + counties * 3 + min(programs, counties * 8)
