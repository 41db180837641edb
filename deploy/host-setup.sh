#!/bin/bash
# Install the Debian packages the deployment test needs on this host (root, Debian bookworm): podman with runc
# and netavark/aardvark-dns (container networks with name resolution), debootstrap for the base image, patchelf
# for the Python 3.10 run path, openssl for the test certificate. Does nothing when they are all present.
set -euo pipefail
DEBS=(podman runc netavark aardvark-dns containernetworking-plugins slirp4netns uidmap debootstrap patchelf openssl iptables)
missing=()
for deb in "${DEBS[@]}"; do
    dpkg-query -W -f='${Status}' "$deb" 2>/dev/null | grep -q 'install ok installed' || missing+=("$deb")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "host-setup: install first (as root): apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "host-setup: installing ${missing[*]}"
apt-get update -q >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
