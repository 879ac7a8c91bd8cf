"""Alembic environment: migrates the database named in the config (see duecall.db.upgrade)."""

from __future__ import annotations

from typing import Any

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.types import TypeDecorator

import agent.models  # noqa: F401
import analytics.models
import analytics.qa.models  # noqa: F401
import crm.models  # noqa: F401  (registers the CRM tables on Base.metadata)
import dialer.models  # noqa: F401
import web.models  # noqa: F401
from duecall.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def render_item(kind: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """Render duecall's column types as their plain SQL types, so migrations stay frozen."""
    if kind == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


def run_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url, "alembic config needs sqlalchemy.url"
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            render_item=render_item,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
