"""Copy a whole fedigen database into another, empty one (``fedigen db copy``): SQLite to PostgreSQL when
an instance outgrows its file, or back.

The target is migrated to the same schema revision as the source, then every table is copied in
foreign-key order (parents first) in one transaction on the target, so a failed copy leaves it empty.
A column that refers to a later row of its own table (a reply to a post stored after it) is filled
in a second pass.
On PostgreSQL each table's id sequence is then set past the highest id copied, so new rows do not
collide with copied ones. The source must not change meanwhile: stop fedigen first.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, MetaData, Table, func, select, text, update
from sqlalchemy.exc import SAWarning
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import StorageError
from storage import clients as _clients  # noqa: F401 - its tables belong to Base.metadata
from storage.migrate import upgrade
from storage.models import Base

BATCH = 1000
VERSION_TABLE = "alembic_version"
# One-row counters the migrations themselves seed: a freshly migrated target holds their row, which the
# source's replaces.
SEEDED_TABLES = frozenset({"moderation_version", "prompt_rules_version"})
# Counters the target's triggers fill as the rows they count are copied (storage.account_counts): copied
# last, over what the triggers made, so the target holds the source's values exactly.
DERIVED_TABLES = frozenset({"account_status_counts"})


class CopyError(StorageError):
    """The copy cannot be made (a non-empty target, schemas at different revisions)."""


@dataclass
class CopyReport:
    """Rows copied per table, in the order they were copied."""

    revision: str | None
    rows: dict[str, int] = field(default_factory=dict)


def _revision(conn: Connection) -> str | None:
    tables = MetaData()
    tables.reflect(conn, only=lambda name, _: name == VERSION_TABLE)
    if VERSION_TABLE not in tables.tables:
        return None
    return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def _tables(conn: Connection) -> list[Table]:
    """The target's tables in foreign-key order, each as our models declare it when they do (typed
    columns: timestamps, JSON, booleans), else as the database says."""
    reflected = MetaData()
    with warnings.catch_warnings():  # expression indexes are not reflected: only the table order is used
        warnings.simplefilter("ignore", SAWarning)
        reflected.reflect(conn)
    ordered = [t for t in reflected.sorted_tables if t.name != VERSION_TABLE]
    return [Base.metadata.tables.get(t.name, t) for t in ordered]


def _self_references(table: Table) -> list[str]:
    return sorted({fk.parent.name for fk in table.foreign_keys if fk.column.table.name == table.name})


async def copy_database(source: AsyncEngine, target: AsyncEngine) -> CopyReport:
    """Copy every row of ``source`` into ``target`` (migrated here; it must hold no rows)."""
    async with source.connect() as conn:
        revision = await conn.run_sync(_revision)
    if revision is None:
        raise CopyError("the source database has no schema yet (run `fedigen db migrate`)")
    await upgrade(target, revision)
    async with target.connect() as conn:
        target_revision = await conn.run_sync(_revision)
        tables = await conn.run_sync(_tables)
        for table in tables:
            if table.name not in SEEDED_TABLES and await conn.scalar(select(func.count()).select_from(table)):
                raise CopyError(f"the target database is not empty (table {table.name} has rows)")
    if target_revision != revision:
        raise CopyError(f"the target's schema is at {target_revision}, the source's at {revision}")
    report = CopyReport(revision=revision)
    async with source.connect() as src, target.begin() as dst:
        derived = [table for table in tables if table.name in DERIVED_TABLES]
        for table in [t for t in tables if t.name not in DERIVED_TABLES] + derived:
            if table.name in SEEDED_TABLES or table.name in DERIVED_TABLES:
                await dst.execute(table.delete())
            report.rows[table.name] = await _copy_table(src, dst, table)
        if target.dialect.name == "postgresql":
            for table in tables:
                await _fix_sequence(dst, table)
    return report


async def _copy_table(src: Any, dst: Any, table: Table) -> int:
    key = list(table.primary_key.columns)
    deferred = _self_references(table)
    later: list[dict[str, Any]] = []
    copied = 0
    last: Sequence[Any] | None = None
    while True:
        query = select(table).order_by(*key).limit(BATCH)
        if last is not None:
            if len(key) != 1:
                raise CopyError(f"table {table.name} has a composite primary key")
            query = query.where(key[0] > last[0])
        rows = [dict(row._mapping) for row in (await src.execute(query))]
        if not rows:
            return copied
        for row in rows:
            own = row[key[0].name] if len(key) == 1 else None
            refs = {name: row[name] for name in deferred if _waits(own, row[name])}
            if refs:
                later.append({**{c.name: row[c.name] for c in key}, **refs})
                row.update(dict.fromkeys(refs))
        await dst.execute(table.insert(), rows)
        copied += len(rows)
        last = [rows[-1][c.name] for c in key]
        if len(rows) < BATCH:
            break
    for refs in later:  # now that every row of the table is there
        where = [c == refs[c.name] for c in key]
        await dst.execute(update(table).where(*where).values({n: refs[n] for n in deferred if n in refs}))
    return copied


def _waits(own: Any, ref: Any) -> bool:
    """Whether a reference to the same table must wait for the second pass: rows are copied in key
    order, so a reference to a row with a smaller key is already there."""
    if ref is None:
        return False
    return not (isinstance(own, int) and isinstance(ref, int) and ref < own)


async def _fix_sequence(dst: Any, table: Table) -> None:
    """Set the table's id sequence past the highest id (PostgreSQL)."""
    if len(table.primary_key.columns) != 1:
        return
    column = next(iter(table.primary_key.columns))
    sequence = await dst.scalar(
        text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column.name}
    )
    if sequence is None:
        return
    await dst.execute(
        text(
            f"SELECT setval(CAST(CAST(:s AS text) AS regclass),"
            f' COALESCE((SELECT MAX("{column.name}") FROM "{table.name}"), 0) + 1, false)'
        ),
        {"s": sequence},
    )
