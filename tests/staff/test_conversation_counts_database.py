"""Where the conversation counts (integrity/staff/analytics.py) are written: nowhere until the boundary says so."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from integrity.staff import analytics


def test_without_a_database_the_recorder_fails_in_english_and_the_boundary_sets_one() -> None:
    with pytest.raises(RuntimeError) as missing:
        analytics._no_database()
    assert str(missing.value) == "conversation counts have no database: the boundary calls analytics.use_database()"
    made: list[sessionmaker[Session]] = []

    def factory() -> sessionmaker[Session]:
        made.append(sessionmaker())
        return made[-1]

    analytics.use_database(factory)
    assert analytics.recorder.factory is factory
