#!/bin/bash
# Build every image of deploy/compose.yaml on this host with podman, from Debian's packages only: no image
# registry is used (none is reachable here). Run from anywhere; `make deploy-test` calls it.
#
#   deploy/build-images.sh            # build what is missing or changed (layer cache)
#   TAG=1.2 deploy/build-images.sh    # tag the application images 1.2 instead of latest
#
# 1. localhost/integrity/debian:bookworm   debootstrap --variant=minbase bookworm, imported (once; REBASE=1 redoes it)
# 2. localhost/integrity/python:3.11      Debian's python3 (debian.Containerfile)
#    localhost/integrity/python:3.10      the host's pyenv CPython 3.10 (python310.Containerfile, docs/deployment.md)
#    integrity-nginx, -redis, -postgres     Debian's nginx-light, redis-server, postgresql-15
# 3. integrity-app, integrity-rasa        app.Dockerfile and rasa.Dockerfile with BASE= the images of step 2
# On a normal Docker host the same Dockerfiles build with their default BASE (the official python images).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
export CONTAINERS_CONF="$REPO/deploy/podman/containers.conf"
TAG=${TAG:-latest}
WORK="$REPO/var/deploy-build"
PYTHON310=${PYTHON310:-$(ls -d "$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"/versions/3.10.* 2>/dev/null | sort -V | tail -1)}
CA_BUNDLE=${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
NICE=(nice -n 10)

fail() { echo "build-images: $*" >&2; exit 1; }
step() { printf '%s build-images: %s\n' "$(date -u +%H:%M:%S)" "$*"; }
have_image() { podman image exists "$1"; }

for tool in podman runc debootstrap patchelf; do
    command -v "$tool" >/dev/null || fail "$tool is missing: run deploy/host-setup.sh (installs Debian's podman, runc, debootstrap, patchelf)"
done
[ -s "$CA_BUNDLE" ] || fail "no CA bundle at $CA_BUNDLE (set PIP_CERT to the bundle pip should trust)"
[ -f models/integrity.tar.gz ] || fail "models/integrity.tar.gz is missing: run 'make model' first (the Rasa image contains the model)"
mkdir -p "$WORK"

# 1. The Debian base, from Debian's packages.
if [ "${REBASE:-0}" = 1 ] || ! have_image localhost/integrity/debian:bookworm; then
    step "debootstrap --variant=minbase bookworm"
    rm -rf "$WORK/rootfs"
    "${NICE[@]}" debootstrap --variant=minbase bookworm "$WORK/rootfs" "$MIRROR" > "$WORK/debootstrap.log" 2>&1 \
        || fail "debootstrap failed; see $WORK/debootstrap.log"
    rm -rf "$WORK"/rootfs/var/lib/apt/lists/* "$WORK"/rootfs/var/cache/apt/*.bin
    tar -C "$WORK/rootfs" --numeric-owner -c . | podman import --quiet - localhost/integrity/debian:bookworm >/dev/null
    rm -rf "$WORK/rootfs"
fi

build() {  # tag containerfile context [build args...]
    local tag=$1 file=$2 context=$3
    shift 3
    step "build $tag"
    local ignore=()
    [ -f "$file.dockerignore" ] && ignore=(--ignorefile "$REPO/$file.dockerignore")
    "${NICE[@]}" podman build --quiet --layers --format docker -t "$tag" -f "$REPO/$file" "${ignore[@]}" \
        --secret "id=pip_ca,src=$CA_BUNDLE" "$@" "$context" >/dev/null \
        || fail "building $tag from $file failed (the podman output above says why)"
}

# 2. Runtime bases and infrastructure images (each Containerfile takes BASE; on Docker: debian:bookworm-slim).
DEBIAN=(--build-arg BASE=localhost/integrity/debian:bookworm)
build localhost/integrity/python:3.11 deploy/docker/python311.Containerfile deploy/docker "${DEBIAN[@]}"
for server in nginx redis postgres; do
    build "localhost/integrity-$server:$TAG" "deploy/docker/$server.Containerfile" . "${DEBIAN[@]}"
done

[ -x "$PYTHON310/bin/python3.10" ] || fail "no CPython 3.10 found (looked for pyenv's versions/3.10.*): install it with 'pyenv install 3.10' or set PYTHON310=/its/prefix"
if [ ! -f "$WORK/python3.10/.source" ] || [ "$(cat "$WORK/python3.10/.source")" != "$PYTHON310" ]; then
    step "stage CPython 3.10 from $PYTHON310"
    rm -rf "$WORK/python3.10"
    mkdir -p "$WORK/python3.10"
    # Only the interpreter, its standard library and headers: no tests, caches or site-packages (pyenv's pip and
    # anything installed into it stay outside; venv brings its own pip from ensurepip).
    tar -C "$PYTHON310" --exclude='lib/python3.10/test' --exclude='lib/python3.10/site-packages/*' \
        --exclude='__pycache__' --exclude='lib/python3.10/idlelib' --exclude='lib/python3.10/tkinter' \
        -c bin lib include | tar -C "$WORK/python3.10" -x
    # pyenv linked the interpreter with an absolute run path into its own prefix: make it relative.
    patchelf --set-rpath '$ORIGIN/../lib' "$WORK/python3.10/bin/python3.10"
    rm -f "$WORK/python3.10/bin/"{2to3*,idle*,pydoc*,python*-config}
    echo "$PYTHON310" > "$WORK/python3.10/.source"
fi
build localhost/integrity/python:3.10 deploy/docker/python310.Containerfile "$WORK" "${DEBIAN[@]}"

# 3. The application images, from the lock files.
build "localhost/integrity-app:$TAG" deploy/docker/app.Dockerfile . --build-arg BASE=localhost/integrity/python:3.11
build "localhost/integrity-rasa:$TAG" deploy/docker/rasa.Dockerfile . --build-arg BASE=localhost/integrity/python:3.10
step "done"
podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep integrity
