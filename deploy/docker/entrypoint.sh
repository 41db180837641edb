#!/bin/sh
# Entry point of both images. Secrets arrive as files (compose secrets in /run/secrets/, never in the image or in
# an env file): for every VARIABLE_FILE in the environment, export VARIABLE with that file's content, then run
# the command. Example: REDIS_PASSWORD_FILE=/run/secrets/redis_password gives REDIS_PASSWORD.
set -eu
for name in $(env | sed -n 's/^\([A-Z][A-Z0-9_]*\)_FILE=.*/\1/p'); do
    eval "file=\${${name}_FILE}"
    if [ ! -r "$file" ]; then
        echo "entrypoint: ${name}_FILE points to $file, which is not readable" >&2
        exit 1
    fi
    value=$(cat "$file")
    export "$name=$value"
    unset "${name}_FILE"
done
exec "$@"
