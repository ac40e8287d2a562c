# Okno production image: one image for web, worker, beat and the migrate job.
# See docs/deployment.md. Build: `docker compose build`.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Pango, HarfBuzz and fonts for WeasyPrint (PDF); gettext for compilemessages.
COPY scripts/system-deps.sh scripts/system-deps.sh
RUN bash scripts/system-deps.sh runtime \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first, so a code change does not reinstall them: every package, transitive ones too,
# at the version and hashes of requirements.lock (`make lock`). The code is copied below.
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock

COPY . .

# The code is not an installed package: it is imported from /app.
ENV PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=config.settings.prod \
    WEB_CONCURRENCY=2

# prod.py requires SECRET_KEY, DATABASE_URL and OKNO_SECRETS_KEYS; these throwaway values exist only
# for this build step (neither command opens the database) and stay out of the image.
RUN SECRET_KEY=build-only DATABASE_URL=sqlite:////tmp/build.sqlite3 OKNO_SECRETS_KEYS=build-only \
        python manage.py compilemessages --ignore "var/*" \
    && SECRET_KEY=build-only DATABASE_URL=sqlite:////tmp/build.sqlite3 OKNO_SECRETS_KEYS=build-only \
        python manage.py collectstatic --noinput \
    && rm -f /tmp/build.sqlite3

# Code and static files stay root-owned and read-only for the app user; only var/
# (media, celery beat's schedule file) is writable.
# okno-runner: the runner service's own user (docs/runner.md). It runs commands, kubectl and Ansible
# in the `runner` container, which gets none of Okno's keys. Its socket directory (a volume shared with
# the worker) belongs to it, group okno (setgid, so the socket gets that group): the worker may connect.
RUN groupadd --system --gid 10001 okno \
    && useradd --system --uid 10001 --gid okno --home-dir /app --no-create-home okno \
    && groupadd --system --gid 10002 okno-runner \
    && useradd --system --uid 10002 --gid okno-runner --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin okno-runner \
    && mkdir -p /app/var/media /run/okno-runner \
    && chown -R okno:okno /app/var/media \
    && chown okno:okno /app/var \
    && chmod 0700 /app/var \
    && chown okno-runner:okno /run/okno-runner \
    && chmod 2750 /run/okno-runner
USER 10001:10001

EXPOSE 8000
# Workers: $WEB_CONCURRENCY (2 by default). Behind a reverse proxy on another host,
# set FORWARDED_ALLOW_IPS to its address so client IPs are taken from X-Forwarded-For.
CMD ["uvicorn", "config.asgi:application", "--host", "0.0.0.0", "--port", "8000"]
