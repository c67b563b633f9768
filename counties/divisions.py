"""China's county-level divisions: official code, name, prefecture, province and coordinates.

The table is the one the ``cpca`` package ships (``cpca/resources/adcodes.csv`` of cpca 0.5.5, MIT
licence, https://github.com/DQinYuan/chinese_province_city_area_mapper), kept byte for byte in
``counties/data/cpca/`` with its licence; a test checks both files against the sha256 the cpca 0.5.5
wheel records for them. It is shipped rather than installed because cpca needs pandas, numpy and
pyahocorasick (about 30 MB of wheels) to offer what we do not use, and we only read the table. To
update it, replace the files from a newer cpca wheel and change the hashes in the test.

The table is of 2016: it has 2,850 county-level divisions with the names of the time (盘县, not
盘州市 as renamed in 2017; 水城县, not 水城区 as in 2020). The articles of 2018 to 2021 use those
names; a place renamed since is not recognised under its new name.

This module imports nothing from the project, so any layer may use it (the counties app fills
and checks its records from it; the intake proposer finds places with it).
"""

import csv
import re
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import NamedTuple

from opencc import OpenCC

DATA = Path(__file__).resolve().parent / "data" / "cpca"
ADCODES = DATA / "adcodes.csv"
NATIONS = DATA / "56_nations.csv"

# Placeholders in the table's prefecture column, not prefectures: a municipality's districts and
# the counties a province governs directly.
_NOT_A_PREFECTURE = ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划")

_to_simplified = OpenCC("t2s")


class Division(NamedTuple):
    """One county-level division (县, 旗, 县级市, 区 …) as the dataset gives it."""

    adcode: str  # six digits: 普安县 is 522323
    name: str
    prefecture: str  # "" for a county a province governs directly, or a municipality's district
    province: str
    lat: Decimal | None
    lon: Decimal | None


class Mention(NamedTuple):
    """A division named in a text: where, in what words."""

    start: int
    end: int
    words: str
    division: Division


@cache
def simplified_char(char: str) -> str:
    """One character in simplified script (縣 → 县), or itself; never changes the length."""
    converted = _to_simplified.convert(char)
    return converted if len(converted) == 1 else char


def simplified(text: str) -> str:
    """``text`` in simplified script, character for character, so offsets stay the same."""
    return "".join(simplified_char(c) for c in text)


@cache
def _nations() -> tuple[str, ...]:
    names = [line.strip() for line in NATIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    # 蒙古族 is printed 蒙古 in 巴音郭楞蒙古自治州, 哈萨克族 哈萨克 in 伊犁哈萨克自治州.
    return tuple(sorted({*names, *(n.removesuffix("族") for n in names)}, key=len, reverse=True))


def short_name(name: str) -> str:
    """The name without its kind: 普安县 → 普安, 松桃苗族自治县 → 松桃, 黔西南布依族苗族自治州 → 黔西南,
    新疆维吾尔自治区 → 新疆; the name itself when what is left would be one character (礼县)."""
    stem = re.sub(r"(特别行政区|自治区|自治州|自治县|自治旗|地区|林区|特区|省|市|县|区|旗|盟)$", "", name)
    stripped = True
    while stripped:
        stripped = False
        for nation in _nations():
            if stem.endswith(nation) and len(stem) > len(nation) + 1:
                stem, stripped = stem[: -len(nation)], True
                break
    return stem if len(stem) >= 2 else name


@cache
def _table() -> dict[str, tuple[str, Decimal | None, Decimal | None]]:
    rows = {}
    with ADCODES.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            lat, lon = row["latitude"], row["longitude"]
            rows[row["adcode"][:6]] = (row["name"], Decimal(lat) if lat else None, Decimal(lon) if lon else None)
    return rows


@cache
def counties() -> tuple[Division, ...]:
    """Every county-level division in the dataset, by code."""
    table = _table()
    found = []
    for code, (name, lat, lon) in sorted(table.items()):
        if code.endswith("00") or name in _NOT_A_PREFECTURE:
            continue
        prefecture = table.get(code[:4] + "00", ("",))[0]
        if prefecture in _NOT_A_PREFECTURE:
            prefecture = ""
        province = table.get(code[:2] + "0000", ("",))[0]
        found.append(Division(code, name, prefecture, province, lat, lon))
    return tuple(found)


@cache
def _regions() -> dict[str, tuple[str, str]]:
    """Province and prefecture names, full and short (贵州省, 贵州, 黔西南), → (kind, full name)."""
    regions = {}
    for code, (name, _lat, _lon) in _table().items():
        if not code.endswith("00") or name in _NOT_A_PREFECTURE:
            continue
        kind = "province" if code.endswith("0000") else "prefecture"
        for form in {name, short_name(name)}:
            if len(form) >= 2:
                regions.setdefault(form, (kind, name))
    return regions


def _generic(division: Division) -> bool:
    """城区, 郊区, 矿区, 东区: district names that are ordinary words."""
    return division.name.endswith("区") and len(division.name) <= 2


@cache
def _by_name() -> dict[str, tuple[Division, ...]]:
    names: dict[str, list[Division]] = {}
    for division in counties():
        if not _generic(division):
            names.setdefault(division.name, []).append(division)
    return {name: tuple(found) for name, found in names.items()}


@cache
def _by_short_name() -> dict[str, tuple[Division, ...]]:
    names: dict[str, list[Division]] = {}
    for division in counties():
        stem = short_name(division.name)
        if stem != division.name and not _generic(division):
            names.setdefault(stem, []).append(division)
    return {name: tuple(found) for name, found in names.items()}


def _narrow(found: tuple[Division, ...], within) -> Division | None:
    if len(found) > 1 and within:
        regions = _regions()
        places = {regions.get(simplified(w), ("", simplified(w)))[1] for w in within}
        found = tuple(d for d in found if d.province in places or d.prefecture in places)
    return found[0] if len(found) == 1 else None


@cache
def _by_code() -> dict[str, Division]:
    return {division.adcode: division for division in counties()}


def division_by_code(code: str) -> Division | None:
    """The county-level division with this six-digit code (``522323``), or None."""
    return _by_code().get(str(code or "").strip())


def fill_coordinates(county) -> bool:
    """Give ``county`` (a County, or anything with ``code``, ``latitude`` and ``longitude``) its division's
    coordinates when it has a known code and no coordinates yet; whether it changed."""
    division = division_by_code(getattr(county, "code", ""))
    if division is None or division.lat is None or county.latitude is not None or county.longitude is not None:
        return False
    county.latitude, county.longitude = division.lat, division.lon
    return True


def lookup_county(name: str, *, within=()) -> Division | None:
    """The division a name means, in either script, by its full or short name: ``普安县``,
    ``普安縣`` and ``普安`` are all 522323. None when the dataset does not have it, or when the name
    is ambiguous (朝阳区: Beijing and Changchun) and ``within`` (province or prefecture names,
    ``("北京",)``) does not settle it."""
    name = simplified((name or "").strip())
    found = _by_name().get(name) or _by_short_name().get(name) or ()
    return _narrow(found, within)


@cache
def _full_names() -> re.Pattern:
    names = sorted(_by_name(), key=len, reverse=True)
    return re.compile("|".join(map(re.escape, names)))


@cache
def _region_names() -> re.Pattern:
    return re.compile("|".join(map(re.escape, sorted(_regions(), key=len, reverse=True))))


# A county name followed by one of these is part of another word: 和县长 is "and the county head",
# 东方市场 "the eastern market", 南山区域 "the 南山 area".
_NOT_AFTER = {"县": "长委城域级里内乡镇", "市": "场民值长委", "区": "域", "旗": "下帜舰"}


def find_counties(text: str) -> list[Mention]:
    """Every county-level division named in ``text`` (either script), in order.

    A full name (普安县, 水城縣, 科尔沁右翼中旗) is enough, except a two-character one (礼县): that,
    and a short name (奉节, 巴楚), count only right after their province or prefecture (甘肃礼县,
    重庆奉节, 新疆巴楚), where they cannot be another word. A name several divisions share (朝阳区)
    is settled by a province or prefecture named before it, or left out.
    """
    plain = simplified(text)
    regions = _regions()
    region_ends = {}  # where a province or prefecture name ends → its full name
    context = []  # provinces and prefectures named so far, for ambiguous names
    for match in _region_names().finditer(plain):
        region_ends[match.end()] = regions[match.group()][1]
    region_starts = {m.start() for m in _region_names().finditer(plain)}
    mentions = []
    taken = set()
    for match in _full_names().finditer(plain):
        name = match.group()
        after = plain[match.end():match.end() + 1]
        if after and after in _NOT_AFTER.get(name[-1], ""):
            continue
        before = region_ends.get(match.start())
        if len(name) <= 2 and not before:
            continue
        context = [r for end, r in region_ends.items() if end <= match.start()]
        division = _narrow(_by_name()[name], ([before] if before else []) + context[::-1][:3])
        if division:
            mentions.append(Mention(match.start(), match.end(), text[match.start():match.end()], division))
            taken.update(range(match.start(), match.end()))
    short = _by_short_name()
    for end, region in region_ends.items():
        if end in region_starts:
            continue  # 贵州省黔西南州: 黔西南 is the prefecture, not 黔西县
        for length in range(5, 1, -1):
            stem = plain[end:end + length]
            if stem in short and not taken.intersection(range(end, end + length)):
                division = _narrow(short[stem], [region])
                if division and region in (division.province, division.prefecture):
                    mentions.append(Mention(end, end + length, text[end:end + length], division))
                    taken.update(range(end, end + length))
                    break
    return sorted(mentions)
