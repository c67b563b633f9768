"""The article intake: from a pasted or uploaded article to reviewed, quoted figures (issue 13).

The pure steps live here, in the order the screens (``tracker/admin.py``) and ``propose_figures`` run them:

1. :func:`read_article_file`: bytes of a ``.txt`` or ``.html`` file → text. UTF-8 (with or without a BOM),
   GB18030/GBK and Big5 are told apart by which decoding reads as Chinese text (:func:`decode_article`); a
   binary or empty file is refused with :class:`ArticleFileError`. HTML becomes its text (:func:`html_to_text`).
2. :func:`clean_article`: what is not the article goes (web boilerplate lines, lottery spam, lines of stray
   tags, a converting site's pinyin noise such as ``創(chuàng)造``), and what went is listed for the preview.
   The seed articles were cleaned by these same functions (``seeds/clean_articles.py``).
3. :func:`detect_script` and :func:`guess_metadata` (title, date and outlet from the article's first lines).
4. :func:`known_records` (what the proposer matches names against) and :func:`review_rows`: the proposer's
   candidates (``tracker.proposer``) with what is already recorded marked, ready for the review form.
5. :func:`accept`: the Source (when new), any new County or Program the staff member confirmed, and the
   Outcomes, in one transaction, each through ``full_clean`` (the rules every write runs:
   ``programs.services``), with history.
"""

from __future__ import annotations

import datetime
import re
import secrets
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from functools import cache
from html.parser import HTMLParser

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from opencc import OpenCC

from core.records import parse_partial_date, plain_decimal, slugify_zh
from counties.divisions import Division, division_by_code, simplified_char
from tracker.proposer import Candidate, Known, propose

MAX_FILE_BYTES = 5 * 1024 * 1024  # an article is tens of kilobytes; a file of megabytes is not one


class ArticleFileError(ValueError):
    """The file cannot be read as an article; the message says why, for the person who chose it."""


# ---------------------------------------------------------------------------
# 1. Reading a file: which encoding, text or HTML

# File types that are certainly not text, by their first bytes.
BINARY_SIGNATURES = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x1f\x8b",
                     b"Rar!", b"7z\xbc\xaf", b"\x00\x00\x01\x00", b"RIFF", b"\x7fELF", b"MZ")
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f\ufffd]")
ENCODING_LABELS = {"utf-8": "UTF-8", "utf-16": "UTF-16", "gb18030": "GB18030/GBK", "big5": "Big5"}


def _common_hanzi(char: str) -> bool:
    """A character of GB2312's first level (3,755 common simplified characters, bytes B0A1–D7F9) or of Big5's
    common characters (5,401 traditional ones, A440–C67E): what a correct decoding of a news article is
    nearly all made of, and a wrong one mostly is not."""
    for codec, low, high in (("gb2312", 0xB0A1, 0xD7F9), ("big5", 0xA440, 0xC67E)):
        try:
            code = int.from_bytes(char.encode(codec), "big")
        except UnicodeEncodeError:
            continue
        if low <= code <= high:
            return True
    return False


_PUNCTUATION = set("，。、；：？！“”‘’（）《》〈〉【】—…·「」『』％．～　－／")


def _score(text: str) -> float:
    """How much ``text`` reads as Chinese prose: 1 for ASCII, common punctuation and common characters, ½ for
    a rarer character, 0 for anything else (kana, bopomofo, box drawing, private use …), over its length."""
    if not text:
        return 0.0
    total = 0.0
    for char in text:
        if char.isascii() or char in _PUNCTUATION:
            total += 1
        elif "\u4e00" <= char <= "\u9fff":
            total += 1 if _common_hanzi(char) else 0.5
    return total / len(text)


def decode_article(data: bytes) -> tuple[str, str]:
    """``(text, encoding label)`` of an article's bytes: UTF-8 (BOM or not) or UTF-16 with a BOM when they
    decode; else whichever of GB18030 (which covers GBK and GB2312) and Big5 reads more as Chinese text
    (:func:`_score`: both accept most byte pairs, so decoding without an error does not settle it).
    Raises :class:`ArticleFileError` for an empty or a binary file, or one in none of these encodings."""
    if not data.strip():
        raise ArticleFileError(_("The file is empty: there is no article in it. Nothing was saved."))
    if len(data) > MAX_FILE_BYTES:
        raise ArticleFileError(_("The file is %(size)s MB; an article file may be %(limit)s MB at most. "
                                 "Nothing was saved.") % {"size": f"{len(data) / 2**20:.1f}",
                                                          "limit": MAX_FILE_BYTES // 2**20})
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = [("utf-16", data.decode("utf-16", errors="replace"))]
    elif data.startswith(BINARY_SIGNATURES) or b"\x00" in data[:4096]:
        raise ArticleFileError(_("This is a binary file (a document, an image or an archive), not the text of an "
                                 "article. Save the article as .txt or .html and upload that. Nothing was saved."))
    else:
        candidates = []
        try:
            candidates = [("utf-8", data.decode("utf-8-sig"))]
        except UnicodeDecodeError:
            for codec, label in (("gb18030", "gb18030"), ("cp950", "big5"), ("big5hkscs", "big5")):
                try:
                    text = data.decode(codec)
                except UnicodeDecodeError:
                    continue
                if label not in (c[0] for c in candidates):
                    candidates.append((label, text))
            candidates.sort(key=lambda c: _score(c[1]), reverse=True)  # stable: GB18030 wins a tie
    if not candidates:
        raise ArticleFileError(_("The file is not text in UTF-8, GB18030/GBK or Big5, so it cannot be read. "
                                 "Save it as UTF-8 text and upload it again. Nothing was saved."))
    label, text = candidates[0]
    text = text.lstrip("\ufeff")
    if CONTROL_CHARS.search(text) or _score(text) < 0.5:
        raise ArticleFileError(_("The file holds binary data, not the text of an article. Save the article as "
                                 ".txt or .html and upload that. Nothing was saved."))
    if not text.strip():
        raise ArticleFileError(_("The file is empty: there is no article in it. Nothing was saved."))
    return text, ENCODING_LABELS[label]


_SKIPPED_TAGS = {"script", "style", "noscript", "template", "head", "svg", "iframe", "object", "select", "button",
                 "form", "nav", "footer", "aside"}
_BLOCK_TAGS = {"p", "div", "section", "article", "header", "main", "h1", "h2", "h3", "h4", "h5", "h6", "li",
               "ul", "ol", "dl", "dt", "dd", "table", "tr", "blockquote", "pre", "figure", "figcaption", "hr",
               "address", "center"}


class _TextParser(HTMLParser):
    """The visible text of an HTML page: blocks on lines of their own, scripts, styles and page chrome
    (navigation, forms, footers) left out; the ``<title>`` kept apart."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self.skipping = 0
        self.in_title = False

    def handle_starttag(self, tag, attrs):
        if tag == "title":
            self.in_title = True
        elif tag in _SKIPPED_TAGS:
            self.skipping += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_startendtag(self, tag, attrs):
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag == "title":
            self.in_title = False
        elif tag in _SKIPPED_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data):
        if self.in_title:
            self.title.append(data)
        elif not self.skipping:
            self.parts.append(re.sub(r"[ \t\r\n\f]+", " ", data))


def html_to_text(markup: str) -> tuple[str, str]:
    """``(text, title)`` of an HTML page: its visible text, a paragraph a line, and its ``<title>``."""
    parser = _TextParser()
    parser.feed(markup)
    parser.close()
    lines = [line.strip(" ") for line in "".join(parser.parts).split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
    return text + "\n", " ".join("".join(parser.title).split())


_HTML_DOCUMENT = re.compile(r"^\s*(?:<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>])", re.IGNORECASE)


def looks_like_html(text: str, name: str = "") -> bool:
    """An ``.html``/``.htm`` file, or text that starts as an HTML document does."""
    return name.lower().endswith((".html", ".htm", ".xhtml")) or bool(_HTML_DOCUMENT.match(text))


@dataclass
class ArticleText:
    """An article as read from a file or a paste, before cleaning."""

    text: str
    encoding: str = ""  # "UTF-8", "GB18030/GBK", "Big5"; "" for pasted text
    html_title: str = ""  # the page's <title>, when it was HTML


def read_article_file(data: bytes, name: str = "", *, check_name: bool = True) -> ArticleText:
    """The text of an uploaded ``.txt`` or ``.html`` file (see :func:`decode_article`); ``check_name``: refuse
    a file whose name says it is something else (``.docx``, ``.pdf``)."""
    if check_name and name and not name.lower().endswith((".txt", ".text", ".html", ".htm", ".xhtml")):
        raise ArticleFileError(_("“%(name)s” is not a .txt or .html file. Save the article as text or HTML and "
                                 "upload that. Nothing was saved.") % {"name": name})
    text, encoding = decode_article(data)
    return read_article_text(text, name=name, encoding=encoding)


def read_article_text(text: str, *, name: str = "", encoding: str = "") -> ArticleText:
    """Pasted text (or a decoded file): HTML is turned into its text."""
    if looks_like_html(text, name):
        body, title = html_to_text(text)
        return ArticleText(body, encoding, title)
    return ArticleText(text, encoding)


# ---------------------------------------------------------------------------
# 2. Cleaning: only what is not the article goes

# The pinyin a converting site appended to each converted character: 創(chuàng) → 創. Read as noise only when
# the text has several such annotations with tone marks, so that an ordinary "(app)" or "(a)" stays.
_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňḿ"
PINYIN_NOISE = re.compile(rf"\((?:[a-zü]|[{_TONED}])+\)")
_TONED_NOISE = re.compile(rf"(?<=[\u4e00-\u9fff])\([a-zü{_TONED}]*[{_TONED}][a-zü{_TONED}]*\)")
PINYIN_NOISE_MINIMUM = 3
_DETONE = str.maketrans("āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňḿ", "aaaaeeeeiiiioooouuuuüüüünnm")
_SYLLABLE = re.compile(r"(?:[bpmfdtnlgkhjqxrzcsyw]|zh|ch|sh)?"
                       r"(?:iang|iong|uang|ang|eng|ing|ong|ian|iao|uai|uan|üan|ai|ei|ao|ou|an|en|in|un|ün|ia|ie|iu|ua|"
                       r"uo|ui|ue|üe|er|a|o|e|i|u|ü|ng|n|m)")


def _pinyin(match: re.Match) -> str:
    """An annotation that is one pinyin syllable goes; anything else in brackets, ``(app)``, stays."""
    return "" if _SYLLABLE.fullmatch(match.group()[1:-1].translate(_DETONE)) else match.group()
# A closing tag the converting site mangled, glued to the text: ``?!?/p>``.
MANGLED_TAG = re.compile(r"\?!\?/[a-zA-Z0-9]+>")
# A line of nothing but tags: ``<optgroup id="imsig"><small id="imsig"></small></optgroup>``.
TAG_ONLY_LINE = re.compile(r"^\s*(<[^>]+>\s*)+$")
# Lines the hosting site adds around an article, by how they begin (after any bullet): sharing buttons,
# "read more" lists, breadcrumbs, disclaimers, tag and editor footers, subscription offers. Bylines and
# 责编 lines are the article's and stay.
BOILERPLATE_STARTS = (
    "分享:", "分享：", "分享到", "推荐阅读", "推薦閱讀", "相关阅读", "相關閱讀", "相关文章", "相關文章", "相关新闻",
    "相關新聞", "免责声明", "免責聲明", "您的位置", "你的位置", "当前位置", "當前位置", "标签:", "标签：", "標籤:",
    "標籤：", "编辑:", "编辑：", "編輯:", "編輯：", "订阅下载", "訂閱下載", "扫一扫", "掃一掃", "打印本页", "打印本頁",
    "关闭窗口", "關閉窗口", "返回顶部", "返回頂部", "上一篇", "下一篇",
)
_BULLETS = " \u00a0\u3000\t•·●◆■▪-–—*>"
# Lottery and gambling advertisements a hacked page carries on a line of their own.
SPAM = re.compile(r"快乐十分|快樂十分|时时彩|時時彩|北京赛车|北京賽車|六合彩|百家乐|百家樂|博彩|娱乐城|娛樂城|"
                  r"棋牌|彩票|赌场|賭場|足彩|体彩|體彩|福彩|快三|11选5|11選5|真人娱乐|真人娛樂|老虎机|老虎機")
SPAM_LINE_MAX = 40


@dataclass
class Cleaned:
    """The article's text and what was taken out of it (one line each, for the preview)."""

    text: str
    removed: list[str] = field(default_factory=list)


def _boilerplate(line: str) -> bool:
    stripped = line.replace("\xa0", " ").strip().lstrip(_BULLETS)
    return stripped.startswith(BOILERPLATE_STARTS)


def _spam(line: str) -> bool:
    stripped = line.strip()
    return bool(SPAM.search(stripped)) and len(stripped) <= SPAM_LINE_MAX and not re.search("[。！？!?]", stripped)


def clean_article(raw: str) -> Cleaned:
    """The article without what is not the article (see the module docstring); ``removed`` says what went."""
    removed = []
    text = raw.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    toned = len(_TONED_NOISE.findall(text))
    if toned >= PINYIN_NOISE_MINIMUM:
        text, count = PINYIN_NOISE.subn(_pinyin, text)
        count -= sum(1 for m in PINYIN_NOISE.finditer(text))  # those kept were counted too
        removed.append(ngettext("%(count)s pinyin annotation a converting site added (創(chuàng) → 創)",
                                "%(count)s pinyin annotations a converting site added (創(chuàng) → 創)",
                                count) % {"count": f"{count:,}"})
    mangled = MANGLED_TAG.findall(text)
    if mangled:
        text = MANGLED_TAG.sub("", text)
        removed.append(ngettext("%(count)s mangled closing tag (%(example)s)", "%(count)s mangled closing tags "
                                "(%(example)s)", len(mangled)) % {"count": len(mangled), "example": mangled[0]})
    lines, tag_lines = [], 0
    for line in text.split("\n"):
        if TAG_ONLY_LINE.match(line):
            tag_lines += 1
            continue
        if _boilerplate(line) or _spam(line):
            removed.append(_("the line “%(line)s”") % {"line": line.strip()[:60]})
            continue
        lines.append(line.rstrip())
    # Table pipes a page left after its last paragraph: ``… |`` and a line of ``|``.
    pipes = False
    while lines and re.fullmatch(r"[\s|]*", lines[-1]) and "|" in lines[-1]:
        lines.pop()
        pipes = True
    if lines and re.search(r"\s\|$", lines[-1]):
        lines[-1] = re.sub(r"\s+\|$", "", lines[-1])
        pipes = True
    if pipes:
        removed.append(_("stray table pipes at the end"))
    if tag_lines:
        removed.insert(0, ngettext("%(count)s line of stray HTML tags", "%(count)s lines of stray HTML tags",
                                   tag_lines) % {"count": tag_lines})
    body = "\n".join(lines).strip("\n")
    body = re.sub(r"\n{3,}", "\n\n", body)
    return Cleaned(body + "\n" if body else "", removed)


# ---------------------------------------------------------------------------
# 3. Script and metadata


@cache
def _traditional_char(char: str) -> str:
    converted = _to_traditional().convert(char)
    return converted if len(converted) == 1 else char


@cache
def _to_traditional():
    return OpenCC("s2t")


def detect_script(text: str) -> str:
    """``"traditional"`` when more of the text's characters exist only in traditional script (們, 縣) than
    only in simplified (们, 县); else ``"simplified"``."""
    traditional = simplified = 0
    for char in text:
        if "\u4e00" <= char <= "\u9fff":
            if simplified_char(char) != char:
                traditional += 1
            elif _traditional_char(char) != char:
                simplified += 1
    return "traditional" if traditional > simplified else "simplified"


_DATE_LINE = re.compile(
    r"(?P<year>(?:19|20)\d{2})\s*[-年/.]\s*(?P<month>\d{1,2})\s*[-月/.]\s*(?P<day>\d{1,2})日?"
    r"(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?(?P<rest>.*)$"
)
_SOURCE_LINE = re.compile(r"^\s*(?:来源|來源|出处|出處)\s*[:：]\s*(?P<publisher>\S{2,20})")


def guess_metadata(text: str) -> dict[str, str]:
    """What the first lines say about the article: ``title`` (a short first line without a full stop),
    ``published`` (``2018-03-27`` from a date line such as ``2018-03-27 10:12 澎湃新闻``) and ``publisher``
    (the words after that date, or a ``来源:`` line). Only what is found is in the result."""
    guess: dict[str, str] = {}
    lines = [line.strip() for line in text.split("\n") if line.strip()][:8]
    if lines and len(lines[0]) <= 60 and not re.search(r"[。！？]$", lines[0]) and not _DATE_LINE.search(lines[0]):
        guess["title"] = lines[0]
    for line in lines:
        match = _DATE_LINE.search(line)
        if match and "published" not in guess and len(line) <= 60:
            try:
                day = datetime.date(int(match["year"]), int(match["month"]), int(match["day"]))
            except ValueError:
                continue
            guess["published"] = day.isoformat()
            rest = re.sub(r"^[\s|丨·来源來源:：]+", "", match["rest"]).strip()
            if 2 <= len(rest) <= 20 and not re.search(r"[，。,]", rest):
                guess.setdefault("publisher", rest)
        source = _SOURCE_LINE.match(line)
        if source:
            guess.setdefault("publisher", source["publisher"])
    return guess


# ---------------------------------------------------------------------------
# The draft: an article between its paste and its acceptance (kept in the staff member's session)


@dataclass
class Draft:
    """What the preview showed and the review works on. ``published`` is ``YYYY[-MM[-DD]]`` or ""."""

    text: str
    title: str = ""
    publisher: str = ""
    published: str = ""
    url: str = ""
    script: str = "simplified"
    removed: list[str] = field(default_factory=list)
    encoding: str = ""
    file_name: str = ""
    guessed: list[str] = field(default_factory=list)  # the fields filled from the article's first lines
    token: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    source_id: int | None = None  # the Source once accepted (or the one it already was)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Draft:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def make_draft(article: ArticleText, *, title="", publisher="", published="", url="", file_name="") -> Draft:
    """Clean the article and fill what the form left empty from its first lines."""
    cleaned = clean_article(article.text)
    guess = guess_metadata(cleaned.text)
    if article.html_title:
        guess["title"] = article.html_title  # a page's <title> names it better than its first line
    given = {"title": title, "publisher": publisher, "published": published}
    guessed = [name for name, value in given.items() if not value and guess.get(name)]
    values = {name: value or guess.get(name, "") for name, value in given.items()}
    return Draft(text=cleaned.text, url=url, script=detect_script(cleaned.text), removed=cleaned.removed,
                 encoding=article.encoding, file_name=file_name, guessed=guessed, **values)


def existing_source(*, text: str, url: str = ""):
    """The Source already recorded with this text (or this URL), or None: an article is recorded once."""
    from programs.models import Source

    texts = {text, text.strip(), text.strip() + "\n"} - {""}
    condition = Q(text__in=texts)
    if url:
        condition |= Q(url=url) | Q(url=url.rstrip("/")) | Q(url=url.rstrip("/") + "/")
    return Source.objects.filter(condition).order_by("pk").first()


# ---------------------------------------------------------------------------
# 4. Candidates for the review


def known_records() -> Known:
    """What the database holds, as the proposer's :class:`Known`: names and aliases of programs, funds,
    organizations, envoys, counties and indicators (one query each)."""
    from counties.models import County
    from envoys.models import Envoy
    from programs.models import Fund, Indicator, Organization, Program

    def pairs(model, *fields):
        rows = []
        for slug, *values in model.objects.order_by("pk").values_list("slug", *fields, "aliases"):
            names = [v for v in values[:-1] if v and len(v) >= 2] + [a.strip() for a in values[-1].splitlines()]
            rows.append((slug, [n for n in names if n]))
        return rows

    people = [(slug, names + ([nickname] if len(nickname) >= 3 else []))  # 县长 as a nickname would match anywhere
              for (slug, names), nickname in zip(pairs(Envoy, "name"),
                                                 Envoy.objects.order_by("pk").values_list("nickname", flat=True),
                                                 strict=True)]
    indicators = [(slug, [name, *(a.strip() for a in aliases.splitlines() if a.strip())], base_unit)
                  for slug, name, aliases, base_unit in
                  Indicator.objects.order_by("pk").values_list("slug", "name", "aliases", "base_unit")]
    return Known(programs=pairs(Program, "name"), funds=pairs(Fund, "name"),
                 organizations=pairs(Organization, "name"), people=people, counties=pairs(County, "name"),
                 indicators=indicators)


_TARGET_WORDS = re.compile(r"预计|預計|计划|計劃|将|將|目标|目標|力争|力爭|未来|未來|争取|爭取|拟|擬|有望")
_COMMITMENT_WORDS = re.compile(r"承诺|承諾|捐赠|捐贈|投入|出资|出資|设立|設立|成立")


def guess_kind(candidate: Candidate) -> str:
    """``target`` for a figure its clause plans or expects (预计, 将, 未来 …), ``commitment`` for money
    planned to be given (将投入, 承诺), else ``result`` (the tense of the article, as the seeds record it)."""
    before = candidate.quote[: max(0, candidate.start - candidate.quote_start)]
    clause = re.split(r"[，,；;：:]", before)[-1]
    if _TARGET_WORDS.search(clause):
        return "commitment" if candidate.unit == "元" and _COMMITMENT_WORDS.search(clause) else "target"
    return "result"


@dataclass
class ReviewRow:
    """One candidate on the review screen: the proposal, and the form's starting values."""

    index: int
    candidate: Candidate
    initial: dict
    recorded: object = None  # the Outcome already recording it, if any
    new_county: Division | None = None  # a division named here that is not a County yet
    new_program: str = ""  # a quoted program-like name here that is not a Program yet
    checked: bool = False  # ticked to accept by default


# A candidate is ticked by default when the proposer is this sure of it, it has an exact value and it is not
# recorded yet; the staff member unticks what is not a figure worth keeping.
CHECKED_CONFIDENCE = 0.75


def recorded_outcome(candidate: Candidate, outcomes) -> object:
    """The outcome among ``outcomes`` (of the same source) that already records this figure: the same value
    (or, without one, the same printed form) and a quote that is the candidate's sentence or a part of it."""
    for outcome in outcomes:
        same_value = (outcome.value == candidate.value if candidate.value is not None and outcome.value is not None
                      else outcome.value is None and candidate.value is None
                      and outcome.value_printed == candidate.printed)
        if same_value and outcome.quote and (outcome.quote in candidate.quote or candidate.quote in outcome.quote):
            at = candidate.quote.find(outcome.quote)
            inside = at < 0 or at <= candidate.start - candidate.quote_start < at + len(outcome.quote)
            if inside:
                return outcome
    return None


def review_rows(draft: Draft, *, known: Known | None = None, source=None) -> list[ReviewRow]:
    """The proposer's candidates for ``draft``, each with the review form's starting values; those that an
    outcome of ``source`` (the Source this article already is) records are marked as recorded."""
    from counties.models import County
    from programs.models import Program

    known = known if known is not None else known_records()
    candidates = propose(draft.text, published=draft.published or None, known=known)
    recorded = list(source.outcomes.all()) if source is not None else []
    known_codes = set(County.objects.exclude(code="").values_list("code", flat=True))
    new_names = {c.new_program for c in candidates if c.new_program and not c.program}
    known_programs = set(Program.objects.filter(name__in=new_names).values_list("name", flat=True))
    rows = []
    for index, candidate in enumerate(candidates):
        new_county = None
        if not candidate.county and candidate.division and candidate.division.adcode not in known_codes:
            new_county = candidate.division
        new_program = ""
        if candidate.new_program and not candidate.program and candidate.new_program not in known_programs:
            new_program = candidate.new_program
        initial = {
            "index": index,
            "metric": candidate.metric[:200],
            "value": plain_decimal(candidate.value) if candidate.value is not None else "",
            "unit": candidate.unit,
            "value_printed": candidate.printed,
            "qualifier": candidate.qualifier,
            "period_start": candidate.period_start,
            "period_end": candidate.period_end,
            "program": candidate.program,
            "fund": candidate.fund,
            "county": candidate.county,
            "indicator": candidate.indicator,
            "kind": guess_kind(candidate),
            "quote": candidate.quote,
        }
        match = recorded_outcome(candidate, recorded)
        checked = (match is None and candidate.value is not None and candidate.confidence >= CHECKED_CONFIDENCE
                   and bool(candidate.program or candidate.fund or candidate.county))
        initial["accept"] = checked
        rows.append(ReviewRow(index, candidate, initial, match, new_county, new_program, checked))
    return rows


# ---------------------------------------------------------------------------
# 5. Accepting: one transaction, every rule


@dataclass
class Figure:
    """One accepted figure as the review form cleaned it (links are records or None)."""

    index: int
    metric: str
    kind: str
    value: Decimal | None
    unit: str
    value_printed: str
    qualifier: str
    quote: str
    period_start: tuple  # (date | None, precision)
    period_end: tuple
    program: object = None
    fund: object = None
    county: object = None
    indicator: object = None
    new_county: str = ""  # a division code confirmed as a new County
    new_program: str = ""  # a name confirmed as a new Program (when ``program`` is None)
    new_program_area: str = ""  # its area (Program.Area; "" for other)


class AcceptError(Exception):
    """Nothing was saved: ``rows`` maps a candidate's index to ``{field: [messages]}``; ``general`` holds the
    problems of the article itself."""

    def __init__(self, rows: dict[int, dict[str, list[str]]], general: list[str] | None = None):
        super().__init__(rows, general)
        self.rows = rows
        self.general = general or []


@dataclass
class Accepted:
    source: object
    source_created: bool
    created: list
    already: list  # the figures already recorded (same source, quote and value), not recorded twice
    counties: list  # the counties created
    programs: list = field(default_factory=list)  # the programs created


def unique_slug(model, base: str, taken: set[str] | None = None) -> str:
    """``base`` (cut to 100 characters), or ``base-2``, ``base-3`` … : the first one no row of ``model`` has."""
    base = base[:100].strip("-") or "x"
    existing = set(model._base_manager.filter(slug__startswith=base).values_list("slug", flat=True))
    existing |= taken or set()
    if base not in existing:
        return base
    number = 2
    while f"{base}-{number}" in existing:
        number += 1
    return f"{base}-{number}"


def _errors(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {name: [str(m) for e in errors for m in e.messages] for name, errors in exc.error_dict.items()}
    return {"__all__": list(exc.messages)}


def _save(record, user):
    record._history_user = user  # simple_history: who made this change
    record.save()
    return record


def _place(model, user, **lookup_and_defaults):
    """A province or prefecture by name (created from the division table when it is not a record yet)."""
    defaults = lookup_and_defaults.pop("defaults")
    found = model.objects.filter(**lookup_and_defaults).first()
    if found:
        return found
    record = model(**lookup_and_defaults, **defaults, slug=unique_slug(model, slugify_zh(lookup_and_defaults["name"])))
    record.full_clean()
    return _save(record, user)


_COUNTY_KINDS = (("自治县", "zizhixian"), ("自治旗", "qi"), ("旗", "qi"), ("特区", "tequ"), ("市", "xianjishi"),
                 ("区", "qu"), ("县", "xian"))
_PREFECTURE_KINDS = (("自治州", "zizhizhou"), ("地区", "diqu"), ("盟", "meng"), ("市", "dijishi"))
_PROVINCE_KINDS = (("自治区", "zizhiqu"), ("特别行政区", "zizhiqu"), ("省", "sheng"), ("市", "zhixiashi"))


def _kind(name: str, kinds, default: str) -> str:
    return next((kind for suffix, kind in kinds if name.endswith(suffix)), default)


def create_county(division: Division, *, user):
    """A County for a county-level division of the table, with its code and coordinates (and its province
    and prefecture, when they are not records yet); the one with this code when there is one already."""
    from counties.models import County, Prefecture, Province

    existing = County.objects.filter(code=division.adcode).first()
    if existing:
        return existing, False
    province = _place(Province, user, name=division.province,
                      defaults={"kind": _kind(division.province, _PROVINCE_KINDS, "sheng")})
    prefecture = None
    if division.prefecture:
        prefecture = _place(Prefecture, user, name=division.prefecture, province=province,
                            defaults={"kind": _kind(division.prefecture, _PREFECTURE_KINDS, "dijishi")})
    county = County(name=division.name, kind=_kind(division.name, _COUNTY_KINDS, "xian"), province=province,
                    prefecture=prefecture, code=division.adcode, latitude=division.lat, longitude=division.lon,
                    slug=unique_slug(County, slugify_zh(division.name)))
    county.full_clean()
    return _save(county, user), True


def create_program(name: str, *, area: str = "", fund=None, user, taken: set[str]):
    """A Program called ``name`` (the one with this name when there is one already), with ``area`` and ``fund``
    when given; its slug from :func:`slugify_zh`, unique (``taken``: slugs given in this transaction)."""
    from programs.models import Area, Program

    existing = Program.objects.filter(name=name).first()
    if existing:
        return existing, False
    program = Program(name=name, area=area or Area.OTHER, fund=fund,
                      slug=unique_slug(Program, slugify_zh(name), taken))
    program.full_clean()
    taken.add(program.slug)
    return _save(program, user), True


def source_of(draft: Draft):
    """The Source ``draft`` already is: the one it was accepted into, or one with the same text or URL; or None."""
    from programs.models import Source

    if draft.source_id:
        found = Source.objects.filter(pk=draft.source_id).first()
        if found:
            return found
    return existing_source(text=draft.text, url=draft.url)


def source_for(draft: Draft, *, user):
    """The Source of the draft: the one already recorded (same text or URL), or a new one; and whether new."""
    from programs.models import Source

    found = source_of(draft)
    if found:
        return found, False
    published, precision = parse_partial_date(draft.published)
    source = Source(
        title=draft.title, publisher=draft.publisher, published=published, published_precision=precision,
        url=draft.url, script=draft.script, text=draft.text, original_file=draft.file_name[:200],
        slug=unique_slug(Source, slugify_zh(draft.title)[:80]),
        note=_("Added through the article intake.") + (" " + _("Removed: %(what)s.") % {
            "what": "; ".join(draft.removed)} if draft.removed else ""),
    )
    source.full_clean()
    return _save(source, user), True


def accept(*, draft: Draft, figures: list[Figure], user) -> Accepted:
    """Record the accepted figures of ``draft`` in one transaction: the Source when it is new, each County
    and Program confirmed as new (one per code or name, however many figures name it), then one Outcome per
    figure, each through ``full_clean`` (its quote verbatim in the source, its printed form in the quote, its
    value agreeing with it, a program, fund or county to belong to …) and with ``user`` in its history. A
    figure already recorded (same source, quote and value) is not recorded again. Raises
    :class:`AcceptError`, and nothing is saved, when any figure breaks a rule."""
    from programs.models import Outcome

    with transaction.atomic():
        try:
            source, source_created = source_for(draft, user=user)
        except ValidationError as exc:
            raise AcceptError({}, [f"{name}: {'; '.join(m)}" for name, m in _errors(exc).items()]) from None
        if not source_created:
            # Two accepts of one article at once (a double click) take turns here, so the second finds the
            # first one's figures recorded instead of recording them again.
            type(source).objects.select_for_update().only("pk").get(pk=source.pk)
        counties, created, already, problems, slugs = {}, [], [], {}, set()
        programs, program_slugs = {}, set()
        for figure in figures:
            name = " ".join(figure.new_program.split())
            if name and figure.program is None:
                if name not in programs:
                    try:
                        programs[name] = create_program(name, area=figure.new_program_area, fund=figure.fund,
                                                        user=user, taken=program_slugs)
                    except ValidationError as exc:
                        problems[figure.index] = {"program": [m for ms in _errors(exc).values() for m in ms]}
                        continue
                figure.program = programs[name][0]
            if figure.new_county and figure.county is None:
                division = division_by_code(figure.new_county)
                if division is None:
                    problems[figure.index] = {"county": [_("%(code)s is not a county-level division code.") % {
                        "code": figure.new_county}]}
                    continue
                if division.adcode not in counties:
                    try:
                        county, made = create_county(division, user=user)
                    except ValidationError as exc:
                        problems[figure.index] = {"county": [m for ms in _errors(exc).values() for m in ms]}
                        continue
                    counties[division.adcode] = (county, made)
                figure.county = counties[division.adcode][0]
            if Outcome.objects.filter(source=source, quote=figure.quote, value=figure.value,
                                      value_printed=figure.value_printed).exists():
                already.append(figure)
                continue
            outcome = Outcome(
                metric=figure.metric, kind=figure.kind, value=figure.value, unit=figure.unit,
                value_printed=figure.value_printed, qualifier=figure.qualifier, quote=figure.quote,
                period_start=figure.period_start[0], period_start_precision=figure.period_start[1],
                period_end=figure.period_end[0], period_end_precision=figure.period_end[1],
                program=figure.program, fund=figure.fund, county=figure.county, indicator=figure.indicator,
                source=source,
            )
            outcome.slug = unique_slug(Outcome, f"{source.slug[:60]}-{slugify_zh(figure.metric or 'figure')[:30]}",
                                       slugs)
            slugs.add(outcome.slug)
            try:
                outcome.full_clean()
            except ValidationError as exc:
                problems[figure.index] = _errors(exc)
                continue
            created.append(_save(outcome, user))
        if problems:
            raise AcceptError(problems)  # leaves the atomic block: the source, counties and outcomes go too
    return Accepted(source, source_created, created, already, [c for c, made in counties.values() if made],
                    [p for p, made in programs.values() if made])


__all__ = [
    "Accepted", "AcceptError", "ArticleFileError", "ArticleText", "Cleaned", "Draft", "Figure", "ReviewRow",
    "accept", "clean_article", "decode_article", "detect_script", "existing_source", "guess_kind", "guess_metadata",
    "html_to_text", "known_records", "make_draft", "propose", "read_article_file",
    "read_article_text", "review_rows", "source_of",
]
