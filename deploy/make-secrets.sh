#!/bin/sh
# Create the secret files deploy/compose.yaml mounts (deploy/secrets/, mode 0600, git-ignored). Run once on the
# host that runs compose; existing files are kept. Nothing here is the back office passphrase: that one is typed
# by an operator at `docker compose -f deploy/compose.yaml run --rm admin keygen` and stored in a password manager.
#   TELEGRAM_BOT_TOKEN=123:abc deploy/make-secrets.sh
# The TLS certificate and key (deploy/secrets/tls_certificate, tls_private_key) come from your certificate
# authority (full chain, PEM); this script does not make them.
set -eu
mkdir -p "${SECRETS_DIR:-$(dirname "$0")/secrets}" && cd "${SECRETS_DIR:-$(dirname "$0")/secrets}"
# Only the owner may enter the directory; the files themselves must be readable inside the containers, which run
# as their own unprivileged users (compose bind-mounts secret files with the host's permissions).
chmod 700 .
umask 022

random() { head -c 48 /dev/urandom | base64 | tr -d '/+=\n' | head -c 40; }
create() {  # name value: write the file unless it exists
    if [ -e "$1" ]; then echo "kept    deploy/secrets/$1"; else printf '%s' "$2" > "$1"; chmod 444 "$1"; echo "created deploy/secrets/$1"; fi
}

create postgres_password "$(random)"
create database_url "postgresql+psycopg://integrity:$(cat postgres_password)@172.31.250.21:5432/integrity?connect_timeout=5&tcp_user_timeout=5000"  # fixed address; fail a stalled connection in 5 s
create redis_password "$(random)"
create redis_auth_conf "requirepass $(cat redis_password)"
create sender_id_secret "$(random)"
create action_server_token "$(random)"  # Rasa -> action server (deploy/endpoints.yml, actions/server.py)
create backoffice_secret "$(random)"
create telegram_webhook_secret "$(random)"
create telegram_bot_token "${TELEGRAM_BOT_TOKEN:-}"
for file in tls_certificate tls_private_key; do
    [ -s "$file" ] || echo "missing deploy/secrets/$file: put the TLS certificate (full chain) and its key here" >&2
done
