"""The seed files themselves: cleaned articles, the article parser, and the data check."""

import re
from pathlib import Path

import pytest

from programs.seeding import SEEDS_DIR, check_seeds, parse_article, read_seeds

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
    from seeds.clean_articles import PINYIN_NOISE

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
