"""Scale-out: the proxy in front, stateless web replicas behind it, one migration run.

docker-compose.yml and deploy/nginx.conf are checked by reading them (this machine has no Docker engine;
`nginx -t` runs when nginx is installed). The app's side is checked in Django: nothing a replica keeps
for itself (sessions, admin import files, uploads), and https forwarded by the proxy counts as https.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import pytest
from django.apps import apps
from django.conf import settings
from django.core.cache import caches
from django.db import models

from core.testing.admin import import_file
from core.testing.config import ENV_READ, ROOT, command_words, environment, free_port

NGINX_CONF = ROOT / "deploy" / "nginx.conf"


@pytest.fixture(scope="module")
def services(compose):
    return compose["services"]


@pytest.fixture(scope="module")
def nginx_conf():
    text = NGINX_CONF.read_text(encoding="utf-8")
    # Directives only: comments dropped, so a commented-out line proves nothing.
    return "\n".join(line.split("#", 1)[0].rstrip() for line in text.splitlines())


def directive(conf: str, name: str) -> list[str]:
    """The arguments of every ``name ...;`` directive in the file."""
    return [m.group(1).strip() for m in re.finditer(rf"^\s*{name}\s+([^;]*);", conf, re.M)]


def gunicorn_conf_env_vars() -> set[str]:
    """The environment variables gunicorn.conf.py reads."""
    return set(ENV_READ.findall((ROOT / "gunicorn.conf.py").read_text(encoding="utf-8")))


def gunicorn_config(**env):
    """gunicorn's settings as ``gunicorn -c gunicorn.conf.py`` loads them, with ``env`` set (and every other
    variable the file reads unset)."""
    from gunicorn.config import Config

    names = gunicorn_conf_env_vars()
    saved = {name: os.environ.pop(name) for name in names if name in os.environ}
    os.environ.update(env)
    try:
        config = Config()
        namespace = {"__file__": str(ROOT / "gunicorn.conf.py")}
        exec(compile((ROOT / "gunicorn.conf.py").read_text(encoding="utf-8"), "gunicorn.conf.py", "exec"), namespace)
        for key, value in namespace.items():
            if key in config.settings:
                config.set(key, value)
        return config
    finally:
        for name in names:
            os.environ.pop(name, None)
        os.environ.update(saved)


# ---------------------------------------------------------------------------
# docker-compose.yml


def test_only_the_proxy_publishes_a_port(services):
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"proxy"}
    assert [str(port).rsplit(":", 1)[0] for port in services["proxy"]["ports"]] == ["8000"]


def test_web_can_be_scaled(services):
    web = services["web"]
    # A fixed host port or container name would stop a second replica; a volume would be state.
    assert "ports" not in web
    assert "container_name" not in web
    assert "volumes" not in web
    assert web.get("read_only") is True
    assert all(str(mount).split(":")[0] == "/tmp" for mount in web.get("tmpfs", []))


def test_web_runs_the_one_gunicorn_configuration(services):
    # Everything about gunicorn is in gunicorn.conf.py (the Dockerfile and the benchmarks read it too); the
    # service only overrides through the environment, so no option here can drift from what is measured.
    assert command_words(services["web"]) == ["gunicorn", "-c", "gunicorn.conf.py", "config.wsgi"]
    overrides = {name for name in environment(services["web"]) if name.startswith("GUNICORN_")}
    assert overrides == {"GUNICORN_WORKERS", "GUNICORN_THREADS"}  # the two README "Deploying" documents
    assert overrides <= gunicorn_conf_env_vars()


def test_the_dockerfile_runs_the_same_gunicorn_configuration():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    cmd = re.findall(r"^CMD\s+(.+)$", dockerfile, re.M)[-1]
    assert json.loads(cmd) == ["gunicorn", "-c", "gunicorn.conf.py", "config.wsgi"]


def test_gunicorn_writes_only_to_memory_in_the_read_only_container(services):
    # The compose service's root is read-only: the heartbeat files go to /dev/shm (Docker mounts it in
    # memory and writable) or the in-memory /tmp, and there is no control socket (gunicorn 25+ would
    # otherwise make $HOME/.gunicorn/gunicorn.ctl).
    config = gunicorn_config()
    assert config.worker_tmp_dir in {"/dev/shm", "/tmp"}
    assert config.control_socket_disable is True
    assert config.address == [("0.0.0.0", 8000)]  # where the proxy sends requests (http://web:8000)


def test_web_waits_for_migrate_to_finish(services):
    depends = services["web"]["depends_on"]
    assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert depends["db"]["condition"] == "service_healthy"
    assert services["migrate"].get("restart", "no") == "no"


def test_migrate_creates_the_cache_table_the_admin_import_needs(services):
    script = " ".join(command_words(services["migrate"]))
    assert 0 <= script.index("manage.py migrate") < script.index("manage.py createcachetable")


def test_migrate_loads_seeds_only_into_a_database_without_records(services):
    # Seeding again would put seed values back over staff corrections on every `up`.
    script = command_words(services["migrate"])[-1]
    assert "set -e" in script
    condition, _, rest = script.partition("then")
    assert "Source.objects.exists()" in condition
    assert "load_seeds" not in condition and "load_seeds" in rest.partition("else")[2]


def test_migrate_and_web_share_the_same_settings(services):
    def app_settings(service):  # what Django reads: gunicorn's overrides apply to web alone
        return {name: value for name, value in environment(service).items() if not name.startswith("GUNICORN_")}

    assert app_settings(services["migrate"]) == app_settings(services["web"])


def test_web_trusts_the_proxy_headers(services):
    assert environment(services["web"])["BEHIND_PROXY"] == "1"


def test_proxy_mounts_the_nginx_conf_read_only(services):
    proxy = services["proxy"]
    assert proxy["image"].split(":")[0] == "nginx"
    assert "./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro" in proxy["volumes"]
    assert proxy["depends_on"]["web"]["condition"] in {"service_started", "service_healthy"}


# ---------------------------------------------------------------------------
# deploy/nginx.conf


def test_proxy_resolves_web_again_and_again(nginx_conf):
    # Docker's DNS, re-asked every few seconds, and a variable in proxy_pass so that nginx asks it at
    # run time: replicas added by --scale get traffic.
    assert any(args.split()[0] == "127.0.0.11" for args in directive(nginx_conf, "resolver"))
    passes = directive(nginx_conf, "proxy_pass")
    assert passes and all(target.startswith("$") for target in passes)
    variables = dict(args.split(None, 1) for args in directive(nginx_conf, "set"))
    assert {variables[target] for target in passes} == {"http://web:8000"}


def test_proxy_forwards_host_scheme_and_client(nginx_conf):
    headers = dict(args.split(None, 1) for args in directive(nginx_conf, "proxy_set_header"))
    # $http_host keeps the port, which Django's CSRF origin check and absolute links need.
    assert headers["Host"] == "$http_host"
    assert headers["X-Forwarded-For"] == "$proxy_add_x_forwarded_for"
    assert headers["X-Forwarded-Proto"] in {"$scheme", "$forwarded_proto"}
    assert "X-Request-ID" in headers


def test_proxy_accepts_admin_import_files(nginx_conf):
    (size,) = directive(nginx_conf, "client_max_body_size")
    number, unit = re.fullmatch(r"(\d+)([kKmMgG]?)", size).groups()
    megabytes = int(number) * {"": 1 / 2**20, "k": 1 / 1024, "m": 1, "g": 1024}[unit.lower()]
    assert 10 <= megabytes <= 100


def test_proxy_rate_limits_exports_per_client(nginx_conf):
    (zone,) = directive(nginx_conf, "limit_req_zone")
    key = zone.split()[0]
    assert "zone=exports:" in zone
    # The key is the client's address for requests with format= in the query, empty (not counted) otherwise.
    block = re.search(rf"map\s+\$args\s+{re.escape(key)}\s*\{{(.*?)\}}", nginx_conf, re.S)
    assert block, f"no map from $args to {key}"
    assert "format=" in block.group(1) and "$binary_remote_addr" in block.group(1)
    assert re.search(r'default\s+""', block.group(1))
    assert any("zone=exports" in args for args in directive(nginx_conf, "limit_req"))
    assert directive(nginx_conf, "limit_req_status") == ["429"]


@pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed")
def test_nginx_accepts_the_conf(tmp_path):
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  include {NGINX_CONF};\n}}\n"
    )
    result = subprocess.run(["nginx", "-t", "-q", "-c", str(main)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------------------
# The app keeps nothing of its own


def test_sessions_live_in_the_database_or_a_signed_cookie():
    assert settings.SESSION_ENGINE in {
        "django.contrib.sessions.backends.db",
        "django.contrib.sessions.backends.signed_cookies",
    }


def test_the_cache_is_shared_by_every_replica():
    backend = settings.CACHES["default"]["BACKEND"]
    assert backend not in {
        "django.core.cache.backends.locmem.LocMemCache",  # one per process
        "django.core.cache.backends.filebased.FileBasedCache",  # one per container
        "django.core.cache.backends.dummy.DummyCache",
    }


def test_admin_import_files_are_not_kept_on_local_disk():
    # import-export's default (TempFolderStorage) writes the upload to /tmp between preview and confirm;
    # MediaStorage writes it to MEDIA_ROOT. Either breaks when the confirm reaches another replica.
    from django.utils.module_loading import import_string
    from import_export.tmp_storages import CacheStorage

    assert issubclass(import_string(settings.IMPORT_EXPORT_TMP_STORAGE_CLASS), CacheStorage)


def test_no_model_takes_file_uploads():
    # Uploads would land in MEDIA_ROOT on one replica's disk.
    file_fields = [
        f"{model._meta.label}.{field.name}"
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, models.FileField)
    ]
    assert file_fields == []


def test_an_admin_import_confirmed_by_another_replica(editor_client, monkeypatch, tmp_path):
    from programs.models import Organization

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where TempFolderStorage would write
    content = "slug,name\ncainiao-test,菜鸟测试\n".encode("utf-8-sig")
    preview, confirm = import_file(editor_client, Organization, content)

    # Between the two steps the file was in the shared database cache, and in no local file.
    name = preview.context["confirm_form"].initial["import_file_name"]
    assert list(tmp_path.iterdir()) == []
    assert confirm.status_code == 302
    assert Organization.objects.get(slug="cainiao-test").name == "菜鸟测试"
    # Confirming removed it again.
    other_replica_cache = caches.create_connection("default")
    assert other_replica_cache.get(f"django-import-export-{name}") is None


def test_migrate_alone_creates_the_cache_table(tmp_path):
    """Every set-up path runs `migrate`; none has to remember `createcachetable` as well."""
    database = tmp_path / "fresh.sqlite3"
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{database}", SECRET_KEY="x", DEBUG="0")
    result = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    import sqlite3

    with sqlite3.connect(database) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert settings.CACHES["default"]["LOCATION"] in tables


def test_import_storage_reads_back_through_another_cache_connection(db):
    from import_export.tmp_storages import CacheStorage

    first = CacheStorage(read_mode="rb")
    first.save(b"slug,name\r\n")
    # A new connection to the same cache: what another process or replica would open.
    other = caches.create_connection("default")
    assert other.get(CacheStorage.CACHE_PREFIX + first.name) == b"slug,name\r\n"
    first.remove()


# ---------------------------------------------------------------------------
# Behind the proxy: https as the proxy saw it


PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
client = Client()
plain = client.get("/healthz")
forwarded = client.get("/healthz", headers={"x-forwarded-proto": "https", "x-forwarded-for": "203.0.113.7"})
print(json.dumps({
    "proxy_header": list(settings.SECURE_PROXY_SSL_HEADER or ()),
    "forwarded_for": settings.USE_X_FORWARDED_HOST,
    "plain": [plain.status_code, plain.get("Location", "")],
    "forwarded": [forwarded.status_code, forwarded.get("Location", "")],
}))
"""


def test_https_forwarded_by_the_proxy_is_not_redirected_again(services):
    """The compose settings with the HTTPS redirect on: what the proxy marks https is served, plain http
    is redirected once. Without SECURE_PROXY_SSL_HEADER every request would redirect, forever."""
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL"}}
    env.update(environment(services["web"]))
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL="sqlite://:memory:",
        ALLOWED_HOSTS="testserver",
        SECURE_SSL_REDIRECT="1",
        SECURE_COOKIES="1",
    )
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["proxy_header"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert probe["forwarded_for"] is False  # Host comes from the proxy's Host header, not X-Forwarded-Host
    assert probe["plain"][0] == 301 and probe["plain"][1].startswith("https://testserver/")
    assert probe["forwarded"][0] == 200


# ---------------------------------------------------------------------------
# The proxy, run: nginx with deploy/nginx.conf in front of a server that echoes what it received


@pytest.fixture
def echo_server():
    """An HTTP server on a free port that answers every GET with the headers it got, as JSON."""
    import http.server
    import threading

    class Echo(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


@pytest.fixture
def proxy(tmp_path, echo_server):
    """deploy/nginx.conf as it is, except that it listens on a free loopback port and `web` is the echo
    server (an address, so Docker's resolver is never asked)."""
    port = free_port()
    conf = NGINX_CONF.read_text(encoding="utf-8")
    conf = conf.replace("listen 80 default_server;", f"listen 127.0.0.1:{port} default_server;")
    conf = conf.replace("set $web_upstream http://web:8000;", f"set $web_upstream http://127.0.0.1:{echo_server};")
    (tmp_path / "site.conf").write_text(conf)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        + ("user root;\n" if os.geteuid() == 0 else "")
        + "daemon off;\nevents {}\nhttp {\n  access_log off;\n"
        + "".join(f"  {kind}_temp_path {tmp_path}/{kind};\n"
                  for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        + f"  include {tmp_path}/site.conf;\n}}\n"
    )
    process = subprocess.Popen(["nginx", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    import http.client
    import time

    deadline = time.monotonic() + 10
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                log = tmp_path / "error.log"
                pytest.fail(f"nginx did not start: {log.read_text() if log.exists() else ''}")
            time.sleep(0.1)
    yield port
    process.terminate()
    process.wait(timeout=10)


def get(port, path, headers=None):
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, (json.loads(body) if response.status == 200 else None)


@pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed")
def test_proxy_passes_host_with_port_client_scheme_and_request_id(proxy):
    status, echoed = get(proxy, "/programs/?q=%E8%84%B1%E8%B4%AB", {"Host": "tracker.example.org:8000"})
    assert status == 200
    headers = echoed["headers"]
    assert echoed["path"] == "/programs/?q=%E8%84%B1%E8%B4%AB"
    assert headers["host"] == "tracker.example.org:8000"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-for"].split(",")[-1].strip() == "127.0.0.1"
    assert re.fullmatch(r"[0-9a-f]{32}", headers["x-request-id"])


@pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed")
def test_proxy_keeps_the_scheme_the_https_terminator_reports(proxy):
    _, echoed = get(proxy, "/", {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"})
    assert echoed["headers"]["x-forwarded-proto"] == "https"
    # The client's own claim stays first; the hop the app trusts is the one nginx appended.
    assert [hop.strip() for hop in echoed["headers"]["x-forwarded-for"].split(",")] == ["203.0.113.7", "127.0.0.1"]


@pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed")
def test_proxy_rate_limits_exports_and_nothing_else(proxy):
    pages = [get(proxy, "/programs/?page=2")[0] for _ in range(20)]
    exports = [get(proxy, "/programs/?area=jiaoyu&format=csv")[0] for _ in range(12)]
    assert set(pages) == {200}
    # A burst of 6 on top of the first one, then 429 until the rate (12 a minute) lets one more through.
    assert exports[:7] == [200] * 7
    # (One more may pass if these requests took more than 5 s, on a very slow machine.)
    assert exports[7:].count(429) >= 4 and set(exports[7:]) <= {200, 429}
    assert get(proxy, "/programs/?page=3")[0] == 200  # other pages still pass
