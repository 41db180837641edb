from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from integrity.errors import DataFileError


def load_mapping(path: Path) -> dict[str, Any]:
    """Read a YAML file whose top level must be a mapping."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataFileError(str(path), "<file>", f"cannot be read ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise DataFileError(str(path), "<file>", f"is not UTF-8 text (byte {exc.start})") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DataFileError(str(path), "<file>", f"is not valid YAML ({exc})") from exc
    except RecursionError:
        raise DataFileError(str(path), "<file>", "is not valid YAML (nested too deeply)") from None
    if not isinstance(data, dict):
        raise DataFileError(str(path), "<file>", "must contain a mapping at the top level")
    return data


def require(data: dict[str, Any], key: str, kind: type, path: Path, where: str = "") -> Any:
    field = f"{where}.{key}" if where else key
    if key not in data or data[key] is None:
        raise DataFileError(str(path), field, "is missing")
    value = data[key]
    if not isinstance(value, kind):
        raise DataFileError(str(path), field, f"must be a {kind.__name__}, got {type(value).__name__}")
    if isinstance(value, str) and not value.strip():
        raise DataFileError(str(path), field, "must not be empty")
    return value
