"""The Alembic migrations produce exactly the schema of the models, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from integrity.orm import Base
from integrity.reports.cli import alembic_config, upgrade

TABLES = {"reports", "report_messages", "status_changes", "follow_up_attempts", "staff_users", "staff_sessions",
          "case_notes", "audit_log", "conversation_counts", "report_key_grants", "notification_events",
          "notification_outbox", "job_runs", "report_files", "pending_files"}


def test_upgrade_on_an_empty_database_matches_the_models(empty_engine: Engine) -> None:
    assert inspect(empty_engine).get_table_names() == []
    upgrade(empty_engine)
    assert set(inspect(empty_engine).get_table_names()) == TABLES | {"alembic_version"}

    with empty_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    command.check(alembic_config(empty_engine))  # `alembic check`: raises if autogenerate finds a difference


def test_downgrade_removes_everything_and_upgrade_is_repeatable(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    upgrade(empty_engine)  # already at head: nothing to do
    command.downgrade(alembic_config(empty_engine), "base")
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}
    upgrade(empty_engine)
    assert set(inspect(empty_engine).get_table_names()) >= TABLES
