#!/bin/sh
# Entry point of both application images. Secrets arrive as files (compose secrets in /run/secrets/, never in the
# image or an env file), named by NAME_FILE variables. This script only checks that each file is readable, with a
# clear message otherwise; every Python process then reads the files itself (integrity_secret_files.py, loaded
# by a .pth file in the virtualenv), so the values never enter a process environment.
set -eu
for name in $(env | sed -n 's/^\([A-Z][A-Z0-9_]*\)_FILE=.*/\1/p'); do
    eval "file=\${${name}_FILE}"
    if [ ! -r "$file" ]; then
        echo "entrypoint: ${name}_FILE points to $file, which is not readable" >&2
        exit 1
    fi
done
exec "$@"
