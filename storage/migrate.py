"""Bring a database's schema up to date with alembic (``fedigen db migrate``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import MigrationError
from storage.db import FOREIGN_KEYS_OFF

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    """An alembic Config pointing at our migrations, without an alembic.ini on disk."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Run every pending migration on the engine's database."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))

    def _upgrade(connection: object) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    try:
        async with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                # SQLite's batch mode alters a table by copying it and dropping the old one; with foreign
                # keys on, that drop would delete every row that refers to it (ON DELETE CASCADE): a
                # user's account, posts and follows. So they are off while migrating, checked before the
                # commit, and the connection is not reused afterwards (a new one has them on again).
                connection = await connection.execution_options(**{FOREIGN_KEYS_OFF: True})
            try:
                await connection.run_sync(_upgrade)
                if sqlite:
                    broken = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).all()
                    if broken:
                        raise MigrationError(f"migration left rows whose references are gone: {broken[:5]}")
                await connection.commit()
            finally:
                if sqlite:
                    await connection.invalidate()
    except MigrationError:
        raise
    except Exception as exc:  # alembic and the drivers raise many kinds
        raise MigrationError(f"migration failed: {exc}") from exc
