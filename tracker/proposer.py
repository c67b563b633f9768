"""The article intake's proposer: from a cleaned article, the figures staff may want to record.

``propose(text, published=..., known=...)`` reads the article sentence by sentence and returns one
:class:`Candidate` per figure: its sentence (the quote, verbatim), the figure as printed and its
exact value (by ``programs.printed``, the parser the seeds and the admin use), unit and qualifier,
the metric words around it and a suggested indicator, the period the text gives it, what it belongs
to (programs, funds, organizations, people and counties found by name or alias in either script,
and any county-level division of China, from ``counties.divisions``), a confidence and the words
that made it. Nothing here touches the database: what is already known comes in as plain lists.

How the text is read:

- Sentences end at 。！？；!?; (with any closing quotes after them), at a line break, and at a
  space between two Chinese characters (pages that lost their line breaks keep a space there).
- A number is a figure unless it is part of a date or period (``2018年6月``, ``未来5年``), an
  ordinal (``第5个``), an age or a clock time (``3岁``, ``5分钟``), the indefinite 一 (``一个``; but
  ``一年`` counts), or a bare number without a unit or a multiplier (``95后``, ``10:12``). Durations
  are figures (``工作时限是一年``, ``37天``).
- The period of a figure is the nearest date expression before it in its sentence: a date
  (``2019年6月``, ``2018年上半年``, ``3月25日`` in the year of the paragraph or the article), a
  relative year (``去年``, ``今年``) or span (``过去三年``, ``未来5年``, ``5年内``, counted from the
  date before it or from the article's date), ``截至…``/``到…`` (an as-of date: the end only),
  ``自…起`` (the start only), ``X到Y`` (both), ``目前``/``至今`` (as of the article's date). Each bound
  keeps its precision (``2019``, ``2019-06``, ``2019-06-30``); where the sentence says nothing the
  period is empty, and so is anything relative when the article's date is unknown.
- What a figure belongs to is the nearest name before it in its sentence, else after it; a county
  named in the two sentences before (same paragraph) is used too, and the reason says so.
- A quoted name that reads as a program's (``“春蕾计划”``, ``「希望工程」``: ending 计划, 项目, 工程, 行动,
  基金 …) and is no known program or fund's name is offered as a new program (``new_program``) for a
  figure of its sentence that has no known program.
- A figure printed without a unit gets one from the words around it where they say it:
  ``人次达238.8万`` (人次), ``销售收入突破了300万`` (元), ``43.96万建档立卡贫困人口`` (人).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from counties.divisions import Division, find_counties, lookup_county, simplified
from programs.printed import Reading, find_figures

__all__ = ["Candidate", "Known", "Sentence", "lookup_county", "new_program_names", "propose", "split_sentences"]

Names = Sequence[tuple[str, Sequence[str]]]


@dataclass(frozen=True)
class Known:
    """What the database already holds, as ``(slug, names)`` pairs (name and aliases, either script).

    ``indicators`` may carry a third item, the indicator's base unit (``("nongchanpin-xiaoshoue",
    ["农产品销售额"], "元")``); a figure in another unit is then a weaker match.
    """

    programs: Names = ()
    funds: Names = ()
    organizations: Names = ()
    people: Names = ()
    counties: Names = ()
    indicators: Sequence[tuple] = ()


@dataclass(frozen=True, kw_only=True)
class Candidate:
    """One figure proposed for review. ``quote`` is its sentence, exactly as in the text."""

    quote: str
    printed: str
    value: Decimal | None
    unit: str
    qualifier: str = ""
    period_start: str = ""
    period_end: str = ""
    precision: str = ""  # "year", "month" or "day": the coarser of the two bounds
    program: str = ""
    fund: str = ""
    county: str = ""  # a known County's slug
    indicator: str = ""
    confidence: float = 0.0
    reasons: tuple[tuple[str, str], ...] = ()  # (what, the words): ("unit", "元"), ("program", "热土计划")
    metric: str = ""  # the words around the figure that say what it counts
    organization: str = ""
    person: str = ""
    division: Division | None = None  # the county-level division named; a new County when county is ""
    new_program: str = ""  # a quoted program-like name (“…计划”) that is no record: a new Program when program is ""
    low: Decimal | None = None  # a range's bounds (3-5万)
    high: Decimal | None = None
    start: int = 0  # where ``printed`` is in the text
    end: int = 0
    quote_start: int = 0  # where ``quote`` is in the text


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    text: str
    paragraph: int


# ---------------------------------------------------------------------------
# Sentences

_TERMINATORS = "。！？；!?;"
_CLOSERS = "”’」』\"'）)】》"
_CJK = "\u3400-\u9fff\uf900-\ufaff"
_BOUNDARY = re.compile(
    rf"[{_TERMINATORS}]+[{re.escape(_CLOSERS)}]*"  # 。 or 。” …
    rf"|\n+"
    rf"|(?<=[{_CJK}。”」』）》])[ \u00a0\u3000\t]+(?=[{_CJK}“「『（《])"  # 目標 據了解
)


def split_sentences(text: str) -> list[Sentence]:
    """The sentences of ``text`` with their offsets, trimmed of surrounding space."""
    sentences = []
    paragraph, position = 0, 0
    for boundary in [*_BOUNDARY.finditer(text), None]:
        end = boundary.end() if boundary else len(text)
        if boundary and boundary.group().strip(" \u00a0\u3000\t") == "":
            end = boundary.start()  # a space or line break is not part of the sentence
        piece = text[position:end]
        stripped = piece.strip()
        if stripped:
            start = position + (len(piece) - len(piece.lstrip()))
            sentences.append(Sentence(start, start + len(stripped), stripped, paragraph))
        if boundary is None:
            break
        if "\n" in boundary.group():
            paragraph += 1
        position = boundary.end()
    return sentences


# ---------------------------------------------------------------------------
# Dates

_N = r"[0-9０-９]{1,2}|[一二三四五六七八九十两]{1,3}"
_YEAR = r"(?:19|20)[0-9]{2}|二[〇零○][一二三四五六七八九〇零○]{2}"
_PART = r"(?P<half>上半年|下半年)|(?P<ypart>年初|年中|年底|年末|初|中|底|末)"
_MONTH_DAY = rf"(?:(?P<month>{_N})[ ]?月(?:份)?(?:初|上旬|中旬|下旬|中|底|末)?(?:(?P<day>{_N})[ ]?[日号])?)"
_DATES = [
    ("point", re.compile(rf"(?P<year>{_YEAR})[ ]?年(?:{_PART}|{_MONTH_DAY})?")),
    ("relative", re.compile(rf"(?P<rel>去年|今年|明年|前年|本年)(?:{_PART}|{_MONTH_DAY})?")),
    ("monthday", re.compile(rf"(?<![0-9０-９个個第])(?P<month>{_N})[ ]?月(?:份)?(?:初|上旬|中旬|下旬|中|底|末)?"
                            rf"(?:(?P<day>{_N})[ ]?[日号])?")),
    ("past", re.compile(rf"(?:过去|近|最近|这)(?:的)?(?P<n>{_N})[ ]?年|(?P<n2>{_N})[ ]?年(?:来|以来)")),
    ("future", re.compile(rf"未来(?P<n>{_N})[ ]?年|(?P<n2>{_N})[ ]?年内")),
    ("now", re.compile(r"截至目前|截止目前|到目前为止|目前|至今|迄今|如今|现在|当前")),
    ("iso", re.compile(r"(?P<year>(?:19|20)[0-9]{2})-(?P<month>[01]?[0-9])-(?P<day>[0-3]?[0-9])(?:[ T][0-9:]+)?")),
]
_AS_OF_BEFORE = re.compile(r"(?:截至|截止|截止到|截至到|预计到|到|至)$")
_START_BEFORE = re.compile(r"(?:自|从|自从)$")
_START_AFTER = re.compile(r"^(?:起|以来|开始)")
_RANGE_BETWEEN = re.compile(r"^[ ]?(?:到|至|-|—|~|～)[ ]?$")
_CN_SMALL = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "〇": 0,
             "零": 0, "○": 0}


def _int(text: str | None) -> int | None:
    """``6``, ``六``, ``十二``, ``二〇一八`` as an int."""
    if not text:
        return None
    if text.isdigit():
        return int(text)
    if "十" in text:
        tens, _, ones = text.partition("十")
        return _CN_SMALL.get(tens, 1) * 10 + _CN_SMALL.get(ones, 0)
    digits = [_CN_SMALL.get(c) for c in text]
    return None if None in digits else int("".join(map(str, digits)))


@dataclass(frozen=True)
class _Day:
    """A date to the precision the text gives it: year, month or day."""

    year: int
    month: int | None = None
    day: int | None = None

    def __str__(self) -> str:
        if self.day:
            return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"
        return f"{self.year:04d}-{self.month:02d}" if self.month else f"{self.year:04d}"


def parse_published(published) -> _Day | None:
    """The article's date: a ``date``, ``"2018-03-27"``, ``"2018-03"``, ``"2018"`` or nothing."""
    if published in (None, ""):
        return None
    if isinstance(published, datetime.date):
        return _Day(published.year, published.month, published.day)
    match = re.fullmatch(r"\s*(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?\s*", str(published))
    if not match:
        raise ValueError(f"published is not YYYY, YYYY-MM or YYYY-MM-DD: {published!r}")
    year, month, day = (int(g) if g else None for g in match.groups())
    return _Day(year, month, day)


@dataclass(frozen=True)
class _Period:
    start: int  # where its words are in the sentence
    end: int
    words: str
    first: _Day | None  # the period's bounds; None where the text does not settle one
    last: _Day | None
    kind: str = "point"
    span: int = 0  # a "future" span's length in years, counted from the date before it


def _bounds(match: re.Match, year: int) -> tuple[_Day, _Day]:
    groups = match.groupdict()
    month, day = _int(groups.get("month")), _int(groups.get("day"))
    if month and not 1 <= month <= 12:
        month, day = None, None
    if day and not 1 <= day <= 31:
        day = None
    if groups.get("half"):
        if groups["half"] == "上半年":
            return _Day(year, 1), _Day(year, 6)
        return _Day(year, 7), _Day(year, 12)
    if groups.get("ypart") in ("年底", "年末", "底", "末"):
        return _Day(year, 12), _Day(year, 12)
    point = _Day(year, month, day if month else None)
    return point, point


def _periods(sentence: str, plain: str, *, published: _Day | None, year: int | None) -> list[_Period]:
    """The date expressions of one sentence (``plain`` is it in simplified script), in order.

    ``year`` is the last year the paragraph named, for a month without one (``9月``).
    """
    matches: list[tuple[int, str, re.Match]] = []
    taken: set[int] = set()
    for kind, pattern in _DATES:
        for match in pattern.finditer(plain):
            span = range(match.start(), match.end())
            if not taken.intersection(span):
                taken.update(span)
                matches.append((match.start(), kind, match))
    found: list[_Period] = []
    for _, kind, match in sorted(matches, key=lambda m: m[0]):
        groups = match.groupdict()
        first = last = None
        length = 0
        if kind in ("point", "iso"):
            first, last = _bounds(match, _int(groups["year"]))
        elif kind == "relative" and published:
            offset = {"去年": -1, "前年": -2, "明年": 1}.get(groups["rel"], 0)
            first, last = _bounds(match, published.year + offset)
        elif kind == "monthday" and (year or published) and 1 <= (_int(groups["month"]) or 0) <= 12:
            first, last = _bounds(match, year or published.year)
        elif kind == "past" and published:
            n = _int(groups["n"] or groups["n2"]) or 0
            first, last = _Day(published.year - n), _Day(published.year)
        elif kind == "future":
            length = _int(groups["n"] or groups["n2"]) or 0
            if published:
                first, last = _Day(published.year), _Day(published.year + length)
        elif kind == "now" and published:
            last = published
        if kind in ("point", "iso", "relative") and first:
            year = first.year
        found.append(_Period(match.start(), match.end(), sentence[match.start():match.end()], first, last, kind,
                             length))
    # Words around a date say which bound it is: 截至 2019年6月 (as of), 自 2019年 起 (from),
    # 2017年4月 到 2018年3月 (both).
    joined: list[_Period] = []
    for period in found:
        before = plain[:period.start]
        as_of = _AS_OF_BEFORE.search(before)
        dated = period.kind in ("point", "relative", "monthday", "iso")
        if joined and joined[-1].kind in ("point", "relative", "monthday") and dated and _RANGE_BETWEEN.match(
            plain[joined[-1].end:period.start]
        ):
            previous = joined.pop()
            period = _Period(previous.start, period.end, sentence[previous.start:period.end],
                             previous.first, period.last, "range")
        elif dated and as_of:
            period = _Period(as_of.start(), period.end, sentence[as_of.start():period.end], None, period.last, "asof")
        elif dated and (_START_BEFORE.search(before) or _START_AFTER.match(plain[period.end:])):
            period = _Period(period.start, period.end, period.words, period.first, None, "from")
        joined.append(period)
    # 2017年12月1日 … 未来5年: five years from that date.
    for index, period in enumerate(joined):
        if period.kind == "future" and index and joined[index - 1].first:
            anchor = joined[index - 1].first
            joined[index] = _Period(period.start, period.end, period.words, anchor,
                                    _Day(anchor.year + period.span), "future", period.span)
    return joined


def _precision(*days: _Day | None) -> str:
    levels = ["day" if d.day else "month" if d.month else "year" for d in days if d]
    for level in ("year", "month", "day"):
        if level in levels:
            return level
    return ""


# ---------------------------------------------------------------------------
# Names


@dataclass(frozen=True)
class _Mention:
    start: int  # in the whole text
    end: int
    kind: str  # program, fund, organization, person, county
    slug: str
    words: str
    division: Division | None = None


def _name_pattern(known: Known) -> tuple[re.Pattern | None, dict[str, tuple[str, str]]]:
    """One pattern for every known name (longest first, so 阿里巴巴脱贫基金 wins over 阿里巴巴)."""
    owners: dict[str, tuple[str, str]] = {}
    for kind, rows in (("fund", known.funds), ("program", known.programs), ("organization", known.organizations),
                       ("person", known.people)):
        for slug, names in rows:
            for name in names:
                name = simplified(str(name or "").strip())
                if len(name) >= 2:
                    owners.setdefault(name, (kind, slug))
    if not owners:
        return None, owners
    return re.compile("|".join(map(re.escape, sorted(owners, key=len, reverse=True)))), owners


def _county_names(known: Known) -> dict[str, str]:
    """Known counties' names, aliases and short names (普安县, 普安縣, 普安) → slug."""
    names = {}
    for slug, aliases in known.counties:
        for name in aliases:
            name = simplified(str(name or "").strip())
            if len(name) >= 2:
                names.setdefault(name, slug)
                division = lookup_county(name)
                if division:
                    names.setdefault(division.name, slug)
    return names


def _mentions(text: str, plain: str, known: Known) -> list[_Mention]:
    pattern, owners = _name_pattern(known)
    found = []
    if pattern:
        for match in pattern.finditer(plain):
            kind, slug = owners[match.group()]
            found.append(_Mention(match.start(), match.end(), kind, slug, text[match.start():match.end()]))
    county_slugs = _county_names(known)
    taken: set[int] = set()
    for mention in find_counties(text):
        slug = county_slugs.get(mention.division.name, "")
        found.append(_Mention(mention.start, mention.end, "county", slug, mention.words, mention.division))
        taken.update(range(mention.start, mention.end))
    if county_slugs:
        names = re.compile("|".join(map(re.escape, sorted(county_slugs, key=len, reverse=True))))
        for match in names.finditer(plain):
            if not taken.intersection(range(match.start(), match.end())):
                slug = county_slugs[match.group()]
                found.append(_Mention(match.start(), match.end(), "county", slug,
                                      text[match.start():match.end()], lookup_county(match.group())))
    for start, end, name in new_program_names(text, known, plain=plain):
        found.append(_Mention(start, end, "new program", "", name))
    return sorted(found, key=lambda m: m.start)


# A program-like name in quotes: “春蕾计划”, 「希望工程」, 『乡村振兴行动』 (matched on the simplified text).
PROGRAM_SUFFIXES = ("计划", "项目", "工程", "行动", "基金", "工作室", "专项", "倡议")
_QUOTED_PROGRAM = re.compile(
    r"[“「『\"]([^“”「」『』\"\n，。！？；,]{1,28}?(?:" + "|".join(PROGRAM_SUFFIXES) + r"))[”」』\"]"
)


def new_program_names(text: str, known: Known | None = None, *, plain: str | None = None) -> list[tuple[int, int, str]]:
    """The quoted program-like names of ``text`` that are not a known program's or fund's name or alias
    (either script): ``(start, end, name as printed)``, the quotes left out."""
    known = known or Known()
    plain = simplified(text) if plain is None else plain
    names = {simplified(str(n or "").strip()) for _slug, ns in (*known.programs, *known.funds) for n in ns}
    found = []
    for match in _QUOTED_PROGRAM.finditer(plain):
        name = match.group(1).strip()
        if len(name) - max(len(s) for s in PROGRAM_SUFFIXES if name.endswith(s)) < 1 or name in names:
            continue
        found.append((match.start(1), match.end(1), text[match.start(1):match.end(1)].strip()))
    return found


def _nearest(mentions: list[_Mention], kind: str, sentence: Sentence, at: int,
             context_start: int) -> tuple[_Mention | None, bool]:
    """The mention of ``kind`` nearest before ``at`` in the sentence, else after it; for a county,
    else the last one in the two sentences before, in the same paragraph (then the second item is True)."""
    inside = [m for m in mentions if m.kind == kind and sentence.start <= m.start and m.end <= sentence.end]
    before = [m for m in inside if m.end <= at]
    if before:
        return before[-1], False
    after = [m for m in inside if m.start >= at]
    if after:
        return after[0], False
    if kind == "county":
        earlier = [m for m in mentions if m.kind == kind and context_start <= m.start < sentence.start]
        if earlier:
            return earlier[-1], True
    return None, False


# ---------------------------------------------------------------------------
# Figures

# Units that make a number a date, an age or a clock time rather than a figure. Durations are figures
# (工作时限是一年, 37天); a calendar year (2019年) is a date.
_NOT_FIGURES = {"月", "日", "号", "號", "周", "週", "小时", "小時", "个小时", "個小時", "个星期", "個星期", "分钟",
                "分鐘", "岁", "歲"}
# 一 is a count only of time (一年, 一天); 一个, 一次, 一种 are the indefinite article.
_ONE_COUNTS = {"年", "周年", "个月", "個月", "天"}
_CLAUSE = re.compile(r"[,，、:：;；()（）“”「」『』]")
_FILLER = re.compile(
    r"(?:累计|累計|共计|合计|总计|一共|共|达到了|达到|达|达了|为|是|有|已|已经|将|还|还有|就|了|约|近|超过|超|逾|突破|"
    r"多达|高达|更|只有|仅|平均|到|为了|的|在|从|其中|此外|同时|和|与|及|以及|并|又|也|都)+$"
)


def _keep(reading: Reading, text: str, dates: list[tuple[int, int]]) -> bool:
    """Whether a number in the text is a figure (see the module docstring)."""
    if any(reading.start < end and start < reading.end for start, end in dates):
        return False
    before = text[max(0, reading.start - 1):reading.start]
    if before == "第" or reading.unit in _NOT_FIGURES:
        return False
    if reading.unit in ("年", "周年") and (reading.value is None or reading.value >= 1000):
        return False  # 2019年 outside a date we read (2019年度)
    after = text[reading.end:reading.end + 1]
    if after in ("级", "級"):
        return False  # 十亿级: a rank, not an amount
    if reading.chinese and reading.value == 1 and not re.search("[十百千万萬亿億]", reading.printed):
        return reading.unit in _ONE_COUNTS
    return bool(reading.unit or re.search("[千万萬亿億]", reading.printed))  # 95后, 10:12, 十分


# Classifiers come before what they count (21个贫困县, 50名县长): the metric is the noun after them.
_CLASSIFIERS = set("个個名位家所批项項门門场場件只隻头頭棵株条條座台臺辆輛套期届屆户戶款种種类類部集例处處份篇"
                   "张張笔筆间間栋棟箱袋")


def _metric(sentence: str, at: int, end: int, unit: str, dates: list[tuple[int, int]]) -> str:
    """The words of the figure's clause that say what it counts: 农产品销售额, 国家级贫困县."""
    left_start = max((m.end() for m in _CLAUSE.finditer(sentence, 0, at)), default=0)
    left = "".join(c for i, c in enumerate(sentence[left_start:at], start=left_start)
                   if not any(start <= i < stop for start, stop in dates))
    left = _FILLER.sub("", simplified(re.split(r"[0-9０-９]", left)[-1]).strip())[-14:]
    right_end = next((m.start() for m in _CLAUSE.finditer(sentence, end)), len(sentence))
    right = simplified(re.split(r"的|[0-9０-９。！？!?…]", sentence[end:right_end])[0][:8]).strip()
    if unit in _CLASSIFIERS and len(right) >= 2:
        return right
    return left if len(left) >= 2 else right


_COUNTED = re.compile(r"用户|人次|户|人口|民众|医生|从业者|学生|农民|教师|员工|学员")
_MONEY = re.compile(r"销售额|交易额|金额|收入|资金|捐款|善款|贷款|价值|产值|基金|投入|募集|捐赠")


def _unit_from_words(left: str, right: str) -> tuple[str, str]:
    """For a figure printed without a unit, ``(unit, the words that say it)`` from its clause:
    ``参与用户超过2亿`` (用户), ``人次达238.8万`` (人次), ``10万基层医生`` (人), ``突破了300万`` after
    ``销售收入`` (元); ``("", "")`` when they do not say."""
    right = re.match(r"[^的]{0,10}", right).group()
    tail = left[-8:]
    for words in ("用户", "人次"):
        if words in tail:
            return words, words
    counted = _COUNTED.search(right)
    if counted:
        return {"用户": "用户", "户": "户", "人次": "人次"}.get(counted.group(), "人"), counted.group()
    money = _MONEY.search(left[-12:]) or _MONEY.search(right[:4])
    if money:
        return "元", money.group()
    return "", ""


def _bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)} or {text}


def _indicator(known: Known, clause: str, unit: str) -> tuple[str, str, float]:
    """The best indicator for a figure: (slug, the words that matched, score), or ("", "", 0)."""
    best = ("", "", 0.0)
    for row in known.indicators:
        slug, names = row[0], row[1]
        base_unit = simplified(row[2]) if len(row) > 2 and row[2] else ""
        for name in names:
            name = simplified(str(name or ""))
            if len(name) < 2:
                continue
            shared = _bigrams(name) & _bigrams(clause)
            score = 1.0 if name in clause else len(shared) / len(_bigrams(name))
            if base_unit and unit and base_unit != simplified(unit):
                score *= 0.5
            if score > best[2]:
                best = (slug, name, score)
    return best if best[2] >= 0.5 else ("", "", 0.0)


def propose(text: str, *, published=None, known: Known | None = None) -> list[Candidate]:
    """The candidate figures of a cleaned article, in the order they appear.

    ``published`` is the article's date (``date`` or ``"YYYY[-MM[-DD]]"``), against which 去年,
    今年, 目前 and 过去三年 are resolved; ``known`` holds the records names are matched against.
    """
    known = known or Known()
    day = parse_published(published)
    plain = simplified(text)
    mentions = _mentions(text, plain, known)
    candidates = []
    year_of_paragraph: dict[int, int] = {}
    sentences = split_sentences(text)
    for index, sentence in enumerate(sentences):
        context = [s for s in sentences[max(0, index - 2):index] if s.paragraph == sentence.paragraph]
        context_start = context[0].start if context else sentence.start
        s_plain = plain[sentence.start:sentence.end]
        periods = _periods(sentence.text, s_plain, published=day, year=year_of_paragraph.get(sentence.paragraph))
        for period in periods:
            if period.kind in ("point", "range", "asof", "from") and (period.last or period.first):
                year_of_paragraph[sentence.paragraph] = (period.last or period.first).year
        dates = [(p.start, p.end) for p in periods]
        for reading in find_figures(sentence.text):
            if not _keep(reading, sentence.text, dates):
                continue
            candidates.append(_candidate(reading, sentence, s_plain, periods, mentions, known, context_start))
    return candidates


def _candidate(reading: Reading, sentence: Sentence, s_plain: str, periods: list[_Period],
               mentions: list[_Mention], known: Known, context_start: int) -> Candidate:
    reasons: list[tuple[str, str]] = [("number", reading.printed)]
    confidence = 0.4
    clause_start = max((m.end() for m in _CLAUSE.finditer(s_plain, 0, reading.start)), default=0)
    clause_end = next((m.start() for m in _CLAUSE.finditer(s_plain, reading.end)), len(s_plain))
    unit = reading.unit
    if unit:
        reasons.append(("unit", unit))
        confidence += 0.2
    else:
        unit, words = _unit_from_words(s_plain[clause_start:reading.start], s_plain[reading.end:clause_end])
        if unit:
            reasons.append(("unit from words", words))
            confidence += 0.1
    if reading.qualifier:
        reasons.append(("qualifier", reading.qualifier))
    if reading.value is None:
        reasons.append(("no exact value", reading.printed))
        confidence -= 0.2
    else:
        confidence += 0.1
    if reading.chinese and reading.value is not None and reading.value < 100:
        confidence -= 0.1  # 两个, 三人: often words, sometimes figures

    metric = _metric(sentence.text, reading.start, reading.end, reading.unit, [(p.start, p.end) for p in periods])
    if metric:
        reasons.append(("metric", metric))
        confidence += 0.1

    before = [p for p in periods if p.end <= reading.start and (p.first or p.last)]
    period = before[-1] if before else None
    first = last = None
    if period:
        first, last = period.first, period.last
        reasons.append(("period", period.words))
        confidence += 0.1

    at = sentence.start + reading.start
    links: dict[str, str] = {}
    division = None
    in_sentence = False
    for kind in ("program", "fund", "organization", "person", "county"):
        mention, from_paragraph = _nearest(mentions, kind, sentence, at, context_start)
        if mention:
            links[kind] = mention.slug
            reasons.append((f"{kind} (paragraph)" if from_paragraph else kind, mention.words))
            in_sentence = in_sentence or (kind in ("program", "fund", "county") and not from_paragraph)
            if kind == "county":
                division = mention.division
    if in_sentence:
        confidence += 0.1
    new_program = ""
    if "program" not in links:
        mention, _paragraph = _nearest(mentions, "new program", sentence, at, context_start)
        if mention:
            new_program = mention.words
            reasons.append(("new program", mention.words))

    indicator, words, score = _indicator(known, s_plain[clause_start:clause_end], unit)
    if indicator:
        reasons.append(("indicator", words))
        confidence += 0.1 * score

    return Candidate(
        quote=sentence.text,
        printed=reading.printed,
        value=reading.value,
        unit=unit,
        qualifier=reading.qualifier,
        period_start=str(first) if first else "",
        period_end=str(last) if last else "",
        precision=_precision(first, last),
        program=links.get("program", ""),
        fund=links.get("fund", ""),
        county=links.get("county", ""),
        indicator=indicator,
        confidence=round(max(0.0, min(1.0, confidence)), 2),
        reasons=tuple(reasons),
        metric=metric,
        organization=links.get("organization", ""),
        person=links.get("person", ""),
        division=division,
        new_program=new_program,
        low=reading.low,
        high=reading.high,
        start=sentence.start + reading.start,
        end=sentence.start + reading.end,
        quote_start=sentence.start,
    )
