#!/bin/bash
# podman-compose, pinned (requirements/deploy.lock, in .venv-deploy), with this project's podman settings:
#   deploy/compose.sh up -d | ps | logs rasa | run --rm admin keygen | down ...
# Extra compose files (the deployment test's fake Telegram API) come in COMPOSE_FILES, space-separated.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
export CONTAINERS_CONF="$REPO/deploy/podman/containers.conf"
VENV="$REPO/.venv-deploy"
if [ ! -f "$VENV/.installed" ] || [ "$REPO/requirements/deploy.lock" -nt "$VENV/.installed" ]; then
    python3 -m venv "$VENV" && "$VENV/bin/pip" install -q -r "$REPO/requirements/deploy.lock" \
        || { echo "compose.sh: could not install podman-compose from requirements/deploy.lock into $VENV" >&2; exit 1; }
    touch "$VENV/.installed"
fi
files=(-f "$REPO/deploy/compose.yaml")
for extra in ${COMPOSE_FILES:-}; do files+=(-f "$extra"); done
exec "$VENV/bin/podman-compose" "${files[@]}" "$@"
