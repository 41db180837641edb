"""Two processes take turns on one conversation's lock, through a lock store on Redis (run with .venv-rasa).

`python tests/scale/lock_race.py PORT PASSWORD atomic|rasa ROUNDS` starts two worker processes; each takes the lock
ROUNDS times and, holding it, increments a counter in Redis by reading and writing it (not atomic on purpose).
Prints JSON: the counter (2 x ROUNDS when the lock excludes), lock errors and seconds taken.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import sys
import time
from typing import Any

CONVERSATION = "race"
COUNTER = "race-counter"


def store(port: int, password: str, kind: str) -> Any:
    from rasa.core.lock_store import RedisLockStore

    from rasa_plugins.redis_lock_store import AtomicRedisLockStore

    cls = AtomicRedisLockStore if kind == "atomic" else RedisLockStore
    return cls(host="127.0.0.1", port=port, password=password, db=1, key_prefix="race")


async def work(port: int, password: str, kind: str, rounds: int) -> int:
    locks = store(port, password, kind)
    errors = 0
    for _ in range(rounds):
        try:
            async with locks.lock(CONVERSATION, lock_lifetime=5, wait_time_in_seconds=0.005):
                value = int(locks.red.get(COUNTER) or 0)
                await asyncio.sleep(0.001)
                locks.red.set(COUNTER, value + 1)
        except Exception:
            errors += 1
    return errors


def worker(args: tuple[int, str, str, int]) -> int:
    return asyncio.run(work(*args))


def main() -> int:
    port, password, kind, rounds = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
    locks = store(port, password, kind)
    locks.red.delete(COUNTER)
    started = time.monotonic()
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        errors = sum(pool.map(worker, [(port, password, kind, rounds)] * 2))
    counter = int(locks.red.get(COUNTER) or 0)
    leftover = locks.red.keys("race:*")
    print(json.dumps({"counter": counter, "errors": errors, "seconds": round(time.monotonic() - started, 1),
                      "lock_keys_left": len(leftover)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
