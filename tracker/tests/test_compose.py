"""docker-compose.yml and the Dockerfile, checked without a Docker engine (this machine has none)."""

import re

import dj_database_url

from core.testing.config import ENV_READ, ROOT, command_words, environment


def test_compose_has_db_and_web(compose):
    assert {"db", "web"} <= compose["services"].keys()


def test_db_is_the_official_postgres_image_with_a_named_volume(compose):
    db = compose["services"]["db"]
    assert db["image"].split(":")[0] == "postgres"
    volume_names = {v.split(":")[0] for v in db["volumes"]}
    assert volume_names & compose.get("volumes", {}).keys()


def test_db_has_a_pg_isready_healthcheck(compose):
    test = compose["services"]["db"]["healthcheck"]["test"]
    assert "pg_isready" in (" ".join(test) if isinstance(test, list) else test)


def test_web_waits_for_a_healthy_db(compose):
    assert compose["services"]["web"]["depends_on"]["db"]["condition"] == "service_healthy"


def test_migrate_service_migrates_then_seeds(compose):
    # Once per `up`, in its own container, so `--scale web=3` does not run three migrations at once.
    script = " ".join(command_words(compose["services"]["migrate"]))
    assert 0 <= script.index("manage.py migrate") < script.index("manage.py load_seeds")


def test_web_runs_gunicorn_on_config_wsgi(compose):
    web = compose["services"]["web"]
    context = web["build"] if isinstance(web["build"], str) else web["build"].get("context")
    assert context == "."
    gunicorn = command_words(web)
    gunicorn = gunicorn[gunicorn.index("gunicorn"):]
    assert gunicorn[-1] in ("config.wsgi", "config.wsgi:application")
    # Binding to 0.0.0.0:8000 is gunicorn.conf.py's default (tracker/tests/test_deploy.py checks it).
    assert gunicorn[1:3] == ["-c", "gunicorn.conf.py"]
    assert not any("migrate" in word for word in gunicorn)


def test_web_passes_only_variables_settings_read(compose, settings_env_vars):
    passed = environment(compose["services"]["web"]).keys()
    # ... or gunicorn.conf.py, which the web command reads (its GUNICORN_* overrides).
    read = settings_env_vars | set(ENV_READ.findall((ROOT / "gunicorn.conf.py").read_text(encoding="utf-8")))
    assert passed <= read, f"neither settings nor gunicorn.conf.py read: {sorted(passed - read)}"
    assert {"DATABASE_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS"} <= passed


def test_web_database_url_matches_the_db_service(compose):
    db_env = environment(compose["services"]["db"])
    url = dj_database_url.parse(environment(compose["services"]["web"])["DATABASE_URL"])
    assert url["ENGINE"] == "django.db.backends.postgresql"
    assert url["HOST"] == "db"
    assert url["NAME"] == db_env["POSTGRES_DB"]
    assert url["USER"] == db_env["POSTGRES_USER"]
    assert url["PASSWORD"] == db_env["POSTGRES_PASSWORD"]


def test_web_runs_with_debug_off(compose):
    assert environment(compose["services"]["web"])["DEBUG"] in {"0", "false", "False", ""}


def test_dockerfile_collects_static_and_runs_gunicorn_as_a_non_root_user():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim", dockerfile, re.M)
    assert "pip install -r requirements.txt" in dockerfile
    assert "collectstatic" in dockerfile
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.M)
    assert users and users[-1] not in {"root", "0"}
    cmd = re.findall(r"^CMD\s+(.+)$", dockerfile, re.M)[-1]
    assert "gunicorn" in cmd and "config.wsgi" in cmd
