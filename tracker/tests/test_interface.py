"""A finished interface (issue 15): every page and admin screen in Chinese, the admin in the site's name and
colours, quotes with one opening mark, titles, descriptions and Open Graph tags, the sitemap and robots.txt.

The translation checks come in three layers: the committed ``.po`` has a Chinese text for every msgid and
holds every msgid of the sources (``makemessages`` run on a copy of the project), the committed ``.mo`` says
what the ``.po`` says, and every admin and public page rendered in ``zh-hans`` shows no English msgid of
the ``.po`` and no English phrase from anywhere else (Django's, import-export's, axes' own strings).
The browser checks (narrow columns, print) are in ``test_interface_browser.py``.
"""

from __future__ import annotations

import gettext
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import polib
import pytest
from django.contrib import admin
from django.template import Context, Template
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from core import registry
from core.testing.admin import csv_bytes, export, upload

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "locale"
PO = LOCALE / "zh_Hans" / "LC_MESSAGES" / "django.po"
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


# ---------------------------------------------------------------------------
# The .po and .mo files


def catalog(language="zh_Hans", domain="django") -> polib.POFile:
    return polib.pofile(str(LOCALE / language / "LC_MESSAGES" / f"{domain}.po"))


def test_every_msgid_has_a_chinese_translation_and_none_is_fuzzy():
    po = catalog()
    untranslated = [entry.msgid for entry in po if not entry.obsolete and not entry.translated()]
    fuzzy = [entry.msgid for entry in po if not entry.obsolete and "fuzzy" in entry.flags]
    assert not untranslated, f"msgids without a Chinese msgstr in {PO.relative_to(ROOT)}: {untranslated}"
    assert not fuzzy, f"fuzzy entries (a guess by msgmerge, not a translation): {fuzzy}"
    assert not po.metadata_is_fuzzy
    assert po.metadata["Language"] == "zh_Hans" and po.metadata["Plural-Forms"].startswith("nplurals=1;")


def test_a_msgstr_keeps_the_placeholders_of_its_msgid():
    placeholder = re.compile(r"%\(\w+\)[sdif]|%[sdif]")
    wrong = []
    for entry in catalog():
        if entry.obsolete:
            continue
        wanted = sorted(placeholder.findall(entry.msgid))
        texts = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        for text in texts:
            if sorted(placeholder.findall(text)) != wanted and not (entry.msgid_plural and "%(" in entry.msgid):
                wrong.append((entry.msgid, text))
    assert not wrong


def sources_copy(tmp_path) -> Path:
    """The project's sources and locale files, without the virtualenv, data and artifacts."""
    copy = tmp_path / "project"
    skipped = {".git", ".venv", "seeds", "benchmarks", "test-artifacts", "staticfiles", "node_modules", "__pycache__"}
    shutil.copytree(
        ROOT, copy, symlinks=True,
        ignore=lambda folder, names: [n for n in names if n in skipped or n.endswith((".sqlite3", ".pyc"))],
    )
    return copy


@pytest.mark.skipif(shutil.which("xgettext") is None and os.environ.get("CI") != "true",
                    reason="needs gettext's xgettext (apt-get install gettext)")
def test_the_po_holds_every_msgid_of_the_sources(tmp_path):
    """``makemessages`` on a copy of the project finds no msgid the committed .po lacks (a text marked for
    translation but never extracted would show in English on the Chinese pages)."""
    copy = sources_copy(tmp_path)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-location", "--ignore=.venv",
         "--verbosity", "0"],
        cwd=copy, check=True, env={**os.environ, "SECRET_KEY": "makemessages-only"},
    )
    extracted = {(e.msgctxt, e.msgid) for e in polib.pofile(str(copy / "locale/zh_Hans/LC_MESSAGES/django.po"))
                 if not e.obsolete}
    committed = {(e.msgctxt, e.msgid) for e in catalog() if not e.obsolete}
    missing = sorted(msgid for _context, msgid in extracted - committed)
    assert not missing, (
        "msgids in the sources but not in locale/zh_Hans/LC_MESSAGES/django.po (run makemessages -l zh_Hans "
        f"-l en --no-location --ignore=.venv and translate them): {missing}"
    )


@pytest.mark.parametrize(("language", "domain"), [("zh_Hans", "django"), ("en", "django"), ("zh_Hans", "djangojs")])
def test_the_committed_mo_says_what_the_po_says(language, domain):
    """The .mo files are committed (a machine without gettext runs on them) and compiled again by `make run`
    and the Dockerfile: the committed ones must not lag behind the .po."""
    with open(LOCALE / language / "LC_MESSAGES" / f"{domain}.mo", "rb") as handle:
        compiled = gettext.GNUTranslations(handle)._catalog
    expected = {}
    for entry in catalog(language, domain):
        if entry.obsolete or "fuzzy" in entry.flags or not entry.translated():
            continue
        key = f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt else entry.msgid
        if entry.msgid_plural:
            for index, text in entry.msgstr_plural.items():
                expected[(key, int(index))] = text
        else:
            expected[key] = entry.msgstr
    compiled.pop("", None)  # the header
    assert compiled == expected, (
        f"locale/{language}/LC_MESSAGES/{domain}.mo is not the compiled .po: run "
        "`python manage.py compilemessages --ignore=.venv` and commit the .mo"
    )


# ---------------------------------------------------------------------------
# English left on a Chinese page

#: text inside these elements is code or data, not interface
CODE_TAGS = {"script", "style", "code", "pre", "kbd", "samp", "textarea"}
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
#: attributes a person reads (or hears)
READ_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt"}
META_READ = {"description", "og:title", "og:description", "og:site_name"}
#: an English phrase: two or more words, each a letter then lower-case letters ("View site", "Access attempts")
PHRASE = re.compile(r"\b[A-Za-z][a-z]+(?:['’][a-z]+)?(?:[ \u00a0]+[A-Za-z]?[a-z]+(?:['’][a-z]+)?)+\b")
#: a text that is one capitalised English word ("Axes", "Username"), or such a word of four letters or more
#: among Chinese ("Historical 县")
WORD = re.compile(r"^[A-Z][a-z]{2,}$")
WORD_AMONG = re.compile(r"(?<![A-Za-z0-9_./@-])[A-Z][a-z]{3,}(?![A-Za-z0-9_./@-])")
#: English that is right on a Chinese page: names of formats and encodings
ALLOWED = {"Excel", "Control", "Command", "Mac",  # Django's "按住 Control 键或 Mac 上的 Command 键"
           "Atom", "Python", "Frictionless", "Swagger"}  # names of formats and tools
BOOLEAN_ICON = re.compile(r"/admin/img/icon-(yes|no|unknown)\.svg$")


class ReadText(HTMLParser):
    """The texts of a page a reader meets: text nodes and read attributes, outside code, outside anything
    marked as another language (``lang="en"``: the language switch's "English") and outside data marked
    ``translate="no"`` (an import preview's cells, the file's codes such as ``simplified``)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, skipped)
        self.texts: list[str] = []

    @property
    def skipped(self):
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        lang = (attrs.get("lang") or "").lower()
        skipped = (self.skipped or tag in CODE_TAGS or bool(lang and not lang.startswith("zh"))
                   or attrs.get("translate") == "no")  # data as the file has it (an import's preview)
        if not skipped:
            for name in READ_ATTRIBUTES & attrs.keys():
                if name == "alt" and BOOLEAN_ICON.search(attrs.get("src") or ""):
                    continue  # Django's yes/no icons: alt="True" (Python's value, not a text), the icon says it
                self.texts.append(attrs[name] or "")
            if tag == "input" and (attrs.get("type") or "").lower() in {"submit", "button", "reset"}:
                self.texts.append(attrs.get("value") or "")
            if tag == "meta" and (attrs.get("name") or attrs.get("property")) in META_READ:
                self.texts.append(attrs.get("content") or "")
        if tag not in VOID_TAGS:
            self.stack.append((tag, skipped))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID_TAGS:
            self.stack.pop()

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                return

    def handle_data(self, data):
        if not self.skipped and data.strip():
            self.texts.append(data)


def read_texts(html: str) -> list[str]:
    parser = ReadText()
    parser.feed(html)
    parser.close()
    return [" ".join(text.split()) for text in parser.texts if text.strip()]


def project_msgids() -> tuple[list[str], set[str]]:
    """From the .po: the English fragments (two words or more, between placeholders) and the one-word msgids
    that must not be seen on a Chinese page; msgids translated as themselves are left out."""
    fragments, words = set(), set()
    placeholder = re.compile(r"%\(\w+\)[sdif]|%[sdif]|%%")
    for entry in catalog():
        if entry.obsolete or entry.msgstr == entry.msgid:
            continue
        for msgid in filter(None, (entry.msgid, entry.msgid_plural)):
            parts = [part.strip(" .,:;…—-()") for part in placeholder.split(msgid)]
            for part in parts:
                if len(re.findall(r"[A-Za-z]{2,}", part)) >= 2 and not re.search(r"[\u3400-\u9fff]", part):
                    fragments.add(" ".join(part.split()))
            if len(parts) == 1 and re.fullmatch(r"[A-Za-z]{3,}", parts[0]):
                words.add(parts[0].lower())
    return sorted(fragments, key=len, reverse=True), words


def english_left(html: str) -> list[str]:
    """What reads as English on a page meant to be Chinese: a msgid of the project's .po, an English phrase,
    or a lone capitalised English word. Empty when the page reads in Chinese."""
    fragments, words = project_msgids()
    found = []
    for text in read_texts(html):
        if any(fragment in text for fragment in fragments):
            found.append(f"msgid: {text}")
            continue
        bare = text.strip(" :*?.")
        if bare.lower() in words:
            found.append(f"msgid: {text}")
            continue
        phrases = [p for p in PHRASE.findall(text) if p not in ALLOWED]
        words_among = [w for w in WORD_AMONG.findall(text) if w not in ALLOWED]
        if phrases or words_among or (WORD.match(bare) and bare not in ALLOWED):
            found.append(f"English: {text}")
    return found


def test_the_english_detector_finds_msgids_phrases_and_words_but_not_code_or_other_languages():
    page = """<html lang="zh-Hans"><head><title>项目</title><meta name="description" content="Programs of the fund">
    </head><body><h1>Search every list</h1><p>Matches for 扶贫</p><input type="submit" value="Save and continue">
    <a title="View site">站点</a><th>Teapot</th><p>slug-like-data 2019</p><pre>curl https://x/?format=json</pre>
    <option lang="en">English</option><p>项目</p><code>Not Chinese at all</code><p>Excel</p><p>Historical 县</p>
    <img src="/static/admin/img/icon-yes.svg" alt="True"><img src="/static/x.svg" alt="True">
    <td translate="no">simplified</td><td>simplified</td></body></html>"""
    found = english_left(page)
    assert found == [
        "English: Programs of the fund",
        "msgid: Search every list",
        "msgid: Matches for 扶贫",
        "English: Save and continue",
        "English: View site",
        "English: Teapot",
        "English: Historical 县",
        "English: True",
        "msgid: simplified",
    ]
    assert english_left('<p lang="zh-Hans">项目</p><p>CSV UTF-8</p><td>dianshangtuopin</td>') == []


# ---------------------------------------------------------------------------
# Every admin page in Chinese


@pytest.fixture
def zh_admin(client, django_user_model, world):
    """A superuser (every admin page, auth and axes included) reading Chinese."""
    user = django_user_model.objects.create_superuser("chief", "chief@example.org", "chief-password")
    client.defaults.update(ZH)
    client.force_login(user)
    client.user = user
    return client


def admin_object(model):
    """The row whose change, history and delete pages are rendered (made for the few tables the world leaves empty)."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    makers = {
        AccessAttempt: lambda: AccessAttempt.objects.create(
            username="guest", ip_address="10.0.0.1", user_agent="Mozilla/5.0", get_data="", post_data="",
            http_accept="*/*", path_info="/admin/login/", failures_since_start=3),
        AccessLog: lambda: AccessLog.objects.create(
            username="guest", ip_address="10.0.0.1", user_agent="Mozilla/5.0", http_accept="*/*", path_info="/admin/"),
        AccessFailureLog: lambda: AccessFailureLog.objects.create(
            username="guest", ip_address="10.0.0.1", user_agent="Mozilla/5.0", http_accept="*/*",
            path_info="/admin/login/", locked_out=True),
    }
    obj = model._default_manager.order_by("pk").first()
    if obj is None and model in makers:
        obj = makers[model]()
    return obj


def admin_urls(model, model_admin, request) -> list[str]:
    """Every page of a model's admin a person opens with GET: changelist, add, change, history (the admin's
    and each version's), delete, import, export, a user's password."""
    obj = admin_object(model)
    urls = []
    for pattern in model_admin.get_urls():
        name = getattr(pattern, "name", None)
        if not name or name.endswith("process_import"):
            continue  # the confirm step of an import answers POST only (rendered below, posted)
        if name.endswith("_add") and not model_admin.has_add_permission(request):
            continue  # axes' logs are written by logins only: no add page
        regex = pattern.pattern.regex
        if obj is None and regex.groups:
            urls.append(f"(no {model._meta.label} to render its {name} page: add one to the world)")
            continue
        values = {"object_id": getattr(obj, "pk", None), "id": getattr(obj, "pk", None)}
        if "version_id" in regex.groupindex or (regex.groups == 2 and not regex.groupindex):
            values["version_id"] = obj.history.order_by("history_id").first().history_id
        if regex.groupindex:
            urls.append(reverse(f"admin:{name}", kwargs={key: values[key] for key in regex.groupindex}))
        else:  # django-simple-history's version page: (object, version), unnamed
            urls.append(reverse(f"admin:{name}", args=[values["object_id"], values.get("version_id")][:regex.groups]))
    return urls


def not_chinese(response, url) -> list[str]:
    """What is wrong with ``response`` as a Chinese page: its status, its language, the English on it."""
    if response.status_code != 200:
        return [f"{url}: status {response.status_code}"]
    html = response.content.decode()
    if not re.search(r'<html lang="zh-hans"', html, re.I):
        return [f"{url}: not marked zh-Hans"]
    return [f"{url}: {text}" for text in english_left(html)]


def assert_chinese(response, url):
    found = not_chinese(response, url)
    assert not found, "English on a Chinese page:\n" + "\n".join(found)


def admin_screens_outside_the_site() -> list[str]:
    """The staff screens under /admin/ that are not admin.site's own (the article intake), without arguments."""
    urls = []
    for entry in get_resolver().url_patterns:
        route = str(entry.pattern)
        if isinstance(entry, URLResolver) and route.startswith("admin/") and entry.app_name != "admin":
            urls += [f"/{route}{pattern.pattern}" for pattern in entry.url_patterns
                     if isinstance(pattern, URLPattern) and not pattern.pattern.regex.groups]
    return urls


def test_every_admin_page_reads_in_chinese(zh_admin, rf):
    request = rf.get("/admin/")
    request.user = zh_admin.user
    urls = [reverse("admin:index"), reverse("admin:password_change"), reverse("admin:password_change_done")]
    urls += admin_screens_outside_the_site()  # the article intake's first screen …
    urls += [reverse("admin:app_list", args=[label])
             for label in sorted({model._meta.app_label for model in admin.site._registry})]
    for model, model_admin in admin.site._registry.items():
        urls += admin_urls(model, model_admin, request)
        urls.append(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist") + "?q=扶贫")
    assert len(urls) > 100
    found = [url for url in urls if url.startswith("(")]
    found += [text for url in urls if not url.startswith("(") for text in not_chinese(zh_admin.get(url), url)]
    assert not found, "English on a Chinese page:\n" + "\n".join(found)


def test_every_admin_import_step_reads_in_chinese(zh_admin):
    """The export form's file, previewed (the confirm form and its table), confirmed (the changelist and its
    message), and a broken file (the list of problems)."""
    record_admins = [(m, a) for m, a in admin.site._registry.items() if hasattr(a, "process_import")]
    assert len(record_admins) >= 10
    for model, _model_admin in record_admins:
        exported = export(zh_admin, model).content
        preview = upload(zh_admin, model, exported)
        assert_chinese(preview, f"{model._meta.label} import preview")
        assert preview.context["confirm_form"], model
        broken = upload(zh_admin, model, csv_bytes(["slug", "nonsense"], [["Bad Slug", "x"], ["", "y"]]))
        assert_chinese(broken, f"{model._meta.label} import of a broken file")
        garbage = upload(zh_admin, model, b"\x00\x01binary")
        assert_chinese(garbage, f"{model._meta.label} import of a binary file")


def test_an_import_with_row_errors_lists_them_in_chinese(zh_admin):
    """A file with a bad number, an unknown reference, a stale version, a formula and a slug twice: every
    problem is listed in Chinese (the messages are English in core.importing; the admin translates them)."""
    import csv
    import html
    import io

    from django.apps import apps

    Outcome = apps.get_model("programs.Outcome")
    rows = list(csv.reader(io.StringIO(export(zh_admin, Outcome).content.decode("utf-8-sig"))))
    header, first, second = rows[0], rows[1], rows[2]
    twice = [first, second[:]]
    twice[1][header.index("slug")] = first[header.index("slug")]
    response = upload(zh_admin, Outcome, csv_bytes(header, twice))
    assert_chinese(response, "an import with a slug twice")
    assert "在此文件中出现了不止一次(第 2 行、第 3 行)" in html.unescape(response.content.decode())
    first[header.index("value")] = "三千x"
    first[header.index("county")] = "nowhere-xian"
    second[header.index("version")] = "99"
    second[header.index("period_start")] = "2019-13"
    response = upload(zh_admin, Outcome, csv_bytes(header, [first, second]))
    assert_chinese(response, "an import with row errors")
    page = html.unescape(response.content.decode())
    for text in ("'三千x' 不是数字", "未知的县 'nowhere-xian'", "导出此文件之后,有人修改了这条记录", "第 3 行",
                 "'2019-13' 不是日期"):
        assert text in page, text


@pytest.mark.parametrize(("english", "chinese"), [
    ("'三千x' is not a number", "'三千x' 不是数字"),
    ("unknown fund 'x'; unknown fund 'y'", "未知的基金 'x'; 未知的基金 'y'"),
    ("ambiguous prefecture '城关镇': it could be a, b; use the slug; unknown source 's'",
     "地区 '城关镇' 有歧义:可能是 a, b;请用 slug; 未知的来源 's'"),
    ("line 7", "第 7 行"),
    ("a rule's own message", "a rule's own message"),
])
def test_import_messages_are_shown_in_the_pages_language(english, chinese):
    from django.utils import translation

    from core.templatetags.admin_text import import_message

    with translation.override("zh-hans"):
        assert import_message(english) == chinese
    with translation.override("en"):
        assert import_message(english) == english


JS_CALL = re.compile(r"""\b(?P<function>gettext|ngettext|pgettext)\(\s*"""
                     r"""(?P<q>['"])(?P<first>(?:\\.|(?!(?P=q)).)*)(?P=q)"""
                     r"""(?:\s*,\s*(?P<q2>['"])(?P<second>(?:\\.|(?!(?P=q2)).)*)(?P=q2))?""")


def admin_javascript_msgids() -> set[str]:
    """The texts Django's admin JavaScript asks its catalogue for (``"context\x04text"`` for pgettext)."""
    import django

    found = set()
    for path in (Path(django.__file__).parent / "contrib/admin/static/admin/js").rglob("*.js"):
        if "vendor" in path.parts:
            continue
        for call in JS_CALL.finditer(path.read_text(encoding="utf-8")):
            first = call["first"].replace("\\'", "'").replace('\\"', '"')
            if call["function"] == "pgettext":
                found.add(f"{first}\x04{call['second']}")
            else:
                found.add(first)
    return found


def test_the_admins_javascript_reads_in_chinese(admin_client):
    """The texts the admin's widgets write with JavaScript (the permission chooser's "Choose all %s", the
    calendar's) come from /admin/jsi18n/: each has a Chinese text (Django's catalogue, or our djangojs.po)."""
    import json

    msgids = admin_javascript_msgids()
    assert {"Choose all %s", "Remove selected %s", "Today"} <= msgids
    body = admin_client.get("/admin/jsi18n/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    chinese = json.loads(re.search(r"const newcatalog = (\{.*?\});\n", body, re.S).group(1))
    missing = sorted(msgid for msgid in msgids if not chinese.get(msgid))
    assert not missing, f"the admin's JavaScript shows these in English: {missing}"


def test_the_login_pages_and_lockouts_read_in_chinese(client, django_user_model, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    client.defaults.update(ZH)
    django_user_model.objects.create_user("editor", password="right-password", is_staff=True)
    assert_chinese(client.get("/admin/login/?next=/admin/"), "login")
    wrong = {"username": "editor", "password": "wrong"}
    assert_chinese(client.post("/admin/login/?next=/admin/", wrong, REMOTE_ADDR="10.0.0.1"), "a wrong password")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post("/admin/login/?next=/admin/", wrong, REMOTE_ADDR="10.0.0.2")
    assert response.status_code == 429
    response.status_code = 200
    assert_chinese(response, "the account lock")
    for number in range(settings.AXES_ADDRESS_FAILURE_LIMIT):
        response = client.post("/admin/login/?next=/admin/", {"username": f"guess{number}", "password": "x"},
                               REMOTE_ADDR="10.0.0.3")
    assert response.status_code == 429
    response.status_code = 200
    assert_chinese(response, "the address lock")


# ---------------------------------------------------------------------------
# Every public page in Chinese


def public_page_urls() -> list[str]:
    """Every page of the URL map that takes no argument (home, lists, timeline, API …), outside the admin and
    the language switch, plus a record's page of every public list type and a filtered list."""
    urls = []

    def walk(patterns, prefix=""):
        for entry in patterns:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                if route.startswith(("admin/", "i18n/")):
                    continue
                walk(entry.url_patterns, route)
            elif isinstance(entry, URLPattern) and not entry.pattern.converters and not route.startswith("i18n/"):
                urls.append("/" + route.lstrip("^").rstrip("$"))

    walk(get_resolver().url_patterns)
    for record_type in registry.public_lists():
        record = record_type.model_class.objects.order_by("pk").first()
        assert record is not None, f"no {record_type.model} in the world to render its page"
        urls.append(record.get_absolute_url())
    urls += ["/?q=脱贫", "/programs/?province=guizhou-sheng&sort=-start", "/outcomes/?q=销售额",
             "/programs/?page=abc", "/no-such-page/"]
    return urls


def test_every_public_page_reads_in_chinese(client, world):
    client.defaults.update(ZH)
    urls = public_page_urls()
    assert len(urls) >= 2 * len(registry.public_lists()) + 1
    checked, found = 0, []
    for url in urls:
        response = client.get(url)
        if not response.get("Content-Type", "").startswith("text/html"):
            continue  # sitemap, robots.txt, healthz, openapi.json: for machines
        if response.status_code in (400, 404):
            response.status_code = 200  # the error pages are pages too
        found += not_chinese(response, url)
        checked += 1
    assert not found, "English on a Chinese page:\n" + "\n".join(found)
    assert checked >= 2 * len(registry.public_lists()) + 1


# ---------------------------------------------------------------------------
# The admin in the site's name and colours


def test_the_admin_carries_the_site_name_and_colours_not_djangos(zh_admin):
    page = zh_admin.get(reverse("admin:index")).content.decode()
    assert "<title>站点管理 | 乡村项目追踪</title>" in page or "| 乡村项目追踪</title>" in page
    assert re.search(r'<div id="site-name"><a href="/admin/">.*乡村项目追踪</a></div>', page)
    assert "Django" not in page and "Django 管理" not in page
    assert 'href="/static/css/admin-site.css"' in page
    zh_admin.logout()
    login = zh_admin.get("/admin/login/").content.decode()
    assert "乡村项目追踪" in login and "admin-site.css" in login
    admin_css = (ROOT / "static/css/admin-site.css").read_text(encoding="utf-8")
    site_css = (ROOT / "static/css/site.css").read_text(encoding="utf-8")
    for variable in ("--accent", "--accent-dark"):
        colour = re.search(rf"{variable}:\s*(#[0-9a-f]{{6}})", site_css).group(1)
        assert colour in admin_css, f"the admin does not use the site's {variable} {colour}"
    assert re.search(r"--header-bg:\s*#8c2f1b", admin_css)


# ---------------------------------------------------------------------------
# Quotes


@pytest.mark.parametrize(("text", "shown"), [
    ("投入100亿元", "“投入100亿元”"),
    ("“投入100亿元”", "“投入100亿元”"),
    ("“投入100亿元”，他说", "“投入100亿元”，他说"),
    ("“投入100亿元", "“投入100亿元”"),
    ("他说：“投入100亿元”", "“他说：“投入100亿元””"),
    ("「投入100億元」", "「投入100億元」"),
    ("「投入100億元", "「投入100億元」"),
    ("<b>&", "“&lt;b&gt;&amp;”"),
    ("", ""),
    (None, ""),
])
def test_quoted_adds_an_opening_mark_only_where_there_is_none(text, shown):
    rendered = Template("{% load pages %}{{ text|quoted }}").render(Context({"text": text}))
    assert rendered == shown


def test_templates_wrap_quotes_with_the_filter_only():
    """No <q> (the browser adds its own marks, a second pair before a quote that has one) and no mark written
    around a variable by hand: every quoted text goes through |quoted."""
    wrapped = re.compile(r"<q[\s>]|[“「]\{\{[^}]*\}\}[”」]")
    found = []
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        outside_translations = re.sub(r"\{% blocktranslate.*?\{% endblocktranslate %\}", "", text, flags=re.S)
        found += [f"{path.relative_to(ROOT)}: {match.group()}" for match in wrapped.finditer(outside_translations)]
    assert not found


def test_a_quote_that_opens_with_a_mark_is_shown_with_one(client, world, make_outcome):
    outcome = world["outcome"]
    source = outcome.source
    source.text += "他说“到2020年帮助3000人就业”。"
    source.save()
    make_outcome(program=world["program"], source=source, quote="“到2020年帮助3000人就业”",
                 value_printed="3000人", metric="就业人数", slug="quoted-already")
    page = client.get(world["program"].get_absolute_url(), **ZH).content.decode()
    assert "“到2020年帮助3000人就业”" in page
    assert "““" not in page and "””" not in page
    assert "<q>" not in page  # a <q> would add the browser's marks to ours


def test_the_home_search_heading_quotes_the_words_once(client, world):
    page = client.get("/", {"q": "“脱贫”"}, **ZH).content.decode()
    assert "“脱贫”的搜索结果" in page and "““" not in page
    page = client.get("/", {"q": "脱贫"}, **ZH).content.decode()
    assert "“脱贫”的搜索结果" in page


# ---------------------------------------------------------------------------
# Titles, descriptions, Open Graph


def head_meta(html: str) -> dict[str, str]:
    meta = {}
    for match in re.finditer(r'<meta (?:name|property)="([^"]+)" content="([^"]*)">', html):
        meta[match.group(1)] = match.group(2)
    title = re.search(r"<title>(.*?)</title>", html, re.S)
    meta["title"] = title.group(1).strip() if title else ""
    return meta


def test_every_public_page_has_a_title_description_and_open_graph(client, world):
    client.defaults.update(ZH)
    seen_descriptions = set()
    for url in public_page_urls():
        response = client.get(url)
        if not response.get("Content-Type", "").startswith("text/html"):
            continue
        meta = head_meta(response.content.decode())
        for key in ("title", "description", "og:title", "og:description", "og:type", "og:url"):
            assert meta.get(key), f"{url}: no {key}"
        assert meta["title"].endswith("· 乡村项目追踪"), url
        assert meta["title"].startswith(meta["og:title"]), url
        assert meta["og:url"].startswith("http://testserver/"), url
        assert len(meta["description"]) <= 200 and "<" not in meta["description"], url
        seen_descriptions.add(meta["description"])
    assert len(seen_descriptions) > len(registry.public_lists())  # not one sentence for every page


def test_a_record_page_is_an_article_with_its_own_title_and_description(client, world):
    program = world["program"]
    meta = head_meta(client.get(program.get_absolute_url(), **ZH).content.decode())
    assert meta["og:type"] == "article"
    assert meta["og:title"] == program.name
    assert meta["og:url"] == f"http://testserver{program.get_absolute_url()}"
    assert program.name in meta["description"] or program.summary[:20] in meta["description"]
    outcome = world["outcome"]
    meta = head_meta(client.get(outcome.get_absolute_url(), **ZH).content.decode())
    assert outcome.value_printed in meta["description"]
    home = head_meta(client.get("/", **ZH).content.decode())
    assert home["og:type"] == "website"
    listing = head_meta(client.get("/programs/", **ZH).content.decode())
    assert listing["og:type"] == "website" and listing["description"].startswith("项目")


# ---------------------------------------------------------------------------
# Sitemap and robots.txt

SITEMAP_NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}


def sitemap_locations(client, url) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200 and "xml" in response["Content-Type"]
    tree = ET.fromstring(response.content)
    return [loc.text for loc in tree.iterfind(".//s:loc", SITEMAP_NS)]


def test_the_sitemap_lists_every_record_of_every_public_list(client, world):
    sections = sitemap_locations(client, "/sitemap.xml")
    keys = [t.key for t in registry.public_lists()]
    assert [s.removeprefix("http://testserver/sitemap-").removesuffix(".xml") for s in sections] == ["pages", *keys]
    listed = set()
    for section in sections:
        listed.update(sitemap_locations(client, section.removeprefix("http://testserver")))
    for record_type in registry.public_lists():
        for record in record_type.model_class.objects.all():
            assert f"http://testserver{record.get_absolute_url()}" in listed, record
        assert f"http://testserver{reverse(record_type.list_url)}" in listed
    assert "http://testserver/" in listed
    for location in listed:
        assert client.get(location.removeprefix("http://testserver")).status_code == 200, location


def test_a_sitemap_section_says_when_each_record_changed_and_pages_by_limit(client, world, monkeypatch):
    program = world["program"]
    response = client.get("/sitemap-programs.xml")
    tree = ET.fromstring(response.content)
    entries = {u.findtext("s:loc", namespaces=SITEMAP_NS): u.findtext("s:lastmod", namespaces=SITEMAP_NS)
               for u in tree.iterfind("s:url", SITEMAP_NS)}
    # The day in the site's time zone (Asia/Shanghai), as the sitemap writes it, not the UTC day.
    day = timezone.localdate(program.updated_at)
    assert entries[f"http://testserver{program.get_absolute_url()}"] == day.isoformat()
    from tracker import sitemaps

    monkeypatch.setattr(sitemaps.RecordSitemap, "limit", 2)
    count = program.__class__.objects.count()
    assert count > 2
    pages = [loc for loc in sitemap_locations(client, "/sitemap.xml") if "sitemap-programs" in loc]
    assert len(pages) == (count + 1) // 2  # the index names every file of the section
    assert client.get("/sitemap-programs.xml?p=2").status_code == 200
    assert client.get(f"/sitemap-programs.xml?p={(count + 1) // 2 + 1}").status_code == 404


def test_robots_txt_allows_the_site_and_points_to_the_sitemap(client, db):  # db: the page cache reads the generation
    response = client.get("/robots.txt")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    lines = response.content.decode().splitlines()
    assert lines[0] == "User-agent: *"
    assert "Allow: /" in lines and "Disallow: /admin/" in lines
    assert "Sitemap: http://testserver/sitemap.xml" in lines
    assert "Disallow: /" not in lines
    assert client.post("/robots.txt").status_code == 405
