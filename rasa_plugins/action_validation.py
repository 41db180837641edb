"""Rasa 3.6 checks every action server response with `jsonschema.validate`, which first validates the response
*schema* against the JSON Schema meta-schema and builds a new validator, on every call: about two thirds of a
chat turn on this machine (py-spy, issue 12). This builds the validator once per schema and validates with it:
the same schema (`RemoteAction.action_response_format_spec()`), the same checks (`best_match` over the same
errors, what `jsonschema.validate` raises) and the same message Rasa adds. A response is first checked by the
same schema compiled with fastjsonschema (pinned in requirements/rasa.lock); what it accepts is accepted, what
it refuses goes through jsonschema, which decides and raises Rasa's own error.

It replaces the method on the class at import time; no Rasa file is changed, so a fresh
`pip install -r requirements/rasa.lock` keeps working. `rasa_plugins/__init__.py` installs it whenever the Rasa
server imports this package, which it does for the tracker store of endpoints.yml and for the intent classifier
of config.yml, so `rasa run`, `rasa test` and the tests all get it.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import Any

MARKER = "_integrity_validator_built_once"
STOCK_SWITCH = "INTEGRITY_STOCK_ACTION_VALIDATION"  # "1": keep Rasa's own validation (the benchmark's baseline)


@lru_cache(maxsize=8)
def _validator(schema_json: str) -> Any:
    from jsonschema.validators import validator_for

    schema = json.loads(schema_json)
    cls = validator_for(schema)
    cls.check_schema(schema)  # once, as jsonschema.validate does on every call
    return cls(schema)


@lru_cache(maxsize=8)
def _fast_check(schema_json: str) -> Any:
    """The schema compiled to Python by fastjsonschema (about 4x faster on a valid response), or None without it."""
    try:
        import fastjsonschema
    except ImportError:
        return None
    return fastjsonschema.compile(json.loads(schema_json), use_default=False, use_formats=False)


@lru_cache(maxsize=8)
def _schema_json(spec: Any) -> str:
    """The response schema of a `action_response_format_spec` function, serialised once (it returns a constant)."""
    return json.dumps(spec(), sort_keys=True)


def validate_action_result(self: Any, result: dict[str, Any]) -> bool:
    from jsonschema.exceptions import best_match
    from rasa.shared.constants import DOCS_BASE_URL

    schema_json = _schema_json(type(self).action_response_format_spec)
    fast = _fast_check(schema_json)
    if fast is not None:
        import fastjsonschema

        try:
            fast(result)
            return True
        except fastjsonschema.JsonSchemaException:
            pass  # jsonschema decides, and gives Rasa's own error
    error = best_match(_validator(schema_json).iter_errors(result))
    if error is not None:
        error.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


def install() -> bool:
    """Put the once-built validation on Rasa's RemoteAction; False where Rasa is not installed (.venv) or the
    environment asks for Rasa's own validation."""
    if os.environ.get(STOCK_SWITCH) == "1":
        return False
    try:
        from rasa.core.actions.action import RemoteAction
    except ImportError:
        return False
    if not getattr(RemoteAction._validate_action_result, MARKER, False):
        setattr(validate_action_result, MARKER, True)
        RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
    return True
