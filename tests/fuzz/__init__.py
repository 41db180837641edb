"""Hypothesis fuzz tests of the web app's HTTP endpoints and of organisation profile loading (issue 7).

Run: `.venv/bin/pytest tests/fuzz` (about two minutes; `-v` also prints, per endpoint, how many fuzzed requests
got which status as which role). The routes are discovered from `create_app().routes`, so new pages and forms
are fuzzed without changes here; `tests/fuzz/targets.py` keeps only the minimum that must be found.

Profiles of the Hypothesis settings (`tests/fuzz/profile.py`), chosen with the FUZZ_PROFILE environment variable:
- `ci` (default): derandomized, the same examples on every run, no example database, no shrinking;
- `long`: 20 times more examples, random, example database in `.hypothesis/` (git-ignored):
  `FUZZ_PROFILE=long .venv/bin/pytest tests/fuzz`.
"""
