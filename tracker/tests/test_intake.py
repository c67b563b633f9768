"""The article intake (issue 13): reading and cleaning an article, the admin's three screens (add, preview,
review), accepting figures under every rule in one transaction, ``propose_figures``, county codes and the
county map; and the whole flow in a real browser, with its clicks and page loads counted.
"""

import csv
import datetime
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
import tablib
from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from core.seeding import SEEDS_DIR, SeedRow, parse_article
from core.testing.admin import db_dump
from core.testing.browser import screenshot
from core.testing.world import build_world
from counties.divisions import division_by_code
from counties.models import County
from counties.resources import CountyResource
from counties.seeding import check_division_codes
from programs.models import Outcome, Program, Source
from tracker import intake

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
RAW_DIR = ROOT.parent / "shared" / "seeds"
ARTICLES = sorted((SEEDS_DIR / "articles").glob("*.txt"))
ADD = "/admin/intake/"

# Names the world knows: 电商脱贫, 教育扶贫 (programs), 阿里巴巴脱贫基金 (fund), 普安县, 独山县 (counties);
# 巴东县 is not a County yet.
ARTICLE = (
    "阿里巴巴脱贫基金助力普安县\n\n"
    "2021-06-01 10:00 人民网\n\n"
    "2020年,电商脱贫项目帮助普安县销售农产品2.2万吨。\n"
    "阿里巴巴脱贫基金在巴东县培训了300名电商人才。\n"
    "截至2020年底,教育扶贫项目在独山县建成10所学校。\n"
)
TRADITIONAL_PAGE = (
    "<!DOCTYPE html><html><head><meta charset=\"big5\"><title>阿里巴巴脫貧基金在普安縣</title>"
    "<script>var x = '不是文章';</script><style>p { color: red }</style></head><body>"
    "<nav>首頁 | 新聞</nav><h1>阿里巴巴脫貧基金在普安縣</h1>"
    "<p>2019年,電商脫貧項目在普安縣培訓了三百名學員。</p><p>教育扶貧項目在獨山縣建成十所學校。</p>"
    "<p>分享:</p><p>北京賽車直播</p></body></html>"
)


def upload(name, data, **fields):
    return {"file": SimpleUploadedFile(name, data), "text": "", **fields}


def add(client, follow=True, **fields):
    """Step 1, then the preview (when the article is accepted)."""
    return client.post(ADD, fields, follow=follow)


def review_url(response) -> str:
    match = re.search(r'href="(/admin/intake/[^/"]+/review/)"', response.content.decode())
    assert match, "the preview links to the review"
    return match.group(1)


def review_post(response, *, tick=None, untick=(), edits=None, new_county=(), new_program=()) -> dict:
    """The POST of the review form in ``response`` as a browser would send it: every field as shown, the
    default ticks, plus ``tick``/``untick`` (candidate indexes), ``edits`` ({index: {field: value}}) and
    the new counties and programs confirmed (indexes)."""
    formset = response.context["formset"]
    data = {f"{formset.prefix}-{key}": value for key, value in formset.management_form.initial.items()}
    for index, form in enumerate(formset.forms):
        for name in form.fields:  # every text field, empty or not, as a browser sends them
            if name not in ("accept", "new_county", "new_program"):
                value = form.initial.get(name)
                data[form.add_prefix(name)] = "" if value is None else str(value)
        ticked = (form.initial.get("accept") or index in (tick or ())) and index not in untick
        if ticked:
            data[form.add_prefix("accept")] = "on"
        if index in new_county:
            data[form.add_prefix("new_county")] = "on"
        if index in new_program:
            data[form.add_prefix("new_program")] = "on"
        for name, value in (edits or {}).get(index, {}).items():
            data[form.add_prefix(name)] = value
    return data


def rows_of(response):
    return [row for row, _form in response.context["pairs"]]


# ---------------------------------------------------------------------------
# Reading files: encodings, binary and empty files


def test_a_gbk_file_is_read_and_cleaned(editor_client, world):
    raw = ("您的位置首页  新闻\n" + ARTICLE + "分享:\n推荐阅读\n").encode("gbk")
    response = add(editor_client, **upload("article.txt", raw))
    assert response.status_code == 200
    draft = response.context["draft"]
    assert draft.encoding == "GB18030/GBK"
    assert draft.text == ARTICLE  # the breadcrumb and the sharing footer went, nothing else
    assert draft.script == "simplified"
    assert (draft.title, draft.publisher, draft.published) == ("阿里巴巴脱贫基金助力普安县", "人民网", "2021-06-01")
    html = response.content.decode()
    assert "GB18030/GBK" in html and "2.2万吨" in html and "推荐阅读" in html  # named among what was removed
    assert not Source.objects.filter(title=draft.title).exists()  # the preview saves nothing


def test_a_big5_html_file_is_read_and_cleaned(editor_client, world):
    response = add(editor_client, **upload("page.html", TRADITIONAL_PAGE.encode("big5")))
    assert response.status_code == 200
    draft = response.context["draft"]
    assert draft.encoding == "Big5"
    assert draft.script == "traditional"
    assert draft.title == "阿里巴巴脫貧基金在普安縣"  # the page's <title>
    assert draft.text == ("阿里巴巴脫貧基金在普安縣\n\n2019年,電商脫貧項目在普安縣培訓了三百名學員。\n\n"
                          "教育扶貧項目在獨山縣建成十所學校。\n")  # no script, style, navigation, footer or spam
    assert "Big5" in response.content.decode()


@pytest.mark.parametrize("name, data, message", [
    ("empty.txt", b"", "empty"),
    ("blank.txt", b" \r\n\t\n", "empty"),
    ("photo.txt", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "binary"),
    ("noise.txt", bytes(range(1, 32)) * 40 + "阿里巴巴".encode(), "binary"),
    ("report.docx", b"PK\x03\x04" + b"\x00" * 300, ".txt or .html"),
])
def test_a_binary_or_empty_file_is_refused_with_a_message_and_nothing_saved(editor_client, world, name, data,
                                                                               message):
    before = db_dump()
    response = add(editor_client, **upload(name, data))
    assert response.status_code == 200 and response.resolver_match.url_name == "add"
    errors = " ".join(response.context["form"].errors.get("file", []))
    assert message in errors, errors
    assert message in response.content.decode()
    assert db_dump() == before
    assert not editor_client.session.get("intake-drafts")


def test_the_encodings_are_told_apart():
    simplified, traditional = "普安县销售额达到100万元。", "普安縣銷售額達到100萬元。"
    assert intake.decode_article(simplified.encode("gbk")) == (simplified, "GB18030/GBK")
    assert intake.decode_article(traditional.encode("gbk")) == (traditional, "GB18030/GBK")
    assert intake.decode_article(traditional.encode("big5")) == (traditional, "Big5")
    assert intake.decode_article("\ufeff".encode() + simplified.encode()) == (simplified, "UTF-8")
    assert intake.decode_article(simplified.encode("utf-16")) == (simplified, "UTF-16")
    for path in ARTICLES:  # whole seed articles, each in the encoding of its script
        article = parse_article(path.read_text(encoding="utf-8"))
        encoding = "big5" if article["script"] == "traditional" else "gb18030"
        data = article["text"].encode(encoding, errors="ignore")  # Big5 lacks a few of 004's characters
        assert intake.decode_article(data) == (data.decode(encoding), "Big5" if encoding == "big5" else "GB18030/GBK")


def test_pasted_text_and_a_file_are_not_both_taken(editor_client, world):
    response = add(editor_client, text=ARTICLE, file=SimpleUploadedFile("a.txt", ARTICLE.encode()))
    assert "not both" in response.content.decode()
    response = add(editor_client, text="", title="x")
    assert "Paste the article" in response.content.decode()


# ---------------------------------------------------------------------------
# Cleaning: the seed articles' cleaning is this one


@pytest.mark.skipif(not RAW_DIR.exists(), reason="the raw articles (../shared/seeds) are not beside this checkout")
@pytest.mark.parametrize("path", ARTICLES, ids=lambda p: p.name)
def test_the_intake_cleans_the_seed_articles_as_they_were_cleaned(path):
    """One home for the cleaning: the intake turns each raw seed article into its committed text, byte for byte."""
    cleaned = intake.clean_article((RAW_DIR / path.name).read_text(encoding="utf-8"))
    article = parse_article(path.read_text(encoding="utf-8"))
    assert cleaned.text == article["text"]
    assert intake.detect_script(cleaned.text) == article["script"]
    assert intake.clean_article(cleaned.text).text == cleaned.text  # cleaning twice changes nothing


def test_what_the_cleaning_takes_out():
    raw = ("<center id=\"x\"></center>\n標題\n  創(chuàng)造(zào)了奇跡(jì)。\n• 标签:哥伦比亚内衣秀高清\n"
           "黑龙江快乐十分直播\n这个应用(app)很好用,彩票的故事讲了三年。\n责编:李文瑶\n分享:\n")
    cleaned = intake.clean_article(raw)
    assert cleaned.text == "標題\n  創造了奇跡。\n这个应用(app)很好用,彩票的故事讲了三年。\n责编:李文瑶\n"
    assert len(cleaned.removed) == 5  # the tag line, the pinyin, the tag footer, the spam, the share line
    assert "(app)" in intake.clean_article("一个(app)和两个(ok)。").text  # pinyin only when it is noise


def test_metadata_and_script_from_the_article():
    assert intake.guess_metadata("阿里集全生態力量助脫貧\n\n2018-10-17 16:42 人民網\n\n正文。") == {
        "title": "阿里集全生態力量助脫貧", "published": "2018-10-17", "publisher": "人民網"}
    assert intake.guess_metadata("第一句话很长,是正文。\n来源:新华社\n") == {"publisher": "新华社"}
    assert intake.detect_script("阿里巴巴脫貧基金在普安縣") == "traditional"
    assert intake.detect_script("阿里巴巴脱贫基金在普安县") == "simplified"


def test_the_kind_follows_the_tense_of_the_clause():
    text = "2020年,电商脱贫项目培训了300名学员。预计到2022年,还将培训500名学员。阿里巴巴将投入100亿元。"
    kinds = {c.printed: intake.guess_kind(c) for c in intake.propose(text, published="2021")}
    assert kinds == {"300名": "result", "500名": "target", "100亿元": "commitment"}


# ---------------------------------------------------------------------------
# Who may use it


def test_anyone_not_logged_in_is_sent_to_the_login(client, world):
    response = client.get(ADD)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_a_viewer_may_not_add_articles(viewer_client, world):
    assert viewer_client.get(ADD).status_code == 403
    assert viewer_client.post(ADD, {"text": ARTICLE}).status_code == 403
    assert viewer_client.get("/admin/intake/any/review/").status_code == 403
    assert f'href="{ADD}"' not in viewer_client.get("/admin/").content.decode()
    assert not Source.objects.filter(title="阿里巴巴脱贫基金助力普安县").exists()


def test_an_editor_finds_the_intake_on_the_admin_start_page(editor_client, world):
    assert editor_client.get(ADD).status_code == 200
    assert f'href="{ADD}"' in editor_client.get("/admin/").content.decode()


def test_an_unknown_draft_is_a_404(editor_client, world):
    assert editor_client.get("/admin/intake/nothing/review/").status_code == 404


# ---------------------------------------------------------------------------
# The review and accepting


def test_the_screens_speak_both_languages(editor_client, world):
    review = review_url(add(editor_client, text=ARTICLE))
    english = editor_client.get(review).content.decode()
    chinese = editor_client.get(review, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "Accept the ticked figures" in english and "As printed" in english
    assert "接受勾选的数字" in chinese and "报道原值" in chinese and "Accept the ticked" not in chinese
    assert "添加文章" in editor_client.get(ADD, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()


def test_the_review_proposes_each_figure_with_its_sentence_marked(editor_client, world):
    preview = add(editor_client, text=ARTICLE)
    response = editor_client.get(review_url(preview))
    rows = rows_of(response)
    assert [row.candidate.printed for row in rows] == ["2.2万吨", "300名", "10所"]
    assert all(row.checked for row in rows)
    html = response.content.decode()
    for row in rows:
        assert f'id="sentence-{row.candidate.quote_start}"' in html and f'id="figure-{row.index}"' in html
    assert "<strong>2.2万吨</strong>" in html
    assert re.search(r'<label for="id_figure-0-metric">', html)  # real, labelled controls
    assert rows[1].new_county.adcode == "422823"  # 巴东县: named, not a County yet
    assert "Add 巴东县 (422823, 湖北省)" in html
    assert response.context["formset"].forms[0].initial["program"] == "电商脱贫"  # shown by name


def test_accepting_creates_the_source_the_figures_and_the_confirmed_county_with_history(editor_client, editor_user,
                                                                                        world):
    preview = add(editor_client, text=ARTICLE, url="https://example.org/a")
    review = editor_client.get(review_url(preview))
    response = editor_client.post(review.request["PATH_INFO"], review_post(review, new_county={1}), follow=True)
    assert response.status_code == 200
    assert "3 figures recorded" in response.content.decode()
    source = Source.objects.get(url="https://example.org/a")
    assert (source.title, source.publisher, source.published_display) == (
        "阿里巴巴脱贫基金助力普安县", "人民网", "2021-06-01")
    outcomes = {o.value_printed: o for o in source.outcomes.all()}
    assert set(outcomes) == {"2.2万吨", "300名", "10所"}
    tons = outcomes["2.2万吨"]
    assert (tons.value, tons.unit, tons.program.slug, tons.county.slug) == (Decimal("22000"), "吨", "dianshangtuopin",
                                                                             "puan-xian")
    assert tons.period_display == "2020" and tons.quote in source.text
    assert outcomes["10所"].period_end == datetime.date(2020, 12, 1) and outcomes["10所"].period_start is None
    badong = outcomes["300名"].county
    assert (badong.name, badong.code, badong.kind) == ("巴东县", "422823", "xian")
    assert (badong.latitude, badong.longitude) == (division_by_code("422823").lat, division_by_code("422823").lon)
    assert (badong.province.name, badong.prefecture.name) == ("湖北省", "恩施土家族苗族自治州")
    assert outcomes["300名"].fund.slug == "alibabatuopin-jijin"
    for record in [source, badong, *outcomes.values()]:
        assert record.history.get().history_user == editor_user
    # the same page again: every figure is now shown as recorded, none can be accepted twice
    rows = rows_of(response)
    assert all(row.recorded for row in rows)
    assert 'name="figure-0-accept"' not in response.content.decode()


# “乡村春蕾计划” is quoted and named like a program, but no Program is called so.
NEW_PROGRAM_ARTICLE = (
    "春蕾在普安县\n\n"
    "2021-06-01 10:00 人民网\n\n"
    "2020年,“乡村春蕾计划”在普安县资助了300名女童。\n"
    "2021年,“乡村春蕾计划”在独山县资助了500名女童。\n"
    "2020年,电商脱贫项目帮助普安县销售农产品2.2万吨。\n"
)


def new_program_review(client):
    review = client.get(review_url(add(client, text=NEW_PROGRAM_ARTICLE)))
    rows = rows_of(review)
    assert [(row.candidate.printed, row.new_program) for row in rows] == [
        ("300名", "乡村春蕾计划"), ("500名", "乡村春蕾计划"), ("2.2万吨", "")]
    assert all(row.checked for row in rows)
    return review


def test_a_confirmed_new_program_is_created_and_linked_with_history(editor_client, editor_user, world):
    review = new_program_review(editor_client)
    assert "Add the new program “乡村春蕾计划”" in review.content.decode()
    data = review_post(review, new_program={0}, edits={0: {"new_program_area": "nvxing", "fund": "阿里巴巴脱贫基金"}})
    response = editor_client.post(review.request["PATH_INFO"], data, follow=True)
    assert "new programs: 乡村春蕾计划" in response.content.decode()
    program = Program.objects.get(name="乡村春蕾计划")
    assert (program.slug, program.area, program.fund) == ("xiangcunchunlei-jihua", "nvxing", world["tuopin"])
    assert program.history.get().history_user == editor_user
    outcomes = {o.value_printed: o for o in Outcome.objects.filter(source__title="春蕾在普安县")}
    assert outcomes["300名"].program == program
    assert outcomes["500名"].program is None  # not confirmed for this figure
    assert outcomes["2.2万吨"].program == world["dianshang"]
    assert not any(row.new_program for row in rows_of(response) if not row.recorded)  # a record now


def test_an_unconfirmed_new_program_is_not_created(editor_client, world):
    review = new_program_review(editor_client)
    response = editor_client.post(review.request["PATH_INFO"], review_post(review), follow=True)
    assert "3 figures recorded" in response.content.decode()
    assert not Program.objects.filter(name="乡村春蕾计划").exists()
    assert Outcome.objects.get(value_printed="300名", source__title="春蕾在普安县").program is None


def test_the_same_new_program_confirmed_twice_in_one_accept_is_one_program(editor_client, world):
    review = new_program_review(editor_client)
    programs = Program.objects.count()
    editor_client.post(review.request["PATH_INFO"], review_post(review, new_program={0, 1}))
    assert Program.objects.count() == programs + 1
    program = Program.objects.get(name="乡村春蕾计划")
    assert sorted(o.value_printed for o in program.outcomes.all()) == ["300名", "500名"]


def test_a_refused_figure_in_the_same_accept_creates_no_new_program(editor_client, world):
    review = new_program_review(editor_client)
    before = db_dump()
    edited = "2020年,电商脱贫项目帮助普安县销售农产品2.2万吨!"  # not what the article says
    response = editor_client.post(review.request["PATH_INFO"],
                                  review_post(review, new_program={0, 1}, edits={2: {"quote": edited}}))
    assert response.status_code == 400 and "Nothing was saved" in response.content.decode()
    assert db_dump() == before
    assert not Program.objects.filter(name="乡村春蕾计划").exists()


def test_accepting_a_quote_edited_out_of_the_article_is_refused_and_nothing_is_saved(editor_client, world):
    preview = add(editor_client, text=ARTICLE)
    review = editor_client.get(review_url(preview))
    before = db_dump()
    edited = "2020年,电商脱贫项目帮助普安县销售农产品2.2万吨!"  # not what the article says
    response = editor_client.post(review.request["PATH_INFO"],
                                  review_post(review, edits={0: {"quote": edited}}, new_county={1}))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Nothing was saved" in html and "not verbatim in the source" in html
    assert response.context["formset"].forms[0].errors["quote"]
    assert db_dump() == before  # not the source, not the county, not the two good figures either


def test_an_edited_quote_still_in_the_article_is_accepted(editor_client, world):
    preview = add(editor_client, text=ARTICLE)
    review = editor_client.get(review_url(preview))
    response = editor_client.post(review.request["PATH_INFO"], review_post(
        review, untick={1}, edits={0: {"quote": "帮助普安县销售农产品2.2万吨", "metric": "农产品销量", "unit": "吨"}}))
    assert response.status_code == 302
    outcome = Outcome.objects.get(value_printed="2.2万吨", quote="帮助普安县销售农产品2.2万吨")
    assert outcome.metric == "农产品销量"
    assert not County.objects.filter(code="422823").exists()  # not confirmed, not created


@pytest.mark.parametrize("edit, field, message", [
    ({"value": "23000"}, "value", "disagrees with printed form"),
    ({"program": "没有这个项目"}, "program", "No program is called"),
    ({"period_start": "2020-13"}, "period_start", "not a date"),
    ({"value_printed": "9.9万吨"}, "value_printed", "does not occur in the quote"),
])
def test_every_rule_of_a_figure_holds_on_accept(editor_client, world, edit, field, message):
    preview = add(editor_client, text=ARTICLE)
    review = editor_client.get(review_url(preview))
    before = Outcome.objects.count()
    response = editor_client.post(review.request["PATH_INFO"], review_post(review, edits={0: edit}))
    assert response.status_code == 400
    errors = " ".join(response.context["formset"].forms[0].errors.get(field, []))
    assert message in errors, response.context["formset"].forms[0].errors
    assert Outcome.objects.count() == before and not Source.objects.filter(title="阿里巴巴脱贫基金助力普安县").exists()


def test_a_figure_that_belongs_to_nothing_is_refused(editor_client, world):
    preview = add(editor_client, text=ARTICLE)
    review = editor_client.get(review_url(preview))
    response = editor_client.post(review.request["PATH_INFO"], review_post(
        review, edits={0: {"program": "", "county": ""}}))
    assert response.status_code == 400
    assert "belongs to nothing" in response.content.decode()


def test_resubmitting_the_same_article_makes_no_second_source_and_no_duplicate(editor_client, world):
    preview = add(editor_client, text=ARTICLE, url="https://example.org/b")
    review = editor_client.get(review_url(preview))
    assert editor_client.post(review.request["PATH_INFO"], review_post(review, untick={1})).status_code == 302
    assert Source.objects.filter(url="https://example.org/b").count() == 1
    counts = (Source.objects.count(), Outcome.objects.count())

    # the same text again, pasted anew: the preview and the review say it is recorded
    preview = add(editor_client, text=ARTICLE)
    assert "recorded already" in preview.content.decode()
    review = editor_client.get(review_url(preview))
    rows = rows_of(review)
    assert [row.recorded is not None for row in rows] == [True, False, True]
    data = review_post(review, tick={0, 1, 2})
    data["figure-0-accept"] = data["figure-2-accept"] = "on"  # even when a recorded one is sent ticked
    assert editor_client.post(review.request["PATH_INFO"], data).status_code == 302
    assert Source.objects.count() == counts[0]
    assert Outcome.objects.count() == counts[1] + 1  # only 300名, which was not recorded
    assert Outcome.objects.filter(value_printed="2.2万吨", source__url="https://example.org/b").count() == 1

    # the same URL with a changed text: still the one source, its own text reviewed
    changed = ARTICLE.replace("10所学校", "10所乡村学校")
    preview = add(editor_client, text=changed, url="https://example.org/b")
    assert "its own text" in preview.content.decode()
    review = editor_client.get(review_url(preview))
    assert all(row.recorded for row in rows_of(review))
    assert Source.objects.count() == counts[0]


def test_a_long_article_is_reviewed_and_accepted_in_one_go(editor_client, world):
    """Each figure is some fifteen fields of the review form: 90 figures are more than Django's default limit of
    1,000 fields a request, which the settings raise."""
    text = "长文章\n\n" + "".join(f"2020年,电商脱贫项目在普安县培训了{100 + n}名学员。\n" for n in range(90))
    review = editor_client.get(review_url(add(editor_client, text=text)))
    data = review_post(review)
    assert len(data) > 1000 and len(rows_of(review)) == 90
    assert editor_client.post(review.request["PATH_INFO"], data).status_code == 302
    assert Outcome.objects.filter(source__title="长文章").count() == 90


def test_accept_records_a_figure_once(world, editor_user):
    """The rule in the transaction itself: the same source, quote and value is recorded once."""
    draft = intake.make_draft(intake.read_article_text(ARTICLE))
    row = intake.review_rows(draft)[0]
    figure = intake.Figure(index=0, metric="销量", kind="result", value=Decimal("22000"), unit="吨",
                           value_printed="2.2万吨", qualifier="", quote=row.candidate.quote,
                           period_start=(None, ""), period_end=(None, ""), program=world["dianshang"])
    first = intake.accept(draft=draft, figures=[figure], user=editor_user)
    second = intake.accept(draft=draft, figures=[figure], user=editor_user)
    assert (len(first.created), len(second.created), len(second.already)) == (1, 0, 1)
    assert second.source == first.source and not second.source_created


# ---------------------------------------------------------------------------
# propose_figures


def test_propose_figures_prints_csv_and_writes_nothing(world, tmp_path):
    path = tmp_path / "article.txt"
    path.write_bytes(("分享:\n" + ARTICLE).encode("gbk"))
    before = db_dump()
    out = io.StringIO()
    call_command("propose_figures", str(path), "--date", "2021-06-01", stdout=out)
    assert db_dump() == before
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert list(rows[0])[:11] == ["quote", "printed", "value", "unit", "period_start", "period_end", "program",
                                  "fund", "county", "indicator", "confidence"]
    assert [(r["printed"], r["value"], r["unit"]) for r in rows] == [("2.2万吨", "22000", "吨"), ("300名", "300", "名"),
                                                                      ("10所", "10", "所")]
    first = rows[0]
    assert (first["program"], first["county"], first["period_end"]) == ("dianshangtuopin", "puan-xian", "2020")
    assert rows[1]["county"] == "" and rows[1]["county_code"] == "422823"  # named, not a County yet
    assert float(first["confidence"]) > 0.5


def test_propose_figures_dates_a_seed_article_by_its_header(tmp_path):
    path = SEEDS_DIR / "articles" / "000_63d2b1451f750324.txt"
    out = io.StringIO()
    call_command("propose_figures", str(path), stdout=out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(rows) > 10 and not any(r["quote"].startswith("slug:") for r in rows)
    assert any(r["printed"] == "100亿元" and r["period_start"] == "2017-12-01" for r in rows)


def test_propose_figures_refuses_what_is_not_an_article(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(CommandError, match="binary"):
        call_command("propose_figures", str(path), stdout=io.StringIO())
    with pytest.raises(CommandError, match="--date"):
        call_command("propose_figures", str(path), "--date", "June", stdout=io.StringIO())


# ---------------------------------------------------------------------------
# County codes and coordinates


def test_every_seed_county_has_its_code_and_coordinates_from_the_division_table():
    from tracker.seeding import read_seeds

    seeds = read_seeds()
    places = {r.data["slug"]: r.data["name"] for kind in ("provinces", "prefectures") for r in seeds.of(kind)}
    counties = seeds.of("counties")
    assert counties and all(re.fullmatch(r"\d{6}", row.data["code"]) for row in counties)
    assert check_division_codes(counties, places=places) == []
    puan = next(row for row in counties if row.data["slug"] == "puan-xian")
    assert (puan.data["code"], puan.data["latitude"], puan.data["longitude"]) == ("522323", "25.784135",
                                                                                   "104.953062")


def test_the_seed_check_catches_a_wrong_code():
    row = SeedRow("data/counties.yaml", 0, {"slug": "puan-xian", "name": "普安县", "province": "guizhou-sheng",
                                            "code": "522324", "latitude": "25.784135", "longitude": "104.953062"})
    problems = check_division_codes([row], places={"guizhou-sheng": "贵州省"})
    assert any("522324 is 晴隆县" in p for p in problems) and any("latitude" in p for p in problems)
    row.data.update(code="")
    assert check_division_codes([row], places={"guizhou-sheng": "贵州省"}) == [
        "data/counties.yaml: puan-xian: no division code; the table gives 522323 (普安县)"]


def test_the_county_resource_carries_the_code_and_fills_coordinates(world):
    world["puan"].code = "522323"
    world["puan"].save()
    dataset = CountyResource().export(County.objects.filter(slug="puan-xian"))
    assert {"code", "latitude", "longitude"} <= set(dataset.headers)
    assert dataset.dict[0]["code"] == "522323"
    # an import that gives the code without coordinates gets the table's
    rows = tablib.Dataset(headers=["slug", "name", "province", "prefecture", "code", "latitude", "longitude"])
    rows.append(["puan-xian", "普安县", "guizhou-sheng", "qianxinan-zhou", "522323", "", ""])
    result = CountyResource().import_data(rows, dry_run=False, raise_errors=True)
    assert not result.has_validation_errors()
    puan = County.objects.get(slug="puan-xian")
    assert (puan.latitude, puan.longitude) == (Decimal("25.784135"), Decimal("104.953062"))


def test_a_county_code_is_six_digits_and_coordinates_come_in_pairs(world):
    county = world["puan"]
    county.code, county.latitude = "52232", Decimal("25.7")
    errors = county.rule_errors()
    assert set(errors) == {"code", "latitude"}


def test_the_county_list_page_and_csv_show_the_code(client, world):
    County.objects.filter(pk=world["puan"].pk).update(code="522323")
    assert "522323" in client.get("/counties/puan-xian/").content.decode()
    listed = client.get("/counties/?sort=-code").content.decode()
    assert "<td class=\"nowrap\">522323</td>" in listed
    assert listed.index("/counties/puan-xian/") < listed.index("/counties/dushan-xian/")  # by code, codes first
    body = b"".join(client.get("/counties/?format=csv").streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert {r["slug"]: r["code"] for r in rows}["puan-xian"] == "522323"
    assert client.get("/counties/?format=json").json()["results"][0].keys() >= {"code", "latitude", "longitude"}


# ---------------------------------------------------------------------------
# The county map


def place(world, *names):
    for name in names:
        division = division_by_code({"puan": "522323", "dushan": "522726", "lushui": "533301"}[name])
        County.objects.filter(pk=world[name].pk).update(code=division.adcode, latitude=division.lat,
                                                        longitude=division.lon)


def dots(html: str) -> dict[str, str]:
    """County slug → the link around its dot."""
    return dict((slug, href) for href, slug in re.findall(
        r'<a href="([^"]+)" tabindex="-1"><circle class="map-point[^"]*" cx="[\d.]+" cy="[\d.]+" r="[\d.]+" '
        r'data-county="([a-z0-9-]+)"', html))


def test_the_county_map_has_a_point_per_county_each_a_link(client, world):
    place(world, "puan", "dushan")
    html = client.get("/counties/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert html.count('class="map-province"') >= 30  # China's provinces
    assert dots(html) == {"puan-xian": "/counties/puan-xian/", "dushan-xian": "/counties/dushan-xian/"}
    # the list for screen readers names all three, 泸水市 (no coordinates) as not drawn
    listed = re.search(r'<ul class="visually-hidden map-list">(.*?)</ul>', html, re.S).group(1)
    assert listed.count("<li>") == 3 and "/counties/lushui-shi/" in listed and "no coordinates" in listed
    # sized by the number of programs: 普安县 has three, 独山县 one
    sizes = {slug: float(r) for r, slug in re.findall(r'r="([\d.]+)" data-county="([a-z-]+)"', html)}
    assert sizes["puan-xian"] > sizes["dushan-xian"]


def test_the_map_follows_the_list_filters_and_shows_on_program_and_fund_pages(client, world):
    place(world, "puan", "dushan", "lushui")
    assert set(dots(client.get("/counties/?province=yunnan-sheng").content.decode())) == {"lushui-shi"}
    assert set(dots(client.get("/programs/dianshangtuopin/").content.decode())) == {"puan-xian", "dushan-xian"}
    assert set(dots(client.get("/funds/alibabatuopin-jijin/").content.decode())) == {"puan-xian", "dushan-xian"}
    assert dots(client.get("/programs/jiankangbaoxian/").content.decode()) == {}  # no county: no map


# ---------------------------------------------------------------------------
# The whole flow in a browser: paste, preview, review, accept 20 figures, see them on the public pages

FLOW_ARTICLE = "\n".join([
    "阿里巴巴脱贫基金的2020年",
    "",
    "2021-03-15 09:30 人民网",
    "",
    "2020年,电商脱贫项目在普安县培训了1200名电商学员。",
    "2020年,电商脱贫项目帮助普安县销售农产品2.2万吨。",
    "2020年,电商脱贫项目在普安县的农产品销售额达到3000万元。",
    "2020年,电商脱贫项目在独山县新开网店450家。",
    "2020年,电商脱贫项目带动独山县1.5万户农户增收。",
    "2020年,教育扶贫项目在独山县建成12所乡村学校。",
    "2020年,教育扶贫项目为普安县培训乡村教师800名。",
    "2020年,教育扶贫项目为独山县购置电脑560台。",
    "2020年,教育扶贫项目资助普安县贫困学生3200人。",
    "2020年,村播计划在泸水市举办直播1800场。",
    "2020年,村播计划在泸水市的直播观看达到450万人次。",
    "2020年,村播计划带动泸水市农产品销售额1.2亿元。",
    "2020年,村播计划在泸水市培训村播主播260名。",
    "2020年,热土计划在普安县种植茶叶6000亩。",
    "2020年,热土计划为普安县引进企业35家。",
    "2020年,热土计划在普安县建设冷库8座。",
    "2020年,阿里巴巴脱贫基金向普安县投入资金5000万元。",
    "2020年,阿里巴巴脱贫基金在独山县帮扶贫困户2600户。",
    "2020年,阿里巴巴脱贫基金为泸水市提供健康保险9万份。",
    "2020年,阿里巴巴脱贫基金在泸水市资助医生120名。",
    "会上,大家谈了很多,有三个人发了言。",
    "据说还有几十个村子在等待。",
])
FLOW_FIGURES = 20


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_paste_review_accept_twenty_figures_and_see_them_published(live_server, chromium_page,
                                                                   django_user_model):
    build_world()
    # A transactional test's database was emptied by the one before, the roles the migration made with it:
    # the editor role's rights on the records again (view, add, change).
    editor_role, _ = Group.objects.get_or_create(name="editor")
    editor_role.permissions.add(*Permission.objects.filter(
        content_type__app_label__in=("programs", "counties", "envoys"), codename__regex=r"^(view|add|change)_"))
    editor = django_user_model.objects.create_user(username="editor", password="editor-password", is_staff=True)
    editor.groups.add(editor_role)
    page = chromium_page
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.get_by_label("用户名").fill("editor")
    page.get_by_label("密码").fill("editor-password")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/admin/")
    page.loads.clear()  # counted from the admin's start page

    clicks = 0

    def click(locator):
        nonlocal clicks
        clicks += 1
        with page.expect_navigation():
            locator.click()

    click(page.get_by_role("link", name="添加文章"))
    page.get_by_label("文章正文").fill(FLOW_ARTICLE)  # a paste: no number is typed anywhere
    screenshot(page, "intake-1-add")
    click(page.get_by_role("button", name="预览文本"))
    assert "阿里巴巴脱贫基金的2020年" in page.locator(".intake-facts").inner_text()  # title, date, outlet guessed
    assert "2021-03-15" in page.locator(".intake-facts").inner_text()
    screenshot(page, "intake-2-preview")
    click(page.get_by_role("link", name="审核数字"))
    ticked = page.locator("input[type=checkbox][name$='-accept']:checked")
    assert ticked.count() == FLOW_FIGURES  # the 20 sure ones; 三个人 and 几十个 are left unticked
    assert page.locator("mark.intake-sentence").count() == 22
    screenshot(page, "intake-3-review", full_page=False)
    # the keyboard reaches the first figure's box and its fields in order
    page.locator("#id_figure-0-accept").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "id_figure-0-metric"
    click(page.get_by_role("button", name="接受勾选的数字").first)
    assert "20 个数字已记录" in page.locator(".messagelist").inner_text()
    screenshot(page, "intake-4-accepted", full_page=False)
    click(page.get_by_role("link", name="在文章页面上查看"))
    assert page.url.startswith(f"{live_server.url}/sources/")
    assert page.locator(".figure-list li").count() == FLOW_FIGURES
    assert page.locator("mark.quote").count() == FLOW_FIGURES
    screenshot(page, "intake-5-source")
    click(page.get_by_role("link", name=re.compile("CSV 或 JSON")))
    assert int(page.locator(".count").get_attribute("data-count")) == FLOW_FIGURES
    assert "1.2亿元" in page.content()

    loads = len(page.loads)
    (ROOT / "test-artifacts" / "browser" / "intake-flow.txt").write_text(
        f"clicks {clicks}\npage loads {loads}\n" + "\n".join(page.loads) + "\n", encoding="utf-8")
    assert clicks == 6 and loads == 6, (clicks, page.loads)
    assert Outcome.objects.filter(source__title="阿里巴巴脱贫基金的2020年").count() == FLOW_FIGURES
    assert page.console_errors == [], page.console_errors
