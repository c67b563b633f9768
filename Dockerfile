# The app under gunicorn, static files served by whitenoise. docker-compose.yml adds PostgreSQL.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# The translations are compiled from locale/*/LC_MESSAGES/django.po here (gettext's msgfmt is installed for
# this step and removed in it), so the image never runs with a stale committed .mo.
# Both commands need settings to load; this key exists only for this build step.
RUN apt-get update \
 && apt-get install -y --no-install-recommends gettext \
 && SECRET_KEY=build-only python manage.py compilemessages --ignore=.venv \
 && apt-get purge -y --auto-remove gettext \
 && rm -rf /var/lib/apt/lists/*
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput

RUN useradd --system --uid 10001 --home-dir /app app
USER app

EXPOSE 8000
# gunicorn.conf.py is the one gunicorn configuration (gthread workers, so a long export never trips the
# timeout; bind 0.0.0.0:8000; no control socket); GUNICORN_WORKERS, GUNICORN_THREADS … override it.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "config.wsgi"]
