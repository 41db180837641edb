# syntax=docker/dockerfile:1
# The Python 3.11 side: action server (`python -m rasa_sdk`), web app (`python -m backoffice`), Telegram gateway
# (`python -m bot.telegram`) and the report CLI. One image, the command chooses the part (deploy/compose.yaml).
# Build from the repository root: docker compose -f deploy/compose.yaml build
# No secret is copied in (see app.Dockerfile.dockerignore): keys live in a volume, secrets come as files.
# BASE: any image with Python 3.11 (`python3` with the venv module) on Debian bookworm. On a Docker host the
# official image; here deploy/build-images.sh builds localhost/integrity/python:3.11 from Debian's packages.
ARG BASE=python:3.11-slim-bookworm
FROM ${BASE}

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app INTEGRITY_KEY_DIR=/keys PATH=/opt/venv/bin:$PATH

RUN useradd --system --create-home --home-dir /home/app --uid 10002 --shell /usr/sbin/nologin app \
    && mkdir /keys && chown app /keys
WORKDIR /app

# The lock file without the development tools (the `dev` extra in pyproject.toml), in a virtualenv (Debian's
# Python refuses system-wide pip installs). Downloads are cached between builds (cache mount, not in the image).
# pip_ca: an optional CA bundle for a TLS-intercepting proxy in front of the package index (build secret, not in
# the image); deploy/build-images.sh passes the host's bundle.
COPY requirements/main.lock requirements/main.lock
RUN --mount=type=cache,id=integrity-pip,target=/root/.cache/pip --mount=type=secret,id=pip_ca \
    if [ -s /run/secrets/pip_ca ]; then export PIP_CERT=/run/secrets/pip_ca; fi; \
    grep -v -E '^(pytest|pytest-asyncio|ruff|playwright|hypothesis|mutmut)==' requirements/main.lock > /tmp/runtime.lock \
    && python3 -m venv /opt/venv && /opt/venv/bin/pip install -q -r /tmp/runtime.lock && rm /tmp/runtime.lock \
    && /opt/venv/bin/pip check

COPY actions/ actions/
COPY backoffice/ backoffice/
COPY bot/ bot/
# actions/reporting.py uses rasa_plugins.redaction (plain Python; the package imports no Rasa here).
COPY rasa_plugins/ rasa_plugins/
COPY integrity/ integrity/
COPY migrations/ migrations/
COPY alembic.ini alembic.ini
COPY deploy/prepare.py deploy/prepare.py
COPY deploy/docker/entrypoint.sh /usr/local/bin/entrypoint
# Every Python process reads the NAME_FILE secrets itself (see integrity_secret_files.py).
COPY deploy/docker/integrity_secret_files.py deploy/docker/integrity-secret-files.pth /opt/venv/lib/python3.11/site-packages/

USER app
# /keys is a named volume in compose (owned by app, from this directory); no VOLUME here, or every container
# that does not mount it (the gateway) would leave an anonymous volume behind.
ENTRYPOINT ["/usr/local/bin/entrypoint"]
CMD ["python", "-m", "rasa_sdk", "--actions", "actions", "--port", "5055"]
