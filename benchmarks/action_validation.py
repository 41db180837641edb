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

from benchmarks.chat_load import LoadResult, bench_chat_load
from benchmarks.measure import machine
from devtools.stack import running_stack
from rasa_plugins.action_validation import STOCK_SWITCH


def bench_action_validation(turns: int = 300) -> list[tuple[str, LoadResult]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, env in (("Rasa's jsonschema.validate (baseline)", {STOCK_SWITCH: "1"}),
                          ("validator built once", {STOCK_SWITCH: "0"})):
            with running_stack(Path(tmp) / name[:5], extra_env=env) as stack:
                rows.append((name, bench_chat_load(stack.webhook, [1], min_turns=turns)[0]))
    return rows


def table(rows: list[tuple[str, LoadResult]] | None) -> list[str]:
    lines = ["## Action-response validation: Rasa's own against the validator built once", ""]
    if rows is None:
        return [*lines, "Not measured in this run (--skip-chat).", ""]
    base = rows[0][1].p50_ms
    return [*lines,
            "One user, after a warm-up, the conversations of the chat-load section; both stacks in the same run, the "
            "baseline first (`INTEGRITY_STOCK_ACTION_VALIDATION=1`, rasa_plugins/action_validation.py).", "",
            "| validation | turns | errors | p50 ms | p95 ms | p50 vs baseline |", "|---|---|---|---|---|---|",
            *(f"| {name} | {r.turns} | {r.errors} | {r.p50_ms:.1f} | {r.p95_ms:.1f} | {r.p50_ms / base:.2f}x |"
              for name, r in rows), ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=300)
    args = parser.parse_args()
    print(f"Machine: {machine()}; {datetime.date.today()}; `.venv/bin/python -m benchmarks.action_validation "
          f"--turns {args.turns}`\n")
    print("\n".join(table(bench_action_validation(args.turns))))


if __name__ == "__main__":
    main()
