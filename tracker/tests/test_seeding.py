"""The seed files themselves: cleaned articles, the article parser, and the data check."""

import re
from pathlib import Path

import pytest

from core.seeding import SEEDS_DIR, parse_article
from tracker.seeding import check_seeds, read_seeds

ARTICLES = sorted((SEEDS_DIR / "articles").glob("*.txt"))
RAW_DIR = Path(__file__).resolve().parents[3] / "shared" / "seeds"


def test_there_are_five_articles():
    assert len(ARTICLES) == 5


@pytest.mark.parametrize("path", ARTICLES, ids=lambda p: p.name)
def test_every_article_parses_into_a_source(path):
    fields = parse_article(path.read_text(encoding="utf-8"))
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", fields["slug"])
    assert fields["title"]
    assert fields["script"] in {"simplified", "traditional"}
    assert fields["original_file"] == path.name
    assert len(fields["text"]) > 2000


@pytest.mark.parametrize("path", ARTICLES, ids=lambda p: p.name)
def test_no_spam_tags_or_pinyin_survive_cleaning(path):
    body = parse_article(path.read_text(encoding="utf-8"))["text"]
    assert not re.search(r"<[a-z/][^>]*>", body), "stray HTML tag"
    assert not re.search(r"\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+\)", body), "pinyin annotation"
    for spam in ("哥伦比亚内衣秀", "快乐十分", "免责声明", "联系QQ", "您的位置", "订阅下载", "推荐阅读", "推薦閱讀"):
        assert spam not in body


def test_traditional_articles_stay_traditional():
    scripts = {parse_article(p.read_text(encoding="utf-8"))["slug"]: p for p in ARTICLES}
    traditional = [p for p in ARTICLES if parse_article(p.read_text(encoding="utf-8"))["script"] == "traditional"]
    assert len(traditional) == 2 and scripts
    assert "創造" in (SEEDS_DIR / "articles" / "004_0670b3c5e78f4d1f.txt").read_text(encoding="utf-8")


@pytest.mark.skipif(not RAW_DIR.exists(), reason="the raw articles (../shared/seeds) are not beside this checkout")
@pytest.mark.parametrize("path", ARTICLES, ids=lambda p: p.name)
def test_cleaning_only_removes_lines(path):
    """Apart from 004's pinyin, every line of the cleaned text is a line of the raw text."""
    from tracker.intake import PINYIN_NOISE

    raw = (RAW_DIR / path.name).read_text(encoding="utf-8")
    raw_lines = {line.rstrip() for line in PINYIN_NOISE.sub("", raw).split("\n")}
    body = parse_article(path.read_text(encoding="utf-8"))["text"]
    for line in body.split("\n"):
        if line and not path.name.startswith("004_"):
            assert line in raw_lines, line[:60]


def test_parse_article_rejects_a_file_without_header():
    with pytest.raises(ValueError, match="---"):
        parse_article("just text")
    with pytest.raises(ValueError, match="slug"):
        parse_article("title: x\nscript: simplified\n---\nbody")


def test_real_seed_data_passes_the_check():
    seeds = read_seeds()
    assert check_seeds(seeds) == []


def test_every_quote_is_found_in_its_article():
    seeds = read_seeds()
    texts = {row.data["slug"]: row.data["text"] for row in seeds.of("sources")}
    outcomes = seeds.of("outcomes")
    assert len(outcomes) >= 100
    for row in outcomes:
        assert row.data["quote"] in texts[row.data["source"]], row.where


def outcomes_by_slug():
    return {row.data["slug"]: row.data for row in read_seeds().of("outcomes")}


def test_every_article_has_figures_and_all_four_kinds_occur():
    outcomes = read_seeds().of("outcomes")
    assert {row.data["source"] for row in outcomes} == {
        parse_article(p.read_text(encoding="utf-8"))["slug"] for p in ARTICLES
    }
    assert {row.data["kind"] for row in outcomes} == {"result", "target", "commitment", "baseline"}


def test_the_same_figure_in_two_articles_stays_two_outcomes():
    outcomes = outcomes_by_slug()
    pair = [o for o in outcomes.values() if o["value"] == "303700000000"]
    assert len({o["source"] for o in pair}) == 2
    assert all("separate" in o["note"] or "独立" in o["note"] for o in pair)
    # The 100亿 commitment is printed by all five articles, and kept five times.
    commitments = [o for o in outcomes.values() if o["value"] == "10000000000" and o["kind"] == "commitment"]
    assert len({o["source"] for o in commitments}) == 5


def test_dates_keep_the_precision_the_article_gives():
    outcomes = outcomes_by_slug()
    # 2020年 stays a year; "今年上半年" in an article of 2018-10-17 becomes 2018-01 to 2018-06.
    assert outcomes["o001-001-xianyu-shangpin-xiaoshoue"]["period_end"] == "2020"
    half = outcomes["o003-013-pinkunxian-xiaoshoue-2018h1"]
    assert (half["period_start"], half["period_end"]) == ("2018-01", "2018-06")
    assert "今年上半年" in half["note"]
    # "去年" in an undated article cannot be resolved and stays empty, with a note.
    lasa = outcomes["o002-014-lasa-shizhuan-juanzeng"]
    assert lasa["period_start"] in (None, "") and "去年" in lasa["note"]


def test_a_figure_that_is_not_a_number_keeps_an_empty_value():
    outcome = outcomes_by_slug()["o003-004-xiezuo-yuangong"]
    assert outcome["value"] is None and outcome["value_printed"] == "數萬名"
