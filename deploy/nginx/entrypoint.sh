#!/bin/sh
# Start nginx as www-data with the generated parts of its configuration (deploy/nginx/integrity.conf), and keep its
# lists of Rasa and action server replicas up to date while it runs.
#
# The replicas are found by DNS (each registers its service name as a network alias), but nginx never waits for
# DNS while it handles a request: every NGINX_REPLICA_INTERVAL seconds (2) this script looks the names up itself
# and writes /tmp/nginx/upstream-NAME.conf (the servers of `upstream NAME_replicas`), and reloads nginx (gracefully)
# only when a list changed. A lookup that fails keeps the last list: Debian's aardvark-dns 1.4 stopped answering
# for up to 25 s during replica replacements in the deployment test, and with nginx's own resolver every chat
# message in that time failed (docs/deployment.md, nginx and the replicas).
set -eu
mkdir -p /tmp/nginx
CONFIG=/etc/nginx/integrity/nginx.conf
# name:port of each replicated service nginx balances over (integrity.conf: upstream NAME_replicas).
REPLICATED=${NGINX_REPLICATED:-rasa:5005 actions:5055}
INTERVAL=${NGINX_REPLICA_INTERVAL:-2}

: > /tmp/nginx/telegram-allow.conf
# Telegram's documented webhook source ranges; change them with TELEGRAM_SOURCE_RANGES if they change.
for range in ${TELEGRAM_SOURCE_RANGES:-149.154.160.0/20 91.108.4.0/22}; do
    echo "allow $range;" >> /tmp/nginx/telegram-allow.conf
done

# Addresses listed in /tmp/nginx/drain (one a line) are left out of the lists: deploy/replace-replica.sh drains a
# replica this way before it stops it, so that no request is sent to a replica that is shutting down.
DRAIN=/tmp/nginx/drain
touch "$DRAIN"

servers() {  # NAME PORT: one server line per IPv4 address DNS gives for NAME (the container's resolv.conf: the
             # backend network's server comes first), without drained ones; fails when the lookup fails
    found=$(getent ahostsv4 "$1" | awk '{ print $1 }' | sort -u) || return 1
    [ -n "$found" ] || return 1
    addresses=$(echo "$found" | grep -v -x -F -f "$DRAIN" || true)
    [ -n "$addresses" ] || addresses=$found  # never an empty list: drained ones rather than none
    for address in $addresses; do
        echo "server $address:$2 max_fails=1 fail_timeout=10s;"
    done
}

refresh() {  # rewrites the lists that changed; succeeds when at least one did
    changed=1
    for pair in $REPLICATED; do
        name=${pair%%:*}
        file=/tmp/nginx/upstream-$name.conf
        new=$(servers "$name" "${pair##*:}") || continue  # no answer: keep the last list
        if [ ! -f "$file" ] || [ "$new" != "$(cat "$file")" ]; then
            printf '%s\n' "$new" > "$file"
            echo "nginx-entrypoint: $name replicas: $(echo "$new" | awk '{ printf "%s ", $2 }')" >&2
            changed=0
        fi
    done
    return $changed
}

# At start every replicated service should resolve (compose starts the proxy after them); give it a minute.
tries=0
while :; do
    refresh || true
    missing=""
    for pair in $REPLICATED; do
        [ -f "/tmp/nginx/upstream-${pair%%:*}.conf" ] || missing="$missing ${pair%%:*}"
    done
    [ -z "$missing" ] && break
    tries=$((tries + 1))
    if [ "$tries" -ge 30 ]; then
        echo "nginx-entrypoint: no address for$missing yet; starting without (502 until they appear)" >&2
        for name in $missing; do echo "server 127.0.0.1:1;" > "/tmp/nginx/upstream-$name.conf"; done
        break
    fi
    sleep 2
done

nginx -c "$CONFIG" -g 'daemon off;' "$@" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || true' TERM INT
trap 'kill -QUIT "$pid" 2>/dev/null || true' QUIT
while kill -0 "$pid" 2>/dev/null; do
    sleep "$INTERVAL" &
    wait $! || true
    if refresh; then
        nginx -c "$CONFIG" -s reload 2>/dev/null || echo "nginx-entrypoint: reload failed" >&2
    fi
done
status=0
wait "$pid" || status=$?
exit "$status"
