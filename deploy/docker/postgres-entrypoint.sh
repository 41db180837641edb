#!/bin/sh
# First start: create the cluster with the superuser `integrity` (password from POSTGRES_PASSWORD_FILE) and the
# database `integrity`; password (scram) logins from the container network only. Then run the server.
set -eu
: "${PGDATA:?}" "${POSTGRES_PASSWORD_FILE:?set POSTGRES_PASSWORD_FILE to the secret file with the password}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    [ -r "$POSTGRES_PASSWORD_FILE" ] || { echo "postgres: $POSTGRES_PASSWORD_FILE is not readable" >&2; exit 1; }
    initdb --username=integrity --pwfile="$POSTGRES_PASSWORD_FILE" --auth-local=peer --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 -D "$PGDATA" >/dev/null
    echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
    echo "CREATE DATABASE integrity OWNER integrity" | postgres --single -D "$PGDATA" -j postgres >/dev/null
    echo "postgres: new cluster created in $PGDATA"
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/var/run/postgresql "$@"
