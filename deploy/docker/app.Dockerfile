# syntax=docker/dockerfile:1
# The Python 3.11 side: action server (`python -m rasa_sdk`), web app (`python -m backoffice`), Telegram gateway
# (`python -m bot.telegram`) and the report CLI. One image, the command chooses the part (deploy/compose.yaml).
# Build from the repository root: docker compose -f deploy/compose.yaml build
# No secret is copied in (see app.Dockerfile.dockerignore): keys live in a volume, secrets come as files.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app INTEGRITY_KEY_DIR=/keys

RUN useradd --system --create-home --home-dir /home/app --uid 10002 --shell /usr/sbin/nologin app \
    && mkdir /keys && chown app /keys
WORKDIR /app

# The lock file without the development tools (the `dev` extra in pyproject.toml).
COPY requirements/main.lock requirements/main.lock
RUN grep -v -E '^(pytest|pytest-asyncio|ruff|playwright|hypothesis)==' requirements/main.lock > /tmp/runtime.lock \
    && pip install -r /tmp/runtime.lock && rm /tmp/runtime.lock

COPY actions/ actions/
COPY backoffice/ backoffice/
COPY bot/ bot/
COPY integrity/ integrity/
COPY migrations/ migrations/
COPY alembic.ini alembic.ini
COPY deploy/prepare.py deploy/prepare.py
COPY deploy/docker/entrypoint.sh /usr/local/bin/entrypoint

USER app
VOLUME ["/keys"]
ENTRYPOINT ["/usr/local/bin/entrypoint"]
CMD ["python", "-m", "rasa_sdk", "--actions", "actions", "--port", "5055"]
