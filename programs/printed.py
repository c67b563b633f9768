"""Reading a figure as the press printed it: ``3037亿元`` is 303,700,000,000 yuan.

The one home of the grammar of printed numbers. ``load_seeds --check`` and the admin import verify
that an outcome's exact value agrees with its printed form (``value_agrees``); the article intake's
proposer finds every figure in running text (``find_figures``) and reads it the same way.

What is read, in either script:

- Arabic numerals (``3037``, ``1,007``, ``18.7``, full-width digits) and Chinese numerals (``三``,
  ``两``/``兩``, ``十一``, ``二万四千``, ``十八点七``, the financial forms ``壹贰叁``), with the
  multipliers 十 百 千 万/萬 亿/億 in any combination (``2.2万``, ``1千亿``, ``1.2万亿``, ``兩億``);
- approximations inside the number, ``60余萬``, ``6萬余``, ``2.2亿多``: a qualifier, not part of the
  unit; qualifiers before the number (``超过``, ``近``, ``约``, ``逾``, ``累计``, ``达到`` …) and after
  it (``以上``, ``左右`` …);
- percentages: ``18.7%``, ``百分之十八点七`` (unit ``%``);
- ranges: ``3-5万``, ``3万至5万``, ``三到五``, ``三四万`` (30,000 to 40,000).

Where the text gives no exact value the value is empty, never guessed:

- an order of magnitude: ``上千`` ("in the thousands"), ``数万``/``數萬``, ``几十``, ``十几``, ``成千上万``;
- a range: its bounds are kept (``low``, ``high``), the value is empty.

An approximate bound is not an order of magnitude: ``近百万`` is "near 1,000,000" and reads as
1,000,000 with the qualifier ``近`` (``bound == "less"``: the true figure is at or below it), just as
the seeds record ``近5万场`` as 50,000 with ``近`` and ``超过90%`` as 90 with ``超过``. The value is the
number printed; the qualifier says which side of it the truth lies.
"""

import functools
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from core.records import plain_decimal

DIGITS = {
    "零": 0, "〇": 0, "一": 1, "壹": 1, "二": 2, "贰": 2, "貳": 2, "两": 2, "兩": 2, "三": 3, "叁": 3,
    "參": 3, "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "陸": 6, "七": 7, "柒": 7,
    "八": 8, "捌": 8, "九": 9, "玖": 9,
}
SMALL_MULTIPLIERS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
BIG_MULTIPLIERS = {"万": 10_000, "萬": 10_000, "亿": 100_000_000, "億": 100_000_000}
MULTIPLIERS = {**SMALL_MULTIPLIERS, **BIG_MULTIPLIERS}

# Qualifiers as the press prints them, and which side of the printed number the truth lies on.
MORE = ("超过", "超過", "超出", "更超", "超", "逾", "突破", "不少于", "不少於", "至少", "余", "餘", "多",
        "以上", "之多", "有余", "有餘", "出头", "出頭")
LESS = ("将近", "將近", "接近", "近", "不到", "不足", "最多", "以下")
ABOUT = ("大约", "大約", "约合", "約合", "约", "約", "左右", "上下")
TOTAL = ("累计", "累計", "共计", "共計", "合计", "合計", "总计", "總計", "总共", "總共", "一共", "共",
         "多达", "多達", "高达", "高達", "达到", "達到", "达", "達", "平均", "仅", "僅", "只有")
QUALIFIERS_AFTER = ("以上", "以下", "左右", "上下", "之多", "有余", "有餘", "出头", "出頭", "多", "余", "餘")
QUALIFIERS_BEFORE = tuple(q for q in MORE + LESS + ABOUT + TOTAL if q not in QUALIFIERS_AFTER)

# What may follow a number in running text as its unit (classifiers and measure words, both
# scripts). Longest first, so ``人次`` wins over ``人`` and ``个月`` (a duration) over ``个``.
UNITS = (
    "人次", "户次", "戶次", "元", "美元", "美金", "港元", "欧元", "歐元", "块", "塊", "人", "名", "位", "个", "個",
    "户", "戶", "家", "所", "场", "場", "次", "亩", "畝", "公顷", "公頃", "平方公里", "平方米", "公里", "千米",
    "吨", "噸", "公斤", "千克", "斤", "棵", "株", "只", "隻", "头", "頭", "件", "单", "單", "门", "門", "项",
    "項", "期", "批", "届", "屆", "天", "年", "周年", "个月", "個月", "月", "日", "号", "號", "周", "週", "小时",
    "小時", "个小时", "個小時", "个星期", "個星期", "分钟", "分鐘", "岁", "歲", "倍", "县", "縣", "村", "省",
    "座", "条", "條", "张", "張", "份", "篇", "台", "臺", "辆", "輛", "套", "笔", "筆", "间", "間", "栋", "棟",
    "箱", "袋", "款", "种", "種", "类", "類", "部", "集", "例", "处", "處", "轮", "輪", "堂", "节", "節",
    "用户", "用戶", "商家", "消费者", "消費者", "%", "％", "‰", "个百分点", "個百分點", "百分点", "百分點",
)


def _alternatives(words) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


_DIGIT = "".join(DIGITS)
_MULT = "".join(MULTIPLIERS)
_BIG = "".join(BIG_MULTIPLIERS)
_SP = "[ \u00a0\u3000]?"  # one space, never a line break: ``1.6 亿元``
_AR = r"[0-9０-９]+(?:,[0-9]{3}(?![0-9]))*(?:[.．][0-9０-９]+)?"
_ARABIC_NUMBER = rf"{_AR}(?:{_SP}[余餘多]?[{_MULT}]+(?:{_AR}[{_MULT}]+)*)?"
_CHINESE_NUMBER = (
    r"(?:成千上万|成千上萬|"
    rf"(?:[几幾数數](?=[{_MULT}])|上(?=[百千万萬亿億佰仟]))?"
    rf"[{_DIGIT}{_MULT}]+(?:[几幾][{_DIGIT}{_MULT}]*)?(?:[点點][{_DIGIT}]+[{_MULT}]*)?(?:[余餘多][{_BIG}]+)?)"
)
_NUMBER = rf"(?:{_ARABIC_NUMBER}|{_CHINESE_NUMBER})"
_RANGE_SEPARATOR = rf"{_SP}[-~～—–至到]{_SP}"
_RANGE = re.compile(rf"({_NUMBER}){_RANGE_SEPARATOR}({_NUMBER})")
_BEFORE = rf"(?P<before>(?:(?:{_alternatives(QUALIFIERS_BEFORE)})了?)*)"
_CORE = (
    rf"(?P<percent>百分之|千分之)?(?P<number>{_NUMBER}(?:{_RANGE_SEPARATOR}{_NUMBER})?)"
    r"(?P<approx>[余餘多])?"
)
_AFTER = rf"(?P<after>{_alternatives(QUALIFIERS_AFTER)})?"

# A figure in running text: the unit must be one of UNITS.
FIGURE = re.compile(rf"{_BEFORE}(?P<printed>{_CORE}(?:{_SP}(?P<unit>{_alternatives(UNITS)}))?){_AFTER}")
# A printed form on its own (``value_printed``): whatever follows the number is its unit.
PRINTED = re.compile(rf"\s*{_BEFORE}(?P<printed>{_CORE}\s*(?P<unit>.*?))\s*{_AFTER}\s*")
_QUALIFIER_WORD = re.compile(_alternatives(QUALIFIERS_BEFORE + QUALIFIERS_AFTER))
# Compiled once (a pattern given as text is looked up in re's cache on every call).
_POINT = re.compile("[点點]")
_SPACE = re.compile(r"\s")
_APPROX = re.compile("[余餘多]")
_TRAILING_MULTIPLIERS = re.compile(f"[{_MULT}]+$")
_ARABIC_START = re.compile(r"[0-9０-９]")
_TOKEN = re.compile(rf"({_AR})|([{_MULT}])")
_LATIN = re.compile("[A-Za-z]")


@dataclass(frozen=True)
class Reading:
    """One printed figure, read.

    ``printed`` is the figure as printed: the number with its multipliers, an approximating 余/多
    inside it, and its unit (``2.2亿多棵``); qualifiers before and after it are in ``qualifier``.
    ``value`` is exact, in base units, or None where the text gives no exact value (``上千``,
    ``數萬``, a range, whose bounds are ``low`` and ``high``). ``start``/``end`` locate ``printed``
    in the text it was found in.
    """

    printed: str
    value: Decimal | None
    unit: str
    qualifier: str = ""
    low: Decimal | None = None
    high: Decimal | None = None
    start: int = 0
    end: int = 0
    chinese: bool = False  # written in Chinese numerals (三人, 兩億) rather than digits

    @property
    def bound(self) -> str:
        """Where the truth lies against the printed number: ``more``, ``less``, ``about`` or ``""``."""
        words = self.qualifier.split()
        more = any(w in MORE for w in words)
        less = any(w in LESS for w in words)
        if (more and less) or any(w in ABOUT for w in words):
            return "about"
        return "more" if more else "less" if less else ""


class _Vague(Exception):
    """The number is an order of magnitude (上千, 数万): no exact value."""


def _arabic(text: str) -> Decimal:
    return Decimal(unicodedata.normalize("NFKC", text).replace(",", ""))


def _combine(tokens: list) -> Decimal | None:
    """A value from digits (Decimals) and multiplier characters, as Chinese numerals combine them.

    ``二万四千`` → 24000, ``一亿二千万`` → 120000000, ``1.2万亿`` → 1.2e12, ``一千零五`` → 1005, and
    the spoken shortening ``二万四`` → 24000, ``一百五`` → 150. None when the tokens make no number.
    """
    total = section = Decimal(0)
    number = None
    last = None  # the last multiplier, for 二万四
    zero_gap = False  # a 零 since the last multiplier: 一千零五 is 1005, not 1500
    for token in tokens:
        if isinstance(token, Decimal):
            if number is not None and number != 0:
                return None  # two numbers in a row (三四 is read as a range before this)
            if number == 0 or token == 0:
                zero_gap = True
            number = token
            continue
        factor = MULTIPLIERS[token]
        if token in SMALL_MULTIPLIERS:
            section += (1 if number is None else number) * factor
        else:
            bare = number is None and section == 0
            if bare and last is not None:
                total *= factor  # 万亿: the multipliers multiply (0.00万亿 stays 0)
            else:
                chunk = Decimal(1) if bare else section + (number or 0)  # 万 alone is 10,000; 0万 is 0
                total = (total + chunk) * factor if factor == BIG_MULTIPLIERS["亿"] else total + chunk * factor
            section = Decimal(0)
        number, last, zero_gap = None, factor, False
    if number is not None and number != 0 and last is not None and not zero_gap:
        number *= Decimal(last) / 10
    return total + section + (number or 0)


def _chinese(text: str) -> Decimal | None:
    """A Chinese numeral without qualifiers: ``十一``, ``十八点七``, ``二〇一八``; raises _Vague."""
    if any(c in "几幾数數" for c in text) or text.startswith("上") or text in ("成千上万", "成千上萬"):
        raise _Vague
    whole, _, fraction = _POINT.sub(".", text).partition(".")
    if fraction:
        digits = "".join(c for c in fraction if c in DIGITS)
        multipliers = fraction[len(digits):]
        integer = _chinese(whole) if whole else None
        if integer is None or not digits:
            return None
        value = integer + Decimal("0." + "".join(str(DIGITS[c]) for c in digits))
        for char in multipliers:
            value *= MULTIPLIERS[char]
        return value
    if not any(c in MULTIPLIERS for c in text):
        if len(text) >= 3 and any(c in "零〇" for c in text):
            return Decimal("".join(str(DIGITS[c]) for c in text))  # 二〇一八
        if len(text) > 1:
            return None
    return _combine([Decimal(DIGITS[c]) if c in DIGITS else c for c in text])


def _adjacent_digits(text: str) -> tuple[int, int] | None:
    """The positions of two neighbouring digits that make a range (三四万, 十五六, 两三), if any."""
    pairs = [i for i in range(len(text) - 1) if text[i] in DIGITS and text[i + 1] in DIGITS
             and DIGITS[text[i]] and DIGITS[text[i + 1]]]
    if len(pairs) != 1:
        return None if not pairs else (-1, -1)
    i = pairs[0]
    low, high = DIGITS[text[i]], DIGITS[text[i + 1]]
    if high == low + 1 or (low, high) == (1, 2):
        return i, i + 1
    return -1, -1


def _number(text: str) -> tuple[Decimal | None, Decimal | None, Decimal | None] | None:
    """``(value, low, high)`` of one number or range; None when it is not a number; raises _Vague."""
    text = _SPACE.sub("", text)
    text = _APPROX.sub("", text)
    match = _RANGE.fullmatch(text)
    if match:
        first, second = match.group(1), match.group(2)
        trailing = _TRAILING_MULTIPLIERS.search(second)
        if trailing and not any(c in MULTIPLIERS for c in first):
            first += trailing.group()  # 3-5万 is 3万 to 5万, 三到五万 三万 to 五万
        low, high = _single(first), _single(second)
        if low is None or high is None:
            return None
        return None, low, high
    if not _ARABIC_START.match(text):
        pair = _adjacent_digits(text)
        if pair == (-1, -1):
            if not any(c in MULTIPLIERS for c in text) and any(c in "零〇" for c in text):
                return _single(text), None, None
            return None
        if pair:
            i, j = pair
            low, high = _single(text[:j] + text[j + 1:]), _single(text[:i] + text[i + 1:])
            if low is None or high is None:
                return None
            return None, low, high
    return _single(text), None, None


def _single(text: str) -> Decimal | None:
    if _ARABIC_START.match(text):
        tokens = []
        for number, multiplier in _TOKEN.findall(text):
            if number:
                try:
                    tokens.append(_arabic(number))
                except InvalidOperation:
                    return None
            else:
                tokens.append(multiplier)
        return _combine(tokens)
    return _chinese(text)


def _plain(value: Decimal | None) -> Decimal | None:
    """``22000`` rather than ``22000.0`` (equal either way; this is how it is shown)."""
    if value is None:
        return None
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def _read(match: re.Match, *, offset: int = 0) -> Reading | None:
    number = match.group("number")
    try:
        parsed = _number(number)
    except _Vague:
        parsed = (None, None, None)
    if parsed is None:
        return None
    value, low, high = parsed
    qualified = match.group("before") or match.group("approx") or _APPROX.search(number)
    if number[0] in BIG_MULTIPLIERS and not qualified:
        return None  # 万一: a numeral opening on 万 or 亿 is a number only after a qualifier (近万人)
    value, low, high = (_plain(v) for v in (value, low, high))
    unit = (match.group("unit") or "").strip()
    if match.group("percent"):
        unit = "%" if match.group("percent") == "百分之" else "‰"
    elif unit == "％":
        unit = "%"
    before = _QUALIFIER_WORD.findall(match.group("before") or "")
    inside = _APPROX.findall(number) + ([match.group("approx")] if match.group("approx") else [])
    after = [match.group("after")] if match.group("after") else []
    return Reading(
        printed=match.group("printed").strip(),
        value=value,
        unit=unit,
        qualifier=" ".join(before + inside + after),
        low=low,
        high=high,
        start=offset + match.start("printed"),
        end=offset + match.start("printed") + len(match.group("printed").rstrip()),
        chinese=not _ARABIC_START.match(number),
    )


def read_printed(printed: str) -> Reading | None:
    """The reading of one printed form on its own, or None when it holds no number.

    ``超过5.5亿人`` → 550000000, unit ``人``, qualifier ``超过``; ``上千个`` → value None, unit ``个``;
    ``3-5万`` → value None, low 30000, high 50000.
    """
    if printed is None:
        return None
    match = PRINTED.fullmatch(str(printed))
    if not match:
        return None
    return _read(match)


def find_figures(text: str) -> list[Reading]:
    """Every number in running text, in order, each with its unit when one of UNITS follows it.

    Dates, ordinals and durations are numbers too (``2018年``, ``第5个``, ``5年``); telling them from
    figures is the caller's business. Digits glued to Latin letters (``5G``, ``O2O``) and words that
    only look like numerals (``千家万户``, ``万一``) are left out.
    """
    found = []
    for match in FIGURE.finditer(text):
        number = match.group("number")
        start, end = match.start("number"), match.end("number")
        if _ARABIC_START.match(number):
            if (start and _LATIN.match(text[start - 1])) or _LATIN.match(text[end:end + 1]):
                continue
        else:
            bare = number.lstrip("几幾数數上")
            if all(c in "零〇" for c in bare):
                continue  # 零售
            # 千家万户, 万一, 百姓: a numeral that opens on a multiplier is a number only when a qualifier
            # says so (近百万, 逾千) or it is approximate (千余人); 十 (十人) is the exception.
            if bare[0] in "百千万萬亿億佰仟" and number[0] not in "几幾数數上成" and not (
                match.group("before") or _APPROX.search(number) or match.group("approx")
            ):
                continue
        reading = _read(match)
        if reading is not None:
            found.append(reading)
    return found


# The common printed form, ASCII digits with at most one 万/亿 and a unit of Chinese characters that take no part
# in the grammar (``4464万元``, ``722742人次``, ``18.7%``): the reading PRINTED gives it is known without PRINTED
# (the number is the digits and the multiplier, nothing is a qualifier, the unit is the rest), so
# :func:`parse_printed_value` reads it directly, through the same arithmetic (_combine, _plain).
_PLAIN_PRINTED = re.compile("([0-9]+(?:[.][0-9]+)?)([万亿]?)([\u4e00-\u9fff%‰]*)")
#: Characters a plain form's unit may not hold: digits, multipliers, approximations, qualifiers' characters,
#: range separators and the words of vague and percent numbers (PRINTED would read such a form otherwise).
_NOT_IN_PLAIN_UNIT = frozenset(
    "".join(DIGITS) + "".join(MULTIPLIERS) + "".join(MORE + LESS + ABOUT + TOTAL + QUALIFIERS_AFTER)
    + "余餘多几幾数數上成点點了至到百分之千")


def _plain_printed(printed: str) -> tuple[Decimal, str] | None:
    """:func:`parse_printed_value` of a form :data:`_PLAIN_PRINTED` takes whole, or None for any other form."""
    match = _PLAIN_PRINTED.fullmatch(printed)
    if match is None:
        return None
    number, multiplier, unit = match.groups()
    if not _NOT_IN_PLAIN_UNIT.isdisjoint(unit):
        return None
    value = _combine([Decimal(number), multiplier] if multiplier else [Decimal(number)])
    return _plain(value), unit


@functools.lru_cache(maxsize=8192)
def parse_printed_value(printed: str) -> tuple[Decimal, str] | None:
    """``(value in base units, unit)`` for a printed figure, or None if it is not a plain number.

    ``3037亿元`` → (303700000000, "元"); ``238.8万人次`` → (2388000, "人次");
    ``1.2万亿元`` → (1200000000000, "元"); ``两亿`` → (200000000, ""); ``数万名`` → None.

    Kept for the last 8,192 printed forms (a pure function of the text; the answer is immutable): a form that
    recurs in an import (the seeds' 138 figures have 132 forms; the generated benchmark file's 10,000 rows have
    7,211) is read once.
    """
    if type(printed) is str:
        plain = _plain_printed(printed)
        if plain is not None:
            return plain
    reading = read_printed(printed)
    if reading is None or reading.value is None:
        return None
    return reading.value, reading.unit


def _simplified(unit: str) -> str:
    """Units compare across scripts: ``單`` is ``单``."""
    from core.search import normalise

    return normalise(unit)


def value_agrees(value, printed: str, unit: str) -> str | None:
    """None when ``value`` and ``unit`` agree with ``printed``; otherwise what is wrong, in words."""
    parsed = parse_printed_value(printed)
    if parsed is None:
        if value is not None:
            return f"value {value} given but printed form {printed!r} is not a plain number"
        return None
    expected, printed_unit = parsed
    if value is None:
        return f"printed form {printed!r} reads as {plain_decimal(expected)} but value is empty"
    # (A Decimal is its own text read back: str gives every digit and the exponent.)
    if (value if type(value) is Decimal else Decimal(str(value))) != expected:
        return f"value {value} disagrees with printed form {printed!r} (reads as {plain_decimal(expected)})"
    # A printed form without a unit (``100亿``) leaves the unit to the context; one with a unit
    # must agree with it (the same text agrees without being simplified).
    if printed_unit and unit != printed_unit and _simplified(unit or "") != _simplified(printed_unit):
        return f"unit {unit!r} disagrees with printed form {printed!r} (unit there is {printed_unit!r})"
    return None
