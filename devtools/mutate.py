"""`make mutate`: mutation testing (mutmut) of the modules where a silent bug hurts most, with a kill rate per
module and the surviving mutants.

The files and the tests are configured in pyproject.toml (`[tool.mutmut]`); SCOPE below names the functions of
each file whose mutants count (a whole module is `module.*`). mutmut runs each mutant only against the selected
tests that reached the mutated function during its measuring run. Results stay in mutants/ (git-ignored);
`.venv/bin/mutmut show NAME` prints a mutant's diff. docs/testing.md lists the survivors and why they are accepted.

    python -m devtools.mutate              # run (what is not decided yet), then report
    python -m devtools.mutate --fresh      # delete mutants/ first: after changes to the mutated modules
    python -m devtools.mutate --survivors  # run the last run's survivors again (after adding tests)
    python -m devtools.mutate --report     # report on the last run only
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MUTMUT = REPO / ".venv" / "bin" / "mutmut"
MIN_KILL_RATE = 0.90

# (label, mutant-name patterns). mutmut names a mutant `<module>.x_<function>__mutmut_<n>` or
# `<module>.xǁ<Class>ǁ<method>__mutmut_<n>`.
SCOPE: list[tuple[str, tuple[str, ...]]] = [
    ("receipts", ("integrity.reports.receipts.*",)),
    ("follow-up throttle", ("integrity.reports.reporter.x__check_throttle__*",
                            "integrity.reports.reporter.x__record_failure__*",
                            "integrity.reports.reporter.x_authenticate_reporter__*")),
    ("rate limiter", ("bot.ratelimit.*",)),
    ("web chat throttle", ("bot.webchat.*",)),
    ("scope", ("integrity.staff.scope.*",)),
    ("deadlines", ("integrity.reports.deadlines.*",)),
    ("safety net: action guard", ("actions.safety.*",)),
    ("safety net: normalisation", ("integrity.textnorm.*",)),
    ("safety net: patterns", ("integrity.content.xǁContentǁsafety_route__*", "integrity.content.x__load_safety__*")),
    ("statistics", ("integrity.staff.statistics.*",)),
    ("conversation analytics", ("integrity.staff.analytics.*",)),
    ("CSV export", ("backoffice.routes.staff_stats.x_csv_safe__*",
                    "backoffice.routes.staff_stats.x_export_statistics__*")),
    ("sessions", ("integrity.staff.sessions.*",)),
]
KILLED = {1, 3, 24, -24, 36, 152, 255}  # a failing test, a pytest error, or a timeout
NO_TESTS = {5, 33}


def patterns() -> list[str]:
    return [pattern for _label, group in SCOPE for pattern in group]


def results() -> dict[str, int | None]:
    found: dict[str, int | None] = {}
    for meta in (REPO / "mutants").rglob("*.py.meta"):
        found.update(json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"])
    return found


def report(outcomes: dict[str, int | None]) -> int:
    """Print the kill rate per group and every survivor; 1 if a group is below MIN_KILL_RATE."""
    failing = 0
    survivors: dict[str, list[str]] = defaultdict(list)
    print(f"{'group':<30} {'mutants':>7} {'killed':>7} {'rate':>6}")
    total_all = killed_all = 0
    for label, group in SCOPE:
        names = sorted(n for n in outcomes if any(fnmatch.fnmatchcase(n, p) for p in group))
        checked = [n for n in names if outcomes[n] is not None]
        killed = [n for n in checked if outcomes[n] in KILLED]
        survivors[label] = [n for n in checked if outcomes[n] not in KILLED]
        rate = len(killed) / len(checked) if checked else 0.0
        failing += rate < MIN_KILL_RATE
        total_all, killed_all = total_all + len(checked), killed_all + len(killed)
        unchecked = len(names) - len(checked)
        print(f"{label:<30} {len(checked):>7} {len(killed):>7} {rate:>6.1%}"
              + (f"  ({unchecked} not run)" if unchecked else ""))
    print(f"{'all':<30} {total_all:>7} {killed_all:>7} {killed_all / max(1, total_all):>6.1%}")
    for label, names in survivors.items():
        for name in names:
            kind = "no test reached it" if outcomes[name] in NO_TESTS else "survived"
            print(f"  {label}: {name} ({kind})")
    return 1 if failing else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--report", action="store_true", help="only report on the last run")
    parser.add_argument("--fresh", action="store_true", help="delete mutants/ first (after source changes)")
    parser.add_argument("--survivors", action="store_true", help="run only the last run's survivors again")
    args = parser.parse_args(argv)
    if not args.report:
        if args.fresh:
            subprocess.run(["rm", "-rf", str(REPO / "mutants")], check=True)
        names = patterns()
        if args.survivors:
            outcomes = results()
            names = sorted(name for name, code in outcomes.items() if code is not None and code not in KILLED
                           and any(fnmatch.fnmatchcase(name, p) for p in patterns()))
            if not names:
                return report(outcomes)
        started = time.monotonic()
        subprocess.run([str(MUTMUT), "run", "--max-children", "2", *names], cwd=REPO, check=True,
                       stdout=subprocess.DEVNULL)
        print(f"mutmut run: {time.monotonic() - started:.0f} s")
    return report(results())


if __name__ == "__main__":
    sys.exit(main())
