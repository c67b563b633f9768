"""The admin for every model: editors edit, viewers look, anonymous users get the login page.

Counties and envoys are covered here too, so that "every model" is one parametrised list.
"""

import pytest
from django.urls import reverse

from core.testing.admin import admin_url, form_data
from counties.models import County, Prefecture, Province
from envoys.models import Envoy, Posting
from programs.models import Fund, Organization, Outcome, Program, Source

# model, the world key of its record, a search term that must find it (Chinese, traditional, pinyin …)
MODELS = [
    (Source, "source", "脱贫文章"),
    (Fund, "fund", "脫貧基金"),  # traditional script finds the simplified name
    (Organization, "organization", "淘宝"),
    (Program, "program", "热土"),
    (Outcome, "outcome", "帮助3000人"),  # the quote
    (Province, "province", None),
    (Prefecture, "prefecture", None),
    (County, "county", "普安"),
    (Envoy, "envoy", "明哥"),
    (Posting, "posting", "副县长"),
]
IDS = [model.__name__ for model, *_ in MODELS]


@pytest.mark.parametrize("model,key,term", MODELS, ids=IDS)
def test_editor_sees_changelist_add_and_change_pages(editor_client, world, model, key, term):
    obj = world[key]
    changelist = editor_client.get(admin_url(model, "changelist"))
    assert changelist.status_code == 200
    assert obj.pk in [row.pk for row in changelist.context["cl"].result_list]
    assert editor_client.get(admin_url(model, "add")).status_code == 200
    change = editor_client.get(admin_url(model, "change", obj.pk))
    assert change.status_code == 200
    assert 'name="_save"' in change.content.decode()
    assert f'name="loaded_version" value="{obj.version}"' in change.content.decode()
    assert editor_client.get(admin_url(model, "history", obj.pk)).status_code == 200


@pytest.mark.parametrize("model,key,term", MODELS, ids=IDS)
def test_search_finds_the_record(editor_client, world, model, key, term):
    obj = world[key]
    term = term or obj.name
    response = editor_client.get(admin_url(model, "changelist"), {"q": term})
    assert response.status_code == 200
    assert obj.pk in [row.pk for row in response.context["cl"].result_list]
    missing = editor_client.get(admin_url(model, "changelist"), {"q": "没有这个词"})
    assert list(missing.context["cl"].result_list) == []


def test_search_by_pinyin(editor_client, world):
    response = editor_client.get(admin_url(Program, "changelist"), {"q": "retu"})
    assert [row.pk for row in response.context["cl"].result_list] == [world["program"].pk]


@pytest.mark.parametrize("model,key,term", MODELS, ids=IDS)
def test_viewer_sees_but_cannot_change(viewer_client, world, model, key, term):
    obj = world[key]
    assert viewer_client.get(admin_url(model, "changelist")).status_code == 200
    change = viewer_client.get(admin_url(model, "change", obj.pk))
    assert change.status_code == 200
    assert 'name="_save"' not in change.content.decode()
    assert viewer_client.get(admin_url(model, "add")).status_code == 403
    post = viewer_client.post(admin_url(model, "change", obj.pk), {})
    assert post.status_code == 403
    assert viewer_client.get(admin_url(model, "import")).status_code == 403
    assert viewer_client.get(admin_url(model, "export")).status_code == 200


@pytest.mark.parametrize("model,key,term", MODELS, ids=IDS)
def test_anonymous_is_sent_to_login(client, world, model, key, term):
    obj = world[key]
    for url in (admin_url(model, "changelist"), admin_url(model, "add"), admin_url(model, "change", obj.pk),
                admin_url(model, "import"), admin_url(model, "export"), admin_url(model, "history", obj.pk)):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login"))
    assert client.post(admin_url(model, "change", obj.pk), {}).status_code == 302
    assert obj.__class__.objects.get(pk=obj.pk).version == obj.version


def test_editor_cannot_delete(editor_client, world):
    program = world["program"]
    assert editor_client.get(admin_url(Program, "delete", program.pk)).status_code == 403


def test_changelist_has_facets_and_links_to_site(editor_client, world):
    response = editor_client.get(admin_url(Program, "changelist"))
    assert response.context["cl"].add_facets
    change = editor_client.get(admin_url(Program, "change", world["program"].pk))
    assert "viewsitelink" in change.content.decode()


def test_program_page_edits_its_counties_and_outcomes(editor_client, world):
    page = editor_client.get(admin_url(Program, "change", world["program"].pk)).content.decode()
    assert "puan-jiuye" in page  # the outcome inline
    assert "普安县" in page  # the counties inline


def test_source_page_lists_outcomes_citing_it(editor_client, world):
    page = editor_client.get(admin_url(Source, "change", world["source"].pk)).content.decode()
    assert "puan-jiuye" in page


def test_county_page_lists_designations(editor_client, world):
    page = editor_client.get(admin_url(County, "change", world["county"].pk)).content.decode()
    assert "普安县是国家级贫困县" in page


def test_envoy_page_lists_postings(editor_client, world):
    page = editor_client.get(admin_url(Envoy, "change", world["envoy"].pk)).content.decode()
    assert "wang-xiaoming-puan-xian" in page


def test_autocomplete_answers_for_every_foreign_key(editor_client, world):
    url = reverse("admin:autocomplete")
    response = editor_client.get(url, {"term": "普安", "app_label": "programs", "model_name": "outcome",
                                       "field_name": "county"})
    assert response.status_code == 200
    assert [item["text"] for item in response.json()["results"]] == ["普安县"]


# ---------------------------------------------------------------------------
# Saving: partial dates, versions, no lost updates, history


def test_an_edit_keeps_the_date_precision_and_bumps_the_version(editor_client, world):
    program = world["program"]
    url = admin_url(Program, "change", program.pk)
    data = form_data(editor_client.get(url))
    data.update({"start": "2019", "end": "2021-06", "summary": "改过的简介"})
    response = editor_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    program.refresh_from_db()
    assert (program.start_display, program.end_display, program.summary) == ("2019", "2021-06", "改过的简介")
    assert program.version == 2
    assert [c.slug for c in program.counties.all()] == ["puan-xian"]  # the inline kept its county


def test_a_bad_partial_date_is_a_form_error(editor_client, world):
    program = world["program"]
    url = admin_url(Program, "change", program.pk)
    data = form_data(editor_client.get(url))
    data["start"] = "2019-13"
    response = editor_client.post(url, data)
    assert response.status_code == 200
    assert "start" in response.context["adminform"].form.errors


def test_saving_an_unchanged_form_changes_nothing(editor_client, world):
    fund = world["fund"]
    url = admin_url(Fund, "change", fund.pk)
    before = fund.history.count()
    assert editor_client.post(url, form_data(editor_client.get(url))).status_code == 302
    fund.refresh_from_db()
    assert fund.version == 1
    assert fund.history.count() == before


@pytest.mark.parametrize("model,key,field,first,second", [
    (Fund, "fund", "summary", "我先改的", "我后改的"),
    (Program, "program", "summary", "我先改的", "我后改的"),
    (Outcome, "outcome", "note", "我先改的", "我后改的"),
    (County, "county", "note", "我先改的", "我后改的"),
    (Envoy, "envoy", "summary", "我先改的", "我后改的"),
])
def test_concurrent_edits_the_second_save_is_refused(editor_client, second_editor_client, world,
                                                     model, key, field, first, second):
    obj = world[key]
    url = admin_url(model, "change", obj.pk)
    mine = form_data(editor_client.get(url))
    theirs = form_data(second_editor_client.get(url))
    mine[field] = first
    theirs[field] = second
    assert editor_client.post(url, mine).status_code == 302
    refused = second_editor_client.post(url, theirs)
    assert refused.status_code == 200
    page = refused.content.decode()
    assert "Someone else changed this record since you opened it" in page
    obj.refresh_from_db()
    assert (getattr(obj, field), obj.version) == (first, 2)
    # Opening it again shows the first edit, and saving from there works.
    again = form_data(second_editor_client.get(url))
    again[field] = second
    assert second_editor_client.post(url, again).status_code == 302
    obj.refresh_from_db()
    assert (getattr(obj, field), obj.version) == (second, 3)


def test_a_stale_inline_row_is_refused(editor_client, second_editor_client, world):
    """Two people on the program page; the other changed an outcome shown in the inline."""
    program, outcome = world["program"], world["outcome"]
    url = admin_url(Program, "change", program.pk)
    mine = form_data(editor_client.get(url))
    outcome.note = "别人改的"
    outcome.version += 1
    outcome.save()
    prefix = next(key for key in mine if key.endswith("-note") and key.startswith("outcomes-"))
    mine[prefix] = "我改的"
    response = editor_client.post(url, mine)
    assert response.status_code == 200
    assert "Someone else changed this record since you opened it" in response.content.decode()
    outcome.refresh_from_db()
    assert outcome.note == "别人改的"


def test_the_race_after_the_form_check_still_refuses(editor_client, world, monkeypatch):
    """Both passed the form's check; the conditional update lets only one write."""
    from core.admin_tools import RecordForm

    fund = world["fund"]
    url = admin_url(Fund, "change", fund.pk)
    data = form_data(editor_client.get(url))
    data["summary"] = "晚到的"
    original_clean = RecordForm.clean

    def clean_then_someone_saves(form):
        cleaned = original_clean(form)
        Fund.objects.filter(pk=fund.pk).update(version=5, summary="抢先的")
        return cleaned

    monkeypatch.setattr(RecordForm, "clean", clean_then_someone_saves)
    response = editor_client.post(url, data)
    assert response.status_code == 302
    assert response["Location"] == url  # back to the record as it now is, with a message
    fund.refresh_from_db()
    # (The simulated other save ran inside this request's transaction, so it was rolled back
    # with it; what matters is that "晚到的" was not written over it.)
    assert fund.summary != "晚到的"


def test_history_shows_who_changed_which_field_from_what_to_what(editor_client, world):
    fund = world["fund"]
    url = admin_url(Fund, "change", fund.pk)
    data = form_data(editor_client.get(url))
    data["summary"] = "新的简介"
    editor_client.post(url, data)
    record = fund.history.first()
    assert (record.history_user.username, record.history_type) == ("editor", "~")
    page = editor_client.get(admin_url(Fund, "history", fund.pk)).content.decode()
    assert "新的简介" in page and "editor" in page


def test_history_keeps_many_to_many_changes(editor_client, world, make_county):
    program = world["program"]
    other = make_county(name="望谟县", slug="wangmo-xian")
    program.counties.add(other)
    record = program.history.first()
    assert sorted(row.county.slug for row in record.counties.all()) == ["puan-xian", "wangmo-xian"]
    page = editor_client.get(admin_url(Program, "history", program.pk)).content.decode()
    assert "counties" in page


# ---------------------------------------------------------------------------
# History pages are read-only: no POST to them saves anything (a revert is an edit)


def history_form_url(obj, record):
    return admin_url(type(obj), "simple_history", obj.pk, record.history_id)


def history_form_data(response):
    """What the history page's form would send back, as form_data() does for a change form."""
    form = response.context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            data[name] = [str(v) for v in value]
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        else:
            data[name] = value
    return data


@pytest.mark.parametrize("model,key,field", [
    (Program, "program", "name"),
    (Outcome, "outcome", "value_printed"),
    (Fund, "fund", "name"),
])
def test_a_viewer_cannot_change_a_record_through_its_history_page(viewer_client, world, model, key, field):
    obj = world[key]
    records = obj.history.count()
    url = history_form_url(obj, obj.history.first())
    page = viewer_client.get(url)
    assert page.status_code == 200
    data = history_form_data(page)
    for version in (str(obj.version), ""):
        data.update({field: "999亿元", "loaded_version": version})
        assert viewer_client.post(url, data).status_code == 403
    fresh = model.objects.get(pk=obj.pk)
    assert (getattr(fresh, field), fresh.version) == (getattr(obj, field), obj.version)
    assert obj.history.count() == records


@pytest.mark.parametrize("loaded_version", ["", "1", "2"])
def test_an_editor_cannot_revert_through_the_history_page(editor_client, world, loaded_version):
    """Reverting would skip the version check (blank version) or move the version backwards."""
    fund = world["fund"]
    url = admin_url(Fund, "change", fund.pk)
    data = form_data(editor_client.get(url))
    data["summary"] = "第二版"
    assert editor_client.post(url, data).status_code == 302
    first = fund.history.earliest()
    page = editor_client.get(history_form_url(fund, first))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    data = history_form_data(page)
    data["loaded_version"] = loaded_version
    assert editor_client.post(history_form_url(fund, first), data).status_code == 403
    fund.refresh_from_db()
    assert (fund.summary, fund.version) == ("第二版", 2)


def test_a_history_list_accepts_no_post(viewer_client, editor_client, world):
    fund = world["fund"]
    assert editor_client.post(admin_url(Fund, "history", fund.pk), {"name": "x"}).status_code == 403


def test_a_change_without_the_version_it_was_opened_at_is_refused(editor_client, world):
    """A blank or missing ``loaded_version`` is stale, not a licence to skip the check."""
    fund = world["fund"]
    url = admin_url(Fund, "change", fund.pk)
    data = form_data(editor_client.get(url))
    data["summary"] = "没有版本号"
    for version in ("", None):
        if version is None:
            del data["loaded_version"]
        else:
            data["loaded_version"] = version
        response = editor_client.post(url, data)
        assert response.status_code == 200
        assert "Nothing was saved" in response.content.decode()
    fresh = Fund.objects.get(pk=fund.pk)
    assert (fresh.summary, fresh.version) == (fund.summary, 1)
