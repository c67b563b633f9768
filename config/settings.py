"""Settings for the Rural Programs Tracker.

Everything that differs between a laptop, CI and production comes from the
environment (see ``.env.example``); there is one settings file.
"""

import datetime
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


# --- Core -------------------------------------------------------------------
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if DEBUG:
        SECRET_KEY = "insecure-development-key-only-used-with-DEBUG-on"
    else:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable "
            "(or DEBUG=1 for local development)."
        )
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")

# --- Security (HTTPS, cookies, headers) ----------------------------------------
# With DEBUG off every protection is on, so `manage.py check --deploy` is clean. Plain-HTTP runs on
# 127.0.0.1 (the test suite, a local gunicorn for benchmarks) switch the HTTPS-only parts off with
# SECURE_SSL_REDIRECT=0 / SECURE_COOKIES=0; the headers stay on.
# BEHIND_PROXY: a reverse proxy (docker-compose.yml's `proxy`) terminates TLS and sets
# X-Forwarded-Proto / X-Forwarded-For. Only turn it on when the app cannot be reached except
# through that proxy, or clients could claim https or another address themselves.
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)  # a header only; listing needs a submission
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# A logged-in session ends after SESSION_IDLE_MINUTES (default 480: a working day) without an admin page;
# each admin page renews it, at most once every SESSION_RENEW_SECONDS (core.middleware.SessionRenewMiddleware),
# and public pages never write it.
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_MINUTES", 8 * 60) * 60
SESSION_RENEW_SECONDS = 300
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# Content-Security-Policy (django-csp): every script, style, font and image from this site only,
# no inline script or style, no framing. The admin (including the import-export pages) needs nothing more.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "font-src": ["'self'"],
        "img-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# Permissions-Policy (core.middleware.PermissionsPolicyMiddleware): every browser feature the site never
# uses is denied to it and to anything it could embed. Each value lists who may use it ([]: nobody).
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer", "autoplay", "camera", "display-capture", "encrypted-media", "fullscreen",
        "geolocation", "gyroscope", "hid", "idle-detection", "magnetometer", "microphone", "midi",
        "payment", "picture-in-picture", "publickey-credentials-get", "screen-wake-lock", "serial",
        "usb", "xr-spatial-tracking",
    )
}

# --- Applications -----------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.sitemaps",  # /sitemap.xml (tracker/sitemaps.py)
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_filters",
    "import_export",
    "simple_history",
    "csp",
    "core.vendor.AxesConfig",  # django-axes, with a name in the admin (core/vendor.py)
    "core",  # the framework: core/apps.py wires the site-wide signals
    "counties",
    "programs",
    "envoys",
    "tracker",  # the top layer: home page, backups, seeds and the management commands
]

MIDDLEWARE = [
    "core.middleware.RequestLogMiddleware",
    "core.middleware.PermissionsPolicyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.middleware.SessionRenewMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Inside every middleware that logs the request or adds a header (a cached page gets them all, as a fresh
    # one does) and inside LocaleMiddleware (the language is part of the key): core/pagecache.py.
    "core.pagecache.PageCacheMiddleware",
    # Last, so that a lockout raised by the authentication backend becomes the lockout page.
    "axes.middleware.AxesMiddleware",
    "core.middleware.ExportLimitMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.site",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
# Unset DATABASE_URL means the embedded SQLite file inside the project (git-ignored).
# Connections are kept for DB_CONN_MAX_AGE seconds and checked before reuse, so after a database
# restart the next request reconnects by itself (no app restart needed).
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A query that runs longer than DB_STATEMENT_TIMEOUT seconds is cancelled (the request fails
    # instead of holding a worker and a connection); an unreachable server fails after
    # DB_CONNECT_TIMEOUT seconds, and the page says 503 (core/errors.py).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        connect_timeout=env_int("DB_CONNECT_TIMEOUT", 5),
        options=f"-c statement_timeout={env_int('DB_STATEMENT_TIMEOUT', 30) * 1000}",
    )
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default under many readers and a writer (issue 14): write-ahead logging, so readers
    # never wait for a writer nor block one; a writer waits up to DB_BUSY_TIMEOUT seconds (default 20) for
    # another instead of failing at once with "database is locked"; and a transaction takes the write lock
    # when it begins (IMMEDIATE), so two writers queue rather than deadlock when both upgrade from a read.
    # No public page writes to the database (tracker/tests/test_sqlite_concurrency.py).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        timeout=env_int("DB_BUSY_TIMEOUT", 20),
        transaction_mode="IMMEDIATE",
        init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache --------------------------------------------------------------------
# "default" is in the database, so every app process and replica sees the same entries and nothing is
# kept on local disk: admin imports keep the file there between preview and confirm, and the data
# generation (core/listing.py) that a committed change moves is read there by every process. Only
# writes write it: a public page reads it and nothing else. Its table is made by `migrate`
# (core/apps.py runs `createcachetable` after it).
# "counts" holds the public lists' totals and facet counts (cached_counts); "pages" whole public pages for
# anonymous visitors (core.pagecache.PageCacheMiddleware). Neither is written to the database: a page view
# must not write there. With SHARED_CACHE_DIR unset (runserver, the tests) both live in each process's
# memory; gunicorn.conf.py sets it for the processes it starts, so the processes of one machine share them
# as files there (core/sharedcache.py, Django's FileBasedCache: one file an entry, written whole and
# renamed into place), and a page or a count made by one worker serves them all. SHARED_CACHE_DIR=none
# keeps the memory caches. Either way an entry is only used while the shared data generation is the one it
# was made at (core/listing.py), so a change on any replica makes every process count and render again. A
# count entry is 1 to 11 KB (measured on the demo data); a list page 8-50 KB compressed (at 100,000
# programs): PAGE_CACHE_ENTRIES (default 1,000 in memory, under 50 MB a process; 5,000 shared, on disk)
# bounds the pages.
SHARED_CACHE_DIR = os.environ.get("SHARED_CACHE_DIR", "").strip()
if SHARED_CACHE_DIR.lower() == "none":
    SHARED_CACHE_DIR = ""


def local_cache(name: str, max_entries: int) -> dict:
    """The cache ``name``: files in SHARED_CACHE_DIR/name when it is set, else this process's memory."""
    if SHARED_CACHE_DIR:
        return {"BACKEND": "core.sharedcache.SharedFileCache",
                "LOCATION": os.path.join(SHARED_CACHE_DIR, name), "OPTIONS": {"MAX_ENTRIES": max_entries}}
    return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": f"tracker-{name}",
            "OPTIONS": {"MAX_ENTRIES": max_entries}}


CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "django_cache",
        "OPTIONS": {"MAX_ENTRIES": 20000},
    },
    "counts": local_cache("counts", 10000 if SHARED_CACHE_DIR else 2000),
    "pages": local_cache("pages", env_int("PAGE_CACHE_ENTRIES", 5000 if SHARED_CACHE_DIR else 1000)),
}

# --- Authentication -----------------------------------------------------------
# django-axes (core/lockout.py): AXES_FAILURE_LIMIT wrong passwords for one account name from one
# client address lock that name from that address only (the same name still logs in from elsewhere, so
# nobody can lock the real admin out); AXES_ADDRESS_FAILURE_LIMIT wrong passwords from one address,
# whatever the names, lock the address. Both last AXES_COOLOFF_MINUTES. Staff lift a lockout in the
# admin (Axes › Access attempts: delete the rows) or with `manage.py axes_reset_username NAME` /
# `axes_reset_ip ADDRESS`.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_ADDRESS_FAILURE_LIMIT = env_int("AXES_ADDRESS_FAILURE_LIMIT", 20)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]  # the pair; the address alone: core.lockout
AXES_HANDLER = "core.lockout.PairAndAddressHandler"
AXES_LOCKOUT_CALLABLE = "core.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "lockout.html"  # rendered by core.lockout.lockout_response
AXES_CLIENT_IP_CALLABLE = "core.middleware.client_ip"
AXES_VERBOSE = False  # the request log line says enough
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Languages and time -----------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------
# Served by the app itself (whitenoise), also under gunicorn: no CDN, no separate server.
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True

# --- Import and export -------------------------------------------------------
IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_SKIP_ADMIN_LOG = False
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "import"
# An admin import keeps the uploaded file between its preview and its confirm request. Not in a local
# temporary folder (import-export's default): with several app processes or replicas the confirm can land
# on another one. The default cache (CACHES, above) lives in the database every replica shares. The file
# is kept an hour at most, and deleted once imported or when its preview fails (core.admin_tools.UploadStorage).
IMPORT_EXPORT_TMP_STORAGE_CLASS = "core.admin_tools.UploadStorage"
# Limits of one admin import, checked before the content is read; a file over one is refused with a
# message naming it. MB here is 1024 × 1024 bytes. The proxy (deploy/nginx.conf) accepts bodies up to 20 MB.
IMPORT_MAX_FILE_MB = env_int("IMPORT_MAX_FILE_MB", 10)
IMPORT_MAX_UNPACKED_MB = env_int("IMPORT_MAX_UNPACKED_MB", 50)  # an XLSX workbook, unzipped
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 10000)  # rows below the header, blank ones included
IMPORT_MAX_COLUMNS = env_int("IMPORT_MAX_COLUMNS", 200)
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "export"
# History pages are read-only: reverting from them would bypass the version check, so there is no
# Revert button and core.admin_tools.RecordAdmin refuses any POST to them (403), whatever this
# setting says. To undo a change, edit the record.
SIMPLE_HISTORY_REVERT_DISABLED = True
# The article intake's review (tracker/admin.py) posts about fifteen fields for each figure an article proposes:
# Django's default of 1,000 fields a request would refuse an article of 70 figures; this takes one of 300.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 5000

# --- Logging ------------------------------------------------------------------
# One JSON object per line on stdout: one line per request (core.middleware.RequestLogMiddleware,
# with its request id), plus warnings and errors with tracebacks. LOG_LEVEL: DEBUG, INFO, WARNING …
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.middleware.RequestIdFilter"}},
    "formatters": {"json": {"()": "core.middleware.JsonFormatter"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json",
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        # Requests are logged once, by our middleware; Django's own 4xx lines would repeat them.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}

# --- Limits -------------------------------------------------------------------
# At most EXPORT_CONCURRENCY full CSV/JSON exports run at once in each app process; one more gets a
# 429 with Retry-After (core.middleware.ExportLimitMiddleware). The proxy limits per client too.
EXPORT_CONCURRENCY = env_int("EXPORT_CONCURRENCY", 2)
# Facet counts are cached (CACHES["counts"]) until the data changes, and at most this many seconds.
FACET_CACHE_SECONDS = env_int("FACET_CACHE_SECONDS", 300)
# Public pages are cached (CACHES["pages"]) until the data changes, and at most PAGE_CACHE_SECONDS
# (0: no page cache); a page larger than PAGE_CACHE_MAX_BYTES is never kept. PAGE_PROXY_SECONDS is the
# s-maxage the pages carry: how long the proxy in front (deploy/nginx.conf) may answer with a page without
# asking the app, so how long a committed change can take to show through it (0: the proxy always asks).
PAGE_CACHE_SECONDS = env_int("PAGE_CACHE_SECONDS", 300)
PAGE_CACHE_MAX_BYTES = 1024 * 1024
PAGE_PROXY_SECONDS = env_int("PAGE_PROXY_SECONDS", 5)
# A facet whose count takes longer is shown without counts (0: no limit).
FACET_TIME_LIMIT_MS = env_int("FACET_TIME_LIMIT_MS", 200)
# ... and the facets of one page share FACET_PAGE_LIMIT_MS: once it is spent, the others are offered without
# counts (0: each facet has its own limit only; FACET_TIME_LIMIT_MS=0 lifts both).
FACET_PAGE_LIMIT_MS = env_int("FACET_PAGE_LIMIT_MS", 300)
