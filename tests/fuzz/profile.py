"""Hypothesis settings for the fuzz tests, chosen with the FUZZ_PROFILE environment variable.

- `ci` (default): few examples per target, derandomized (the same examples on every run, no example database),
  so that tests/fuzz stays within about two minutes and a failure reproduces; no shrinking (it would re-run a
  failing target for minutes): the failing example is shown as generated.
- `long`: 20 times more examples, random, with the example database in `.hypothesis/` (git-ignored) so that a
  failure found once is tried first on the next run. Example: `FUZZ_PROFILE=long .venv/bin/pytest tests/fuzz`.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, Phase, settings
from hypothesis.database import DirectoryBasedExampleDatabase

PROFILE = os.environ.get("FUZZ_PROFILE", "ci").strip() or "ci"
PROFILES = {"ci": 1, "long": 20}
if PROFILE not in PROFILES:
    raise RuntimeError(f"FUZZ_PROFILE='{PROFILE}' is unknown; use one of {', '.join(PROFILES)}")
DATABASE_DIR = Path(__file__).resolve().parents[2] / ".hypothesis" / "fuzz"


def fuzz_settings(examples: int) -> settings:
    """Settings for one fuzz target: `examples` in the ci profile, scaled up in the long one."""
    common = {
        "max_examples": examples * PROFILES[PROFILE],
        # Generous: one example may send a 140 kB body; the deadline catches pathological slowness, not jitter.
        "deadline": timedelta(seconds=20),
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
                                  HealthCheck.filter_too_much],
        "print_blob": True,
    }
    if PROFILE == "ci":
        return settings(derandomize=True, database=None, phases=[Phase.explicit, Phase.generate], **common)
    return settings(database=DirectoryBasedExampleDatabase(DATABASE_DIR), **common)
