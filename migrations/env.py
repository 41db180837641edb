"""Alembic environment for the report store.

The database comes from, in order: an engine passed by the caller in `config.attributes["engine"]` (the CLI's
`migrate` and the tests), `sqlalchemy.url` if set in the ini file, else DATABASE_URL via integrity.reports.db.
"""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlalchemy import Engine

from integrity.orm import Base, UTCDateTime
from integrity.reports import db  # imports both model modules: every table is in Base.metadata
from integrity.settings import DomainSettings

config = context.config
target_metadata = Base.metadata


def render_item(kind: str, item: Any, autogen_context: Any) -> str | bool:
    """New revisions must not import models.py: render our column types as plain SQLAlchemy types."""
    if kind == "type" and isinstance(item, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or DomainSettings.from_env().database_url


def run_offline() -> None:
    url = db.normalise_url(_url())
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True, compare_type=True,
                      render_item=render_item,
                      render_as_batch=url.get_backend_name() == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine: Engine | None = config.attributes.get("engine")
    own_engine = engine is None
    if engine is None:
        if config.config_file_name is not None:
            fileConfig(config.config_file_name, disable_existing_loggers=False)
        engine = db.make_engine(_url())
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=target_metadata, compare_type=True,
                              render_item=render_item, render_as_batch=connection.dialect.name == "sqlite")
            with context.begin_transaction():
                context.run_migrations()
    finally:
        if own_engine:
            engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
