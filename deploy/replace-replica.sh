#!/bin/bash
# Replace one replica of a replicated service (rasa or actions) by one from the image tag TAG, while the others
# serve: the rolling upgrade of docs/deployment.md (Upgrades without downtime). `make deploy-test` runs it.
#
#   TAG=2 deploy/replace-replica.sh rasa 1                  # integrity_rasa_1 from localhost/integrity-rasa:2
#   TAG=2 deploy/replace-replica.sh -p integrity-test actions 2   # in another compose project
#
# 1. Drain: the proxy leaves the replica's address out of its upstream list (deploy/nginx/entrypoint.sh reloads
#    nginx gracefully), then DRAIN_SECONDS (5) for the requests it is handling to finish.
# 2. Stop it (SIGTERM, at most 30 s) and remove it; podman-compose creates the missing replica from TAG
#    (`up --no-recreate`: every other container stays as it is; without it podman-compose would recreate all
#    replicas of the service and the proxy, since the image changed).
# 3. The new replica stays drained until its health check passes (Rasa loads its model: 40-180 s), then joins.
# The same environment as deploy/compose.sh (deploy/.env, or SECRETS_DIR and the rest in the environment).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
export CONTAINERS_CONF="$REPO/deploy/podman/containers.conf"
project=integrity
if [ "${1:-}" = "-p" ]; then project=$2; shift 2; fi
[ $# -eq 2 ] || { echo "usage: TAG=tag $0 [-p project] rasa|actions INDEX" >&2; exit 2; }
service=$1 index=$2
name=${project}_${service}_${index} proxy=${project}_proxy_1 network=${project}_backend
drain_seconds=${DRAIN_SECONDS:-5} health_timeout=${HEALTH_TIMEOUT:-420}

say() { printf '%s replace-replica: %s\n' "$(date -u +%H:%M:%S)" "$*"; }
fail() { echo "replace-replica: $*" >&2; exit 1; }
address() { podman inspect --format "{{(index .NetworkSettings.Networks \"$network\").IPAddress}}" "$1"; }
in_list() { podman exec "$proxy" grep -q -F "server $1:" "/tmp/nginx/upstream-$service.conf"; }
drain() { podman exec "$proxy" sh -c "echo $1 >> /tmp/nginx/drain"; }
undrain() { podman exec "$proxy" sh -c "grep -v -x -F $1 /tmp/nginx/drain > /tmp/nginx/drain.new; mv /tmp/nginx/drain.new /tmp/nginx/drain"; }

case $service in rasa|actions) ;; *) fail "only rasa and actions have replicas (not $service)";; esac
podman container exists "$name" || fail "no container $name"
old=$(address "$name")
say "draining $name ($old)"
drain "$old"
for _ in $(seq 30); do in_list "$old" || break; sleep 1; done
in_list "$old" && { undrain "$old"; fail "the proxy still sends to $old after 30 s (is $proxy running?)"; }
sleep "$drain_seconds"
say "stopping $name"
podman stop -t 30 "$name" >/dev/null
podman rm "$name" >/dev/null
undrain "$old"
say "creating $name from tag ${TAG:-of deploy/.env, else latest}"
"$REPO/deploy/compose.sh" -p "$project" up -d --no-deps --no-recreate --no-build "$service" >/dev/null
new=$(address "$name")
drain "$new"  # a loading replica gets no requests
deadline=$((SECONDS + health_timeout))
until podman healthcheck run "$name" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || { undrain "$new"; fail "$name not healthy after $health_timeout s"; }
    sleep 2
done
undrain "$new"
for _ in $(seq 30); do in_list "$new" && break; sleep 1; done
in_list "$new" || fail "the proxy did not add $name ($new) to its list"
say "$name ($new) healthy and serving, image $(podman inspect --format '{{.ImageName}}' "$name")"
