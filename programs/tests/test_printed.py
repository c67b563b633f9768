"""Reading printed figures: the arithmetic ``load_seeds --check``, imports and the intake proposer rely on."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from programs.printed import find_figures, parse_printed_value, read_printed, value_agrees

# Printed forms from the five seed articles and beyond → (exact value in base units or None, unit,
# qualifier). None: the text gives no exact value (an order of magnitude), never a guess.
FORMS = [
    # from the articles
    ("3037亿元", "303700000000", "元", ""),
    ("3037億元", "303700000000", "元", ""),
    ("1.2万亿元", "1200000000000", "元", ""),
    ("1.2萬億元", "1200000000000", "元", ""),
    ("100亿元", "10000000000", "元", ""),
    ("100億", "10000000000", "", ""),
    ("1千亿", "100000000000", "", ""),
    ("1万亿", "1000000000000", "", ""),
    ("10000億", "1000000000000", "", ""),
    ("超1000億元", "100000000000", "元", "超"),
    ("超千億", "100000000000", "", "超"),
    ("238.8万", "2388000", "", ""),
    ("1138万人次", "11380000", "人次", ""),
    ("超过5.5亿人", "550000000", "人", "超过"),
    ("2.2亿多棵", "220000000", "棵", "多"),
    ("3亿用户", "300000000", "用户", ""),
    ("13140000棵", "13140000", "棵", ""),
    ("超过90%", "90", "%", "超过"),
    ("18.7%", "18.7", "%", ""),
    ("近3%", "3", "%", "近"),
    ("六十万", "600000", "", ""),
    ("二万四千多", "24000", "", "多"),
    ("两批", "2", "批", ""),
    ("三人", "3", "人", ""),
    ("兩億", "200000000", "", ""),
    ("一千美金", "1000", "美金", ""),
    ("1.6 亿元", "160000000", "元", ""),
    ("4 亿消费者", "400000000", "消费者", ""),
    ("60余萬單", "600000", "單", "余"),
    ("6萬余名", "60000", "名", "余"),
    ("3萬多個", "30000", "個", "多"),
    ("100余萬用戶", "1000000", "用戶", "余"),
    ("2900多名", "2900", "名", "多"),
    ("5.5億人", "550000000", "人", ""),
    ("約21萬名", "210000", "名", "約"),
    ("2300多門", "2300", "門", "多"),
    ("累计超过4200个", "4200", "个", "累计 超过"),
    ("近5万场", "50000", "场", "近"),
    ("近2万人次", "20000", "人次", "近"),
    ("多达3000人", "3000", "人", "多达"),
    ("突破了300万", "3000000", "", "突破"),
    ("達到了3037億元", "303700000000", "元", "達到"),
    ("更超1.2萬億元", "1200000000000", "元", "更超"),
    ("43.96万", "439600", "", ""),
    ("117.8萬", "1178000", "", ""),
    ("862戶", "862", "戶", ""),
    ("2000畝", "2000", "畝", ""),
    ("1,007个", "1007", "个", ""),
    ("37天", "37", "天", ""),
    ("两年多", "2", "年", "多"),
    ("10年以上", "10", "年", "以上"),
    ("上千个", None, "个", ""),
    ("上千個縣", None, "個縣", ""),
    ("數萬名", None, "名", ""),
    ("数万名", None, "名", ""),
    ("十几万", None, "", ""),
    # beyond the articles
    ("两亿", "200000000", "", ""),
    ("十一名", "11", "名", ""),
    ("2.2万", "22000", "", ""),
    ("超过5.5亿", "550000000", "", "超过"),
    ("近百万", "1000000", "", "近"),
    ("逾千名", "1000", "名", "逾"),
    ("千余人", "1000", "人", "余"),
    ("约300万元", "3000000", "元", "约"),
    ("一百二十", "120", "", ""),
    ("一千零五", "1005", "", ""),
    ("二万四", "24000", "", ""),
    ("一亿二千万", "120000000", "", ""),
    ("十万亿", "10000000000000", "", ""),
    ("一万亿元", "1000000000000", "元", ""),
    ("三点五万", "35000", "", ""),
    ("百分之十八点七", "18.7", "%", ""),
    ("百分之五十", "50", "%", ""),
    ("３０％", "30", "%", ""),
    ("2万4千", "24000", "", ""),
    ("叁仟元", "3000", "元", ""),
    ("100人以上", "100", "人", "以上"),
    ("5000万元左右", "50000000", "元", "左右"),
    ("几十个", None, "个", ""),
    ("成千上万", None, "", ""),
    ("數十萬", None, "", ""),
]


@pytest.mark.parametrize(("printed", "value", "unit", "qualifier"), FORMS)
def test_every_printed_form_reads_to_its_exact_value_unit_and_qualifier(printed, value, unit, qualifier):
    reading = read_printed(printed)
    assert reading is not None
    assert reading.value == (None if value is None else Decimal(value))
    assert (reading.unit, reading.qualifier) == (unit, qualifier)
    # The seeds check and the admin import read the same forms the same way.
    assert parse_printed_value(printed) == (None if value is None else (Decimal(value), unit))


def test_the_table_has_sixty_forms():
    assert len(FORMS) >= 60


@pytest.mark.parametrize(
    ("printed", "low", "high", "unit"),
    [("3-5万", "30000", "50000", ""), ("3万至5万元", "30000", "50000", "元"), ("三到五", "3", "5", ""),
     ("三四万", "30000", "40000", ""), ("十五六岁", "15", "16", "岁"), ("18-60岁", "18", "60", "岁")],
)
def test_a_range_keeps_its_bounds_and_has_no_value(printed, low, high, unit):
    reading = read_printed(printed)
    assert (reading.value, reading.low, reading.high, reading.unit) == (None, Decimal(low), Decimal(high), unit)
    assert parse_printed_value(printed) is None


@pytest.mark.parametrize(
    ("printed", "bound"),
    [("近百万", "less"), ("超过5.5亿", "more"), ("60余萬單", "more"), ("約21萬名", "about"), ("3037亿元", "")],
)
def test_the_qualifier_says_on_which_side_of_the_number_the_truth_lies(printed, bound):
    assert read_printed(printed).bound == bound


def test_figures_in_running_text_are_found_with_their_place_and_unit():
    text = ("截至2019年6月,有242个国家级贫困县接入,累计孵化特色商品超过4200个。"
            "網商銀行已向100余萬用戶提供貸款超過380億元。")
    found = [(r.printed, r.value, r.unit, r.qualifier) for r in find_figures(text)]
    assert ("242个", Decimal(242), "个", "") in found
    assert ("4200个", Decimal(4200), "个", "超过") in found
    assert ("100余萬用戶", Decimal(1000000), "用戶", "余") in found
    assert ("380億元", Decimal(38000000000), "元", "超過") in found
    for reading in find_figures(text):
        assert text[reading.start:reading.end] == reading.printed


@pytest.mark.parametrize("text", ["千家万户", "万一", "零售额", "5G网络", "O2O", "一二三四五说得头头是道"])
def test_words_that_only_look_like_numerals_are_not_figures(text):
    assert [r.printed for r in find_figures(text) if r.value] == []


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


def _outcome(function, printed):
    """What ``function(printed)`` gives, the Decimal's exact spelling included, or the error it raises."""
    try:
        answer = function(printed)
    except Exception as exc:  # noqa: BLE001 - the same error either way is the point
        return ("raises", type(exc))
    return answer if answer is None else (str(answer[0]), answer[1])


def _general_reading(printed):
    reading = read_printed(printed)
    return None if reading is None or reading.value is None else (reading.value, reading.unit)


PLAIN_NUMBERS = ["0", "7", "007", "4464", "722742", "18.7", "0.25", "1.50", "10.000", "99999999999999999999.5",
                 "123456789012345678901234567890"]
PLAIN_UNITS = ["", "元", "人次", "个", "家", "人", "%", "‰", "美元", "多元", "余人", "人以上", "人左右", "上下",
               "至5", "了", "百分", "千人", "三人", "点", "数", "万元", "亿", "上", "成", "亩多", "约", "人 ", " 人",
               "％", "人-5", "a", "元ab", "〇", "零", "十", "两", "余", "名之多", "人有余"]


@pytest.mark.parametrize("number", PLAIN_NUMBERS)
def test_the_plain_form_shortcut_reads_as_the_grammar_does(number):
    """parse_printed_value reads ``4464万元`` without PRINTED (programs.printed._plain_printed): every form the
    shortcut takes reads to the same value (spelt the same) and unit as through the whole grammar, and a form
    the grammar reads otherwise (a qualifier, a range, another multiplier) is left to the grammar."""
    from programs.printed import _NOT_IN_PLAIN_UNIT, _plain_printed

    units = PLAIN_UNITS + sorted(_NOT_IN_PLAIN_UNIT) + [f"人{char}" for char in sorted(_NOT_IN_PLAIN_UNIT)]
    taken = 0
    for multiplier in ("", "万", "亿", "萬", "千", "十"):
        for unit in units:
            printed = f"{number}{multiplier}{unit}"
            shortcut = _outcome(_plain_printed, printed)
            if shortcut is not None:
                taken += 1
                assert shortcut == _outcome(_general_reading, printed), printed
            parse_printed_value.cache_clear()
            assert _outcome(parse_printed_value, printed) == _outcome(_general_reading, printed), printed
    assert taken >= 3 * 9  # 万, 亿 or none, each with the plain units


@pytest.mark.parametrize("printed", ["4464万元", "722742人次", "18.7%", "3037亿元", "100", "0.5万个"])
def test_the_common_printed_forms_take_the_shortcut(printed):
    from programs.printed import _plain_printed

    assert _plain_printed(printed) is not None
    assert _plain_printed(printed) == _general_reading(printed)


@given(st.text(alphabet="0123456789.万亿元人次个多余以上%约近-至 ", max_size=10))
def test_the_shortcut_never_reads_a_form_otherwise_than_the_grammar(printed):
    from programs.printed import _plain_printed

    shortcut = _outcome(_plain_printed, printed)
    if shortcut is not None:
        assert shortcut == _outcome(_general_reading, printed)
