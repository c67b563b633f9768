"""The API's description (``/openapi.json``, core.openapi) holds for the real answers, and ``/api/`` explains it.

- the document is valid OpenAPI 3.1 (``openapi-spec-validator``) and describes every public list of the
  registry and its detail, with every filter of its FilterSet, its sort keys and paging;
- real answers (lists under many filters, sorts and pages, details, errors) over the seed data validate
  against the schema the document gives their path (``openapi-schema-validator``, JSON Schema 2020-12);
- a client written only from the document pages through every list;
- every detail page answers ``?format=json`` with the object its row in the list has;
- ``/api/`` reads in English and in Chinese.
"""

import json
import re
from html import unescape
from urllib.parse import urlencode, urlsplit

import pytest
from django.core.management import call_command
from django.db import transaction
from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate as validate_spec

from core import registry
from core.listing import json_key
from core.openapi import list_view_class

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """The seed data, loaded once for the module, rolled back after it."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            with open("/dev/null", "w") as quiet:
                call_command("load_seeds", stdout=quiet)
            yield
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def get_json(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), url
    return json.loads(response.content)


@pytest.fixture
def spec(client):
    return get_json(client, "/openapi.json")


# ---------------------------------------------------------------------------
# Reading the document as a client does: which operation a URL is, and its answer's schema


def operation_for(spec, url):
    """The path template of ``spec`` that ``url``'s path matches, and its GET operation."""
    path = urlsplit(url).path
    for template, item in spec["paths"].items():
        pattern = "^" + re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            return template, item["get"]
    raise AssertionError(f"{path} is not described in /openapi.json")


def answer_schema(spec, url, status):
    _template, operation = operation_for(spec, url)
    schema = operation["responses"][str(status)]["content"]["application/json"]["schema"]
    # The $refs point into the document: validate against a schema whose root carries its components.
    return {**schema, "components": spec["components"]}


def check(spec, url, body, status=200):
    OAS31Validator(answer_schema(spec, url, status), format_checker=OAS31Validator.FORMAT_CHECKER).validate(body)


# ---------------------------------------------------------------------------
# The document


def test_the_description_is_valid_openapi_31(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(0):  # built from code, not from rows
        response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    spec = json.loads(response.content)
    validate_spec(spec)  # raises on any error
    assert spec["openapi"].startswith("3.1")
    assert spec["servers"] == [{"url": "http://testserver"}]


def test_the_validator_refuses_a_broken_description(spec):
    broken = json.loads(json.dumps(spec))
    broken["paths"]["/programs/"]["get"]["parameters"][0]["in"] = "body"  # not a place a parameter can be
    with pytest.raises(Exception):  # noqa: B017 (the validator's own error classes vary by version)
        validate_spec(broken)


def test_every_public_list_and_its_detail_are_described_from_their_filterset(spec):
    for record_type in registry.public_lists():
        view_class = list_view_class(record_type)
        list_path = f"/{record_type.key}/"
        operation = spec["paths"][list_path]["get"]
        parameters = {p["name"]: p for p in operation["parameters"]}
        filters = view_class.filterset_class.base_filters
        assert set(parameters) == set(filters) | {"format", "page", "per_page", "after"}, record_type.key
        assert parameters["format"]["required"] and "json" in parameters["format"]["schema"]["enum"]
        assert parameters["q"]["schema"]["type"] == "string"
        sort = filters["sort"]
        assert set(parameters["sort"]["schema"]["enum"]) == set(sort.orders) | {f"-{k}" for k in sort.orders}
        assert parameters["sort"]["schema"]["default"] == sort.default
        assert parameters["per_page"]["schema"]["maximum"] == view_class.max_per_page
        for name, flt in filters.items():
            schema = parameters[name]["schema"]
            if name.startswith("year_"):
                assert schema["type"] == "integer", name
            elif "choices" in flt.extra:  # a code filter: exactly its codes
                assert schema["enum"] == [str(code) for code, _label in flt.extra["choices"]], name
            elif hasattr(flt, "label_field"):  # a slug filter
                assert schema["pattern"].startswith("^") and schema["type"] == "string", name
        # The result: every export column of the Resource, and url; nothing else.
        name = record_type.model_class.__name__
        columns = [json_key(record_type.resource_class, c) for c in record_type.resource_class().get_export_headers()]
        record = spec["components"]["schemas"][name]
        extras = list(record_type.resource_class.json_extras_schema())
        assert list(record["properties"]) == [*columns, "url", *extras]
        assert record["additionalProperties"] is False
        envelope = spec["components"]["schemas"][f"{name}List"]
        assert envelope["required"] == ["count", "next", "previous", "results"]
        detail_paths = [p for p in spec["paths"] if p.startswith(list_path) and "{slug}" in p]
        assert detail_paths == [f"{list_path}{{slug}}/"], record_type.key
    assert "/indicators/" in spec["paths"]  # built by another part of the site, described without a word here


def test_a_resource_that_adds_to_its_json_describes_what_it_adds():
    from core.importing import RecordResource

    for record_type in registry.public_lists():
        resource_class = record_type.resource_class
        if resource_class.json_extras.__func__ is not RecordResource.json_extras.__func__:
            assert resource_class.json_extras_schema(), f"{resource_class.__name__}.json_extras_schema"


def test_the_document_is_in_english_in_any_language(client):
    english = client.get("/openapi.json").content
    chinese = client.get("/openapi.json", headers={"accept-language": "zh-hans"}).content
    assert english == chinese


# ---------------------------------------------------------------------------
# Real answers validate


def value_for(parameter, results):
    """A value of ``parameter`` that selects some of the list's rows: a slug or code the rows hold in a column
    of that name (``fund``; ``counties`` for ``county``), else an allowed code, a year or a search word."""
    schema, name = parameter["schema"], parameter["name"]
    for row in results:
        for column in (name, f"{name}s", name.removesuffix("y") + "ies"):
            if row.get(column):
                value = row[column].split("|")[0]
                if value in schema.get("enum", [value]):
                    return value
    if "enum" in schema:
        return schema["enum"][0]
    if schema["type"] == "integer":
        return 2019
    if schema.get("format") == "date":
        return "2020-01-01"
    if name == "q":
        return "脱贫"
    return None


def real_urls(client, spec):
    """Many list addresses for every list (each filter, each sort both ways, pages) and details."""
    urls = []
    for path, item in spec["paths"].items():
        operation = item["get"]
        if "{slug}" in path:
            continue
        base = f"{path}?format=json"
        first = get_json(client, base)
        urls.append(base)
        urls.append(f"{base}&per_page=2&page=2")
        for parameter in operation["parameters"]:
            if parameter["name"] in ("format", "page", "per_page", "after"):
                continue
            if parameter["name"] == "sort":
                for key in parameter["schema"]["enum"]:
                    urls.append(f"{base}&{urlencode({'sort': key, 'per_page': 5})}")
                continue
            value = value_for(parameter, first["results"])
            if value is not None:
                urls.append(f"{base}&{urlencode({parameter['name']: value})}")
        urls += [row["url"] + "?format=json" for row in first["results"][:3]]
    return urls


def test_fifty_real_answers_validate_against_the_description(client, spec, seeded):
    urls = real_urls(client, spec)
    assert len(urls) >= 50
    nonempty = 0
    for url in urls:
        body = get_json(client, url)
        check(spec, url, body)
        nonempty += bool(body.get("results", [body]))
    assert nonempty >= 50  # answers with records in them, not empty pages
    lists = {operation_for(spec, url)[0] for url in urls}
    assert lists == set(spec["paths"])  # every list and every detail answered


def test_error_answers_validate_too(client, spec, seeded):
    for url in ("/programs/?format=json&page=abc", "/outcomes/?format=json&year_from=20x9",
                "/counties/?format=json&province=no-such-province", "/funds/?format=json&sort=nonsense"):
        body = get_json(client, url, status=400)
        check(spec, url, body, status=400)
    url = "/programs/" + get_json(client, "/programs/?format=json")["results"][0]["slug"] + "/?format=xml"
    check(spec, url, get_json(client, url, status=400), status=400)


def test_an_answer_unlike_the_description_is_refused(client, spec, seeded):
    """The check can fail: a number where text is promised, a missing or an extra key."""
    body = get_json(client, "/outcomes/?format=json&per_page=3")
    check(spec, "/outcomes/", body)
    for change in (
        lambda row: row.update(value=1.5),
        lambda row: row.update(period_start="2019-1-1"),
        lambda row: row.pop("url"),
        lambda row: row.update(surprise="x"),
        lambda row: row.update(kind="not-a-kind"),
    ):
        broken = json.loads(json.dumps(body))
        change(broken["results"][0])
        with pytest.raises(ValidationError):
            check(spec, "/outcomes/", broken)
    indicator = get_json(client, "/indicators/?format=json&per_page=1")
    check(spec, "/indicators/", indicator)
    assert indicator["results"][0]["values"], "the seed indicators have series"
    indicator["results"][0]["values"][0]["value"] = 3
    with pytest.raises(ValidationError):
        check(spec, "/indicators/", indicator)


# ---------------------------------------------------------------------------
# A script written only from the document


def test_a_script_written_from_the_description_alone_pages_through_every_list(client, seeded):
    spec = get_json(client, "/openapi.json")
    server = spec["servers"][0]["url"]
    read = 0
    for path, item in spec["paths"].items():
        operation = item["get"]
        if any(p["in"] == "path" for p in operation["parameters"]):
            continue  # a detail: needs a slug
        parameters = operation["parameters"]
        required = {p["name"]: "json" for p in parameters if p["required"] and "json" in p["schema"]["enum"]}
        per_page = next(p for p in operation["parameters"] if p["name"] == "per_page")["schema"]
        url = f"{server}{path}?{urlencode({**required, 'per_page': max(per_page['minimum'], 7)})}"
        seen, pages, count = [], 0, None
        while url:
            page = get_json(client, url)
            check(spec, url, page)
            count = page["count"] if count is None else count
            assert page["count"] == count
            seen += [row["url"] for row in page["results"]]
            url, pages = page["next"], pages + 1
            assert pages <= 100
        assert len(seen) == len(set(seen)) == count, path
        model = next(t.model_class for t in registry.public_lists() if f"/{t.key}/" == path)
        assert count == model.objects.count() > 0, path
        read += count
    assert read > 200


# ---------------------------------------------------------------------------
# Details answer JSON


def test_every_detail_answers_json_as_its_row_in_the_list(client, seeded):
    for record_type in registry.public_lists():
        rows = get_json(client, f"/{record_type.key}/?format=json&per_page=3")["results"]
        assert rows, record_type.key
        for row in rows:
            assert get_json(client, row["url"] + "?format=json") == row
        page = client.get(rows[0]["url"])  # the page itself is still the page
        assert page.status_code == 200 and page["Content-Type"].startswith("text/html")


def test_a_detail_refuses_an_unknown_format_and_an_unknown_slug(client, seeded):
    body = get_json(client, "/funds/no-such-fund/?format=xml", status=400)
    assert "format" in body["errors"]
    assert client.get("/funds/no-such-fund/?format=json").status_code == 404


# ---------------------------------------------------------------------------
# The page


@pytest.mark.parametrize(
    ("language", "heading", "absent"),
    [("en", "API: the data for scripts and spreadsheets", "数据接口"),
     ("zh-hans", "数据接口", "API: the data for scripts and spreadsheets")],
)
def test_the_api_page_shows_examples_in_both_languages(client, seeded, language, heading, absent):
    response = client.get("/api/", headers={"accept-language": language})
    assert response.status_code == 200
    html = unescape(response.content.decode())
    assert heading in html and absent not in html
    description = re.search(r'<meta name="description" content="([^"]+)"', html).group(1)
    assert "OpenAPI 3.1" in description and ("说明" in description) == (language == "zh-hans")
    assert 'href="http://testserver/openapi.json"' in html
    assert 'href="/data/"' in html
    assert "curl -s" in html and "--data-urlencode" in html
    for record_type in registry.public_lists():
        assert f"http://testserver/{record_type.key}/?format=json" in html, record_type.key
    # the one-record example names a record that exists, and it answers
    first = registry.public_lists()[0]
    example = re.search(rf"curl -s '(http://testserver/{first.key}/[a-z0-9-]+/\?format=json)'", html)
    assert example, html
    assert client.get(example.group(1)).status_code == 200


def test_every_page_links_to_the_api_page(client, seeded):
    for url in ("/", "/programs/", "/api/"):
        assert 'href="/api/"' in client.get(url).content.decode(), url
