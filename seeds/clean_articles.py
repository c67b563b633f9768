"""Turn the five articles as received into the cleaned texts under ``seeds/articles/``.

Run once by hand, from the project folder: ``python -m seeds.clean_articles ../shared/seeds``. The cleaning is
the article intake's (``tracker.intake.clean_article``: web boilerplate, spam lines, lines of stray tags, pinyin
noise, see ``seeds/README.md``), so a seed article and an article added in the admin are cleaned alike; this
script writes a small header above each text. The cleaned files are committed; this script documents,
reproducibly, how they were made (a test checks that it still makes them byte for byte).
"""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

HEADERS = {
    "000_63d2b1451f750324.txt": dict(
        slug="pengpai-2018-03-27-xiang-pinkunxian-xuexi",
        title="阿里扶贫工作:不止资金涌入,还要向贫困县学习",
        publisher="澎湃新闻",
        published="2018-03-27",
        script="simplified",
        date_note="",
        note="",
    ),
    "001_bc2b962ee8874a64.txt": dict(
        slug="2021-zaoxueshi-fupin-tepaiyuan",
        title="阿里“造血式”扶贫背后:特派员脱产上一线 推动县域数字化成乡村振兴KPI",
        publisher="",
        published="2021",
        script="simplified",
        date_note=(
            "The page carries no date. It reports the 2021阿里巴巴乡村致富大会 of 5月17日 as past and "
            "胡晓明 'two months and more' after leaving the Ant Group CEO post, so it was published in "
            "2021, after 17 May; the year is all that is kept."
        ),
        note="Republished by an unnamed aggregator site; the original outlet is not named.",
    ),
    "002_88e578799b0e04a1.txt": dict(
        slug="zhongguo-minzu-2019-wangwei-zhuanfang",
        title="专访阿里社会公益部总监王威(《中国民族》)",
        publisher="《中国民族》杂志",
        published="",
        script="simplified",
        date_note=(
            "The text carries no date. It cannot be earlier than December 2019: it reports 薇娅's "
            "live stream of 2019年12月 as past. It counts 两年来 from the fund's founding in 2017年12月, "
            "so it is from about the turn of 2019 and 2020. Neither year can be chosen from the text, "
            "so the date is left empty and bounded here instead: not before 2019-12."
        ),
        note="The text carries no headline; this title describes the interview and is not printed in it.",
    ),
    "003_7f9f5dea4911b751.txt": dict(
        slug="renminwang-2018-10-17-ji-quan-shengtai-zhu-tuopin",
        title="阿里集全生態力量助脫貧",
        publisher="人民網",
        published="2018-10-17",
        script="traditional",
        date_note="",
        note="",
    ),
    "004_0670b3c5e78f4d1f.txt": dict(
        slug="2021-retu-jihua-xiangcun-zhenxing-jijin",
        title="阿里巴巴發布「熱土計劃」 脫貧基金升級為鄉村振興基金",
        publisher="",
        published="2021",
        script="traditional",
        date_note=(
            "The text carries no date. It reports the 5月17日 announcement of 熱土計劃 at the "
            "2021阿里巴巴鄉村致富大會 as past and calls 2021 the first year of the 十四五 plan, so it was "
            "published in 2021, after 17 May; the year is all that is kept."
        ),
        note="The text carries no headline or outlet; this title describes it and is not printed in it.",
    ),
}

def header(name: str) -> str:
    fields = dict(HEADERS[name], original_file=name)
    order = ["slug", "title", "publisher", "published", "script", "original_file", "date_note", "note"]
    return "".join(f"{key}: {fields[key]}\n" for key in order) + "---\n"


def clean(raw: str) -> str:
    """The article's text as committed: the intake's cleaning."""
    from tracker.intake import clean_article

    return clean_article(raw).text


def main(source_dir: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if not os.environ.get("SECRET_KEY"):
        os.environ.setdefault("DEBUG", "1")  # reads files only; the settings want a key otherwise
    import django

    django.setup()
    out = HERE / "articles"
    out.mkdir(exist_ok=True)
    for path in sorted(Path(source_dir).glob("*.txt")):
        cleaned = clean(path.read_text(encoding="utf-8"))
        (out / path.name).write_text(header(path.name) + cleaned, encoding="utf-8")
        print(f"{path.name}: {len(cleaned)} characters")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(HERE.parent.parent / "shared" / "seeds"))
