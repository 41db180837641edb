"""Phases that measure: resource use per container (podman stats) and throughput inside the backend network."""

from __future__ import annotations

import json
import os
import re
from typing import Any

from stack import PROJECT, container, log, podman


def seconds(duration: str) -> float:
    """A Go duration as podman prints it ('1m2.5s', '73.4ms', '812µs') in seconds."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
    return sum(float(value) * units[unit] for value, unit in re.findall(r"([\d.]+)(h|ms|m|s|us|µs|ns)", duration))


def cpu_times() -> dict[str, float]:
    stats = json.loads(podman("stats", "--no-stream", "--format", "json").stdout or "[]")
    return {row["name"]: seconds(row["cpu_time"]) for row in stats if row["name"].startswith(PROJECT)}


def measure_resources(results: dict[str, Any]) -> None:
    stats = json.loads(podman("stats", "--no-stream", "--format", "json").stdout or "[]")
    usage = {}
    for row in stats:
        name = row.get("name") or row.get("Name")
        if name and name.startswith(PROJECT):
            usage[name] = {"mem": row.get("mem_usage") or row.get("MemUsage"), "cpu": row.get("cpu_percent")
                           or row.get("CPU")}
    results["resources"] = usage
    for name, row in sorted(usage.items()):
        log(f"    {name}: memory {row['mem']}, cpu {row['cpu']}")


LOAD_SCRIPT = r"""
import json, statistics, sys, threading, time, urllib.request, uuid
users, turns = int(sys.argv[1]), int(sys.argv[2])
texts = ["hallo", "mag ik een geschenk van een leverancier aannemen", "en als het een fles wijn is",
         "een collega pest mij", "/kies_informeel", "bedankt"]
times, errors, lock = [], [], threading.Lock()
def user():
    sender = "load-" + uuid.uuid4().hex
    for i in range(turns):
        body = json.dumps({"sender": sender, "message": texts[i % len(texts)]}).encode()
        request = urllib.request.Request("http://172.31.250.10:5005/webhooks/rest/webhook", data=body,
                                         headers={"Content-Type": "application/json"})
        start = time.monotonic()
        try:
            urllib.request.urlopen(request, timeout=60).read()
            with lock: times.append(time.monotonic() - start)
        except Exception as exc:
            with lock: errors.append(type(exc).__name__)
start = time.monotonic()
threads = [threading.Thread(target=user) for _ in range(users)]
[t.start() for t in threads]; [t.join(120) for t in threads]
elapsed = time.monotonic() - start
times.sort()
print(json.dumps({"users": users, "turns": len(times), "errors": len(errors), "seconds": round(elapsed, 1),
                  "turns_per_s": round(len(times) / elapsed, 2),
                  "p50_ms": round(1000 * statistics.median(times)),
                  "p95_ms": round(1000 * times[int(0.95 * len(times)) - 1])}))
"""


def measure_throughput(results: dict[str, Any]) -> None:
    """Bounded load from inside the backend network (the web container), through nginx to both Rasa replicas and
    both action servers: 1 user x 30 turns, then 8 users x 12 turns."""
    runs = []
    log(f"    load average of the machine before: {os.getloadavg()[0]:.1f} (2 cores, shared with other work)")
    for users, turns in ((1, 30), (8, 12)):
        before = cpu_times()
        out = podman("exec", container("web"), "python", "-c", LOAD_SCRIPT, str(users), str(turns), timeout=300)
        after = cpu_times()
        result = json.loads(out.stdout.strip().splitlines()[-1])
        # CPU time each container used per turn: what sizing needs, whatever else the machine was doing.
        result["cpu_ms_per_turn"] = {name.removeprefix(PROJECT + "_"): round(1000 * (after[name] - before[name])
                                                                             / max(result["turns"], 1), 1)
                                     for name in after if name in before and after[name] > before[name]}
        runs.append(result)
        log(f"    load {runs[-1]}")
    results["throughput"] = runs
    results["load_average_during_throughput"] = [round(x, 2) for x in os.getloadavg()]
    measure_resources(results)
    results["resources_after_load"] = results.pop("resources")

