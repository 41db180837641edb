#!/bin/bash
# Keep the host itself out of the backend network. Rootful podman gives the host an address on every bridge
# (podman's DNS server answers there), so without this rule anyone on the host could connect straight to Rasa's
# REST channel, an action server, Redis or PostgreSQL at their container addresses. The rule rejects new
# connections from the host into the backend subnet; replies (DNS answers to the containers) still pass, and the
# published ports are forwarded to nginx's address on the edge network, which stays reachable.
#   deploy/host-firewall.sh add|remove|check      (root; iptables)
set -euo pipefail
SUBNET=${BACKEND_SUBNET:-172.31.250.0/24}
RULE=(OUTPUT -d "$SUBNET" -m conntrack --ctstate NEW -m comment --comment integrity-backend -j REJECT)
command -v iptables >/dev/null || { echo "host-firewall: iptables is missing (apt-get install iptables)" >&2; exit 1; }
case "${1:-}" in
    add) iptables -C "${RULE[@]}" 2>/dev/null || iptables -I "${RULE[@]}" ;;
    remove) while iptables -C "${RULE[@]}" 2>/dev/null; do iptables -D "${RULE[@]}"; done ;;
    check) iptables -C "${RULE[@]}" 2>/dev/null ;;
    *) echo "usage: $0 add|remove|check" >&2; exit 2 ;;
esac
