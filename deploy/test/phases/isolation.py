"""Phases: only nginx publishes ports and the backend is unreachable from the host; secrets are files."""

from __future__ import annotations

import json
import os
import socket
from typing import Any

from stack import PROJECT, SECRETS, check, container, podman, run


def test_isolation(results: dict[str, Any]) -> None:
    published = {}
    for line in podman("ps", "--filter", f"label=io.podman.compose.project={PROJECT}", "--format",
                       "{{.Names}} {{.Ports}}").stdout.splitlines():
        name, _, ports = line.partition(" ")
        if ports.strip():
            published[name] = ports.strip()
    check(list(published) == [container("proxy")], f"containers with published ports: {published}")
    for port in (5005, 5055, 6379, 5432, 8000, 8443):  # nothing of the backend on the host's loopback
        with socket.socket() as sock:
            sock.settimeout(2)
            check(sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} is reachable on the host")
    # The backend network is internal (no route out). The host has an address on its bridge (podman's DNS server
    # answers there), so deploy/host-firewall.sh rejects new connections from the host into it.
    inspect = json.loads(podman("network", "inspect", f"{PROJECT}_backend").stdout)[0]
    interface = inspect.get("network_interface", "")
    addresses = run("ip", "-o", "addr", "show", "dev", interface, check_rc=False, quiet=True).stdout
    check(inspect.get("internal") is True, "the backend network is not internal")
    unreachable = {}
    targets = [(service, port, "backend") for service, port in
               (("rasa", 5005), ("actions", 5055), ("redis", 6379), ("postgres", 5432), ("web", 8000),
                ("telegram", 8443), ("proxy", 5005), ("proxy", 5055))]
    targets += [("proxy", 5005, "edge"), ("proxy", 5055, "edge"), ("telegram", 8443, "edge")]
    for service, port, network in targets:
        ip = json.loads(podman("inspect", container(service)).stdout)[0]["NetworkSettings"]["Networks"][
            f"{PROJECT}_{network}"]["IPAddress"]
        with socket.socket() as sock:
            sock.settimeout(3)
            try:
                rc = sock.connect_ex((ip, port))
            except OSError as exc:
                rc = exc.errno or -1
        unreachable[f"{service} {network} {ip}:{port}"] = f"connect: {os.strerror(rc) if rc > 0 else rc}"
        check(rc != 0, f"{service} at {ip}:{port} is reachable from the host")
    # Inside the backend network, only the Rasa server's token opens the action server (actions/server.py).
    refused = {}
    for label, header in (("no token", ""), ("wrong token", "Bearer " + "x" * 43)):
        probe = ("import json, sys, urllib.error, urllib.request\n"
                 "request = urllib.request.Request('http://actions:5055/webhook', method='POST',"
                 " data=json.dumps({'next_action': 'action_report_finish', 'sender_id': 'probe'}).encode(),"
                 " headers={'Content-Type': 'application/json',"
                 " **({'Authorization': sys.argv[1]} if sys.argv[1] else {})})\n"
                 "try:\n    print(urllib.request.urlopen(request, timeout=10).status)\n"
                 "except urllib.error.HTTPError as exc:\n    print(exc.code)\n")
        status = podman("exec", container("web"), "python", "-c", probe, header, check_rc=False).stdout.strip()
        refused[label] = status
        check(status == "401", f"the action server answered {status or 'nothing'} to a call with {label}")
    results["isolation"] = {"published": published, "host_address_on_backend_bridge": addresses.strip() or "none",
                            "from_host": unreachable, "action_server_without_the_rasa_token": refused}


def test_secrets(results: dict[str, Any]) -> None:
    values = {path.name: path.read_text().strip() for path in SECRETS.iterdir()
              if path.name not in ("tls_certificate",) and path.read_text().strip()}
    names = podman("ps", "--filter", f"label=io.podman.compose.project={PROJECT}", "--format",
                   "{{.Names}}").stdout.split()
    mounted = {}
    for name in names:
        config = podman("inspect", name).stdout
        for secret, value in values.items():
            check(value not in config, f"{secret} appears in the configuration of {name} (podman inspect)")
        listing = podman("exec", name, "sh", "-c", "ls /run/secrets 2>/dev/null", check_rc=False).stdout.split()
        mounted[name] = listing
        # The environment block of every process in the container (the services, Sanic's spawned workers).
        environments = podman("exec", name, "sh", "-c", "cat /proc/[0-9]*/environ 2>/dev/null",
                              check_rc=False).stdout
        for secret, value in values.items():
            check(value not in environments, f"{secret} is in a process environment in {name}")
    check("database_url" in mounted[container("web")] and "redis_password" in mounted[container("rasa")],
          f"secret files missing: {mounted}")
    results["secrets"] = {"mounted": mounted, "in_container_config": "none", "in_process_environments": "none"}
