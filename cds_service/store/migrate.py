"""Bring the schema to the newest Alembic revision, safely from many processes at once.

Every gunicorn worker builds the app, so several processes start migrating together.
Each takes a database-wide lock first, and the whole upgrade runs in that one
transaction: the first process migrates, the others wait, then find the schema at
head and do nothing. PostgreSQL: a transaction-scoped advisory lock. SQLite: BEGIN
IMMEDIATE (the engine's default), which holds the database's write lock; SQLite DDL
is transactional, so a crash mid-migration leaves the old schema, not half a new one.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# pg_advisory_xact_lock key: any fixed bigint; this one is "wcds-mig" in ASCII.
_PG_LOCK_KEY = 0x7763_6473_2D6D_6967


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
