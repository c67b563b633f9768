"""Reading a figure as the press printed it: ``3037亿元`` is 303,700,000,000 yuan.

Used by ``load_seeds --check`` to verify that every outcome's exact value agrees with its
printed form, and by the admin import to do the same for staff rows.
"""

import re
from decimal import Decimal, InvalidOperation

MULTIPLIERS = {"十": 10, "百": 100, "千": 1000, "万": 10_000, "亿": 100_000_000}
CHINESE_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4,
                  "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}

# ``60余萬單`` and ``6萬余名``: an approximating 余/多 may sit before or after the multiplier; it is
# a qualifier (kept in the outcome's ``qualifier``), not part of the unit.
ARABIC = re.compile(r"^\s*([0-9][0-9,]*(?:\.[0-9]+)?)\s*[余餘多]?([十百千万萬亿億]*)[余餘多]?(.*?)\s*$")
CHINESE = re.compile(r"^\s*([零〇一二两兩三四五六七八九十百千万萬亿億]+)(.*?)\s*$")


def _normalise(text: str) -> str:
    return text.replace("萬", "万").replace("億", "亿")


def _simplified(unit: str) -> str:
    """Units compare across scripts: ``單`` is ``单``."""
    from config.search import normalise

    return normalise(unit)


def _multiplier(chars: str) -> Decimal:
    total = Decimal(1)
    for char in _normalise(chars):
        total *= MULTIPLIERS[char]
    return total


def _chinese_number(text: str) -> Decimal:
    """一百二十 → 120, 两亿 → 200000000, 十亿 → 1000000000 (enough for press figures)."""
    text = _normalise(text)
    total, section, number = Decimal(0), Decimal(0), Decimal(0)
    for char in text:
        if char in CHINESE_DIGITS:
            number = Decimal(CHINESE_DIGITS[char])
        elif char in ("十", "百", "千"):
            section += (number or 1) * MULTIPLIERS[char]
            number = Decimal(0)
        elif char in ("万", "亿"):
            unit = MULTIPLIERS[char]
            chunk = (section + number) or 1
            total = (total + chunk) * unit if char == "亿" else total + chunk * unit
            section, number = Decimal(0), Decimal(0)
    return total + section + number


def parse_printed_value(printed: str) -> tuple[Decimal, str] | None:
    """``(value in base units, unit)`` for a printed figure, or None if it is not a plain number.

    ``3037亿元`` → (303700000000, "元"); ``238.8万人次`` → (2388000, "人次");
    ``1.2万亿元`` → (1200000000000, "元"); ``两亿`` → (200000000, ""); ``数万名`` → None.
    """
    if printed is None:
        return None
    match = ARABIC.match(str(printed))
    if match:
        digits, multiplier, unit = match.groups()
        try:
            number = Decimal(digits.replace(",", ""))
        except InvalidOperation:
            return None
        return number * _multiplier(multiplier), unit
    match = CHINESE.match(str(printed))
    if match and any(c in CHINESE_DIGITS for c in match.group(1)) or (
        match and match.group(1)[0] in "十"
    ):
        return _chinese_number(match.group(1)), match.group(2)
    return None


def value_agrees(value, printed: str, unit: str) -> str | None:
    """None when ``value`` and ``unit`` agree with ``printed``; otherwise what is wrong, in words."""
    parsed = parse_printed_value(printed)
    if parsed is None:
        if value is not None:
            return f"value {value} given but printed form {printed!r} is not a plain number"
        return None
    expected, printed_unit = parsed
    if value is None:
        return f"printed form {printed!r} reads as {expected.normalize():f} but value is empty"
    if Decimal(str(value)) != expected:
        return f"value {value} disagrees with printed form {printed!r} (reads as {expected.normalize():f})"
    # A printed form without a unit (``100亿``) leaves the unit to the context; one with a unit
    # must agree with it.
    if printed_unit and _simplified(unit or "") != _simplified(printed_unit):
        return f"unit {unit!r} disagrees with printed form {printed!r} (unit there is {printed_unit!r})"
    return None
