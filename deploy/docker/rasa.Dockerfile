# syntax=docker/dockerfile:1
# The Rasa 3.6.21 server (Python 3.10): NLU + dialogue with the trained model and the tracker store plugins.
# Build from the repository root after `make model` (the model is not in git):
#     docker compose -f deploy/compose.yaml build
# No secret is copied in (see rasa.Dockerfile.dockerignore); Redis and action server settings come from the
# environment at run time (deploy/endpoints.yml).
# BASE: any image with Python 3.10 (`python3` with the venv module) on Debian bookworm. On a Docker host the
# official image; here deploy/build-images.sh builds localhost/integrity/python:3.10 (python310.Containerfile).
ARG BASE=python:3.10-slim-bookworm
FROM ${BASE}

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=3 SQLALCHEMY_SILENCE_UBER_WARNING=1

RUN useradd --system --create-home --home-dir /home/rasa --uid 10001 --shell /usr/sbin/nologin rasa
WORKDIR /app

# Cache mount and pip_ca build secret: see app.Dockerfile.
COPY requirements/rasa.lock requirements/rasa.lock
RUN --mount=type=cache,id=integrity-pip,target=/root/.cache/pip --mount=type=secret,id=pip_ca \
    if [ -s /run/secrets/pip_ca ]; then export PIP_CERT=/run/secrets/pip_ca; fi; \
    python3 -m venv /opt/venv && /opt/venv/bin/pip install -q -r requirements/rasa.lock

COPY rasa_plugins/ rasa_plugins/
COPY credentials.yml credentials.yml
COPY deploy/endpoints.yml deploy/endpoints.yml
COPY models/integrity.tar.gz models/integrity.tar.gz
COPY deploy/docker/entrypoint.sh /usr/local/bin/entrypoint
# Every Python process reads the NAME_FILE secrets itself (see integrity_secret_files.py).
COPY deploy/docker/integrity_secret_files.py deploy/docker/integrity-secret-files.pth /opt/venv/lib/python3.10/site-packages/

USER rasa
EXPOSE 5005
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5005/', timeout=4)"]
ENTRYPOINT ["/usr/local/bin/entrypoint"]
# No --enable-api: the HTTP API (trackers, model replacement) stays off in production.
CMD ["rasa", "run", "--model", "models/integrity.tar.gz", "--endpoints", "deploy/endpoints.yml", \
     "--credentials", "credentials.yml", "--interface", "0.0.0.0", "--port", "5005"]
