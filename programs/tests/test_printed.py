"""Reading printed figures: the arithmetic ``load_seeds --check`` and imports rely on."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from programs.printed import parse_printed_value, value_agrees


@pytest.mark.parametrize(
    ("printed", "value", "unit"),
    [
        ("3037亿元", "303700000000", "元"),
        ("3037億元", "303700000000", "元"),
        ("1.2万亿元", "1200000000000", "元"),
        ("1.2萬億元", "1200000000000", "元"),
        ("238.8万人次", "2388000", "人次"),
        ("1千亿", "100000000000", ""),
        ("1.6 亿元", "160000000", "元"),
        ("13140000棵", "13140000", "棵"),
        ("18.7%", "18.7", "%"),
        ("六十万", "600000", ""),
        ("二万四千", "24000", ""),
        ("一千美金", "1000", "美金"),
        ("两亿", "200000000", ""),
        ("60余萬單", "600000", "單"),
        ("6萬余名", "60000", "名"),
        ("2900多名", "2900", "名"),
        ("1,007个", "1007", "个"),
    ],
)
def test_printed_forms_read_as_base_units(printed, value, unit):
    assert parse_printed_value(printed) == (Decimal(value), unit)


@pytest.mark.parametrize("printed", ["數萬名", "数万名", "", "两批"[1:], "abc"])
def test_words_that_are_not_numbers_read_as_nothing(printed):
    assert parse_printed_value(printed) is None


def test_value_agrees_accepts_the_right_value_and_unit():
    assert value_agrees("303700000000", "3037亿元", "元") is None
    # A printed form without a unit leaves the unit to the sentence.
    assert value_agrees("10000000000", "100億", "元") is None
    # Units compare across scripts.
    assert value_agrees("600000", "60余萬單", "单") is None


def test_value_agrees_names_what_is_wrong():
    assert "disagrees" in value_agrees("30370000000", "3037亿元", "元")
    assert "unit" in value_agrees("303700000000", "3037亿元", "人")
    assert "empty" in value_agrees(None, "3037亿元", "元")
    assert "not a plain number" in value_agrees("1", "數萬名", "名")
    assert value_agrees(None, "數萬名", "名") is None


@given(
    st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False, allow_infinity=False),
    st.sampled_from([("", 1), ("千", 1000), ("万", 10**4), ("萬", 10**4), ("亿", 10**8), ("万亿", 10**12)]),
)
def test_arithmetic_holds_for_any_number_and_multiplier(number, multiplier):
    word, factor = multiplier
    printed = f"{number}{word}元"
    assert parse_printed_value(printed) == (number * factor, "元")
    assert value_agrees(str(number * factor), printed, "元") is None
