"""The migrations build exactly the schema the models describe (so `fedigen db migrate` is complete)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from storage import clients, signup  # noqa: F401 - the client-side tables are part of the schema
from storage.db import create_engine
from storage.migrate import upgrade
from storage.models import Base


async def test_a_migrated_database_matches_the_models(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/schema.db")
    try:
        await upgrade(engine)

        def differences(connection: Any) -> list[Any]:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))

        async with engine.connect() as connection:
            diffs = await connection.run_sync(differences)
    finally:
        await engine.dispose()
    # SQLite cannot reflect the expression index on lower(username); nothing else may differ.
    assert [d for d in diffs if "uq_actors_local_username" not in str(d)] == []
