"""Reading JSON Lines input for the evaluation commands (bin/ask, bin/converse): one object a line."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any


def json_lines(lines: Iterable[str]) -> Iterator[tuple[int, Any, str | None]]:
    """Yield (line number, parsed value, error) for every non-blank line; a line that is not JSON has an error."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line), None
        except json.JSONDecodeError as exc:
            yield number, None, f"line {number}: not valid JSON ({exc.msg})"
