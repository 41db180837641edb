from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.stack import MODEL, RASA, REPO, Stack, StackError, rasa_env, running_stack

__all__ = ["REPO", "Stack", "rasa_env", "require_model"]


def require_model() -> None:
    if not MODEL.is_file() or not RASA.exists():
        pytest.fail("The trained model or .venv-rasa is missing: run the tests through `make test`.")


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The real Rasa server (Python 3.10 venv) and the real action server (this venv), on free ports."""
    require_model()
    try:
        with running_stack(tmp_path_factory.mktemp("server-logs")) as stack:
            yield stack
    except StackError as exc:
        pytest.fail(str(exc))
