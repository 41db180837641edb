#!/bin/sh
# Start nginx as www-data with the generated parts of its configuration (deploy/nginx/integrity.conf).
set -eu
mkdir -p /tmp/nginx
# NGINX_RESOLVER: the DNS server of the network the upstreams are on (compose: the backend network's). nginx asks
# its resolvers in turn, so it must not get the other networks' servers, which do not know the backend names.
servers=${NGINX_RESOLVER:-$(awk '$1 == "nameserver" { printf "%s ", ($2 ~ /:/ ? "[" $2 "]" : $2) }' /etc/resolv.conf)}
[ -n "$servers" ] || { echo "nginx-entrypoint: no nameserver in /etc/resolv.conf and no NGINX_RESOLVER" >&2; exit 1; }
echo "resolver $servers valid=10s ipv6=off; resolver_timeout 5s;" > /tmp/nginx/resolver.conf
: > /tmp/nginx/telegram-allow.conf
# Telegram's documented webhook source ranges; change them with TELEGRAM_SOURCE_RANGES if they change.
for range in ${TELEGRAM_SOURCE_RANGES:-149.154.160.0/20 91.108.4.0/22}; do
    echo "allow $range;" >> /tmp/nginx/telegram-allow.conf
done
exec nginx -c /etc/nginx/integrity/nginx.conf -g 'daemon off;' "$@"
