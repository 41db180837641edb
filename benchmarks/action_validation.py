"""Chat turns with Rasa's own action-response validation against the once-built validator, in one run.

    .venv/bin/python -m benchmarks.action_validation [--turns 300]

Two stacks one after the other (the same model, action server and conversations of benchmarks.chat_load, one user,
after a warm-up): first with INTEGRITY_STOCK_ACTION_VALIDATION=1 (Rasa's `jsonschema.validate` on every call, the
baseline), then with rasa_plugins/action_validation.py. Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime
import tempfile
from pathlib import Path

from benchmarks.chat_load import bench_chat_load
from benchmarks.measure import machine
from devtools.stack import running_stack
from rasa_plugins.action_validation import STOCK_SWITCH


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=300)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, env in (("Rasa's jsonschema.validate (baseline)", {STOCK_SWITCH: "1"}),
                          ("validator built once", {STOCK_SWITCH: "0"})):
            with running_stack(Path(tmp) / name[:5], extra_env=env) as stack:
                result = bench_chat_load(stack.webhook, [1], min_turns=args.turns)[0]
            rows.append((name, result))
    base = rows[0][1].p50_ms
    print(f"Machine: {machine()}; {datetime.date.today()}; `.venv/bin/python -m benchmarks.action_validation "
          f"--turns {args.turns}`\n")
    print("| validation | turns | errors | p50 ms | p95 ms | p50 vs baseline |")
    print("|---|---|---|---|---|---|")
    for name, r in rows:
        print(f"| {name} | {r.turns} | {r.errors} | {r.p50_ms:.1f} | {r.p95_ms:.1f} | {r.p50_ms / base:.2f}x |")


if __name__ == "__main__":
    main()
