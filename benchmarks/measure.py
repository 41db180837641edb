"""Small measuring helpers shared by the benchmarks."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from pathlib import Path


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def run_measured(args: list[str], cwd: Path, env: dict[str, str], log: Path) -> tuple[float, float]:
    """Run a command to completion; return wall seconds and its peak resident memory in MB."""
    start = time.monotonic()
    with log.open("w") as out:
        process = subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"command failed, see {log}: {' '.join(args)}")
    return time.monotonic() - start, usage.ru_maxrss / 1024


def cold_cache(env: dict[str, str], directory: Path) -> dict[str, str]:
    """`env` with an empty Rasa training cache in `directory`.

    Rasa caches trained components in ./.rasa/cache, shared by everyone training in this tree: a pipeline that
    was trained before on the same data would be "trained" in seconds. Training times need a cold cache.
    """
    directory.mkdir(parents=True, exist_ok=True)
    return {**env, "RASA_CACHE_DIRECTORY": str(directory)}


def machine() -> str:
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{platform.machine()}, {os.cpu_count()} cores ({cpu}), {memory_gb:.0f} GiB RAM, "
            f"Python {platform.python_version()}")
