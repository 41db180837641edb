"""Hypothesis fuzz tests of the web app's HTTP endpoints and of organisation profile loading (issue 7).

Run: `.venv/bin/pytest tests/fuzz` (about two minutes; `-v` also prints, per endpoint, how many fuzzed requests
got which status as which role). The routes are discovered from `create_app().routes`, so new pages and forms
are fuzzed without changes here; `tests/fuzz/targets.py` keeps only the minimum that must be found.

- test_http.py: Hypothesis, random requests per endpoint (GET query strings and path parameters, POST bodies);
- test_sweep.py: every parameter and form field gets every value of `SWEEP_VALUES` once (deterministic);
- test_chat_api.py: the chat's JSON API with a local Rasa stub, and with Rasa unreachable;
- test_profile_loading.py: mutated organisation profile YAML;
- test_checks.py: the oracle (`checks.py`) catches what it must.

Profiles of the Hypothesis settings (`tests/fuzz/profile.py`), chosen with the FUZZ_PROFILE environment variable:
- `ci` (default): derandomized, the same examples on every run, no example database, no shrinking;
- `long`: 20 times more examples, random, example database in `.hypothesis/` (git-ignored):
  `FUZZ_PROFILE=long .venv/bin/pytest tests/fuzz`.
"""
