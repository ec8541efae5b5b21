"""The per-account statuses counter (``account_status_counts``): how many live statuses an account has
(not deleted, not boosts) and when its newest was published, for the Account entity's
``statuses_count`` and ``last_status_at`` on every page without counting rows.

The database keeps it, by triggers on ``statuses`` (created by migration ``0025_account_status_counts``
on SQLite and PostgreSQL): an insert of a live status adds one, a delete of one takes one away, and an
update of ``deleted_at``, ``reblog_of_id`` or ``actor_id`` moves it. No code path that adds or removes
a status can forget it. ``last_status_at`` only moves forward, as Mastodon's does. Anything that fills
``statuses`` with the triggers absent recounts with :data:`RECOUNT` (``fedigen db copy`` need not: its
target is migrated, and it copies the counters last, over what the triggers made).

On SQLite a migration that rebuilds ``statuses`` (``batch_alter_table`` copying it to a new table)
drops its triggers: such a migration must create them again (:func:`create_triggers`).
tests/storage/test_account_counts.py fails when they are missing at the head revision.
"""

from __future__ import annotations

from typing import Any

LIVE = "deleted_at IS NULL AND reblog_of_id IS NULL"

RECOUNT = [
    "DELETE FROM account_status_counts",
    f"""INSERT INTO account_status_counts (actor_id, statuses, last_status_at)
        SELECT actor_id, count(*), max(published) FROM statuses WHERE {LIVE} GROUP BY actor_id""",
]

_SQLITE_ADD = """INSERT INTO account_status_counts (actor_id, statuses, last_status_at)
    SELECT NEW.actor_id, 1, NEW.published WHERE NEW.deleted_at IS NULL AND NEW.reblog_of_id IS NULL
    ON CONFLICT (actor_id) DO UPDATE SET statuses = statuses + 1,
        last_status_at = max(coalesce(last_status_at, excluded.last_status_at), excluded.last_status_at);"""
_SQLITE_TAKE = """UPDATE account_status_counts SET statuses = statuses - 1
    WHERE actor_id = OLD.actor_id AND OLD.deleted_at IS NULL AND OLD.reblog_of_id IS NULL;"""

SQLITE_TRIGGERS = {
    "statuses_count_insert": f"AFTER INSERT ON statuses BEGIN {_SQLITE_ADD} END",
    "statuses_count_delete": f"AFTER DELETE ON statuses BEGIN {_SQLITE_TAKE} END",
    "statuses_count_update": (
        "AFTER UPDATE OF deleted_at, reblog_of_id, actor_id ON statuses "
        f"BEGIN {_SQLITE_TAKE} {_SQLITE_ADD} END"
    ),
}

POSTGRESQL_FUNCTION = """
CREATE OR REPLACE FUNCTION account_status_counts_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.deleted_at IS NULL AND OLD.reblog_of_id IS NULL THEN
        UPDATE account_status_counts SET statuses = statuses - 1 WHERE actor_id = OLD.actor_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.deleted_at IS NULL AND NEW.reblog_of_id IS NULL THEN
        INSERT INTO account_status_counts AS c (actor_id, statuses, last_status_at)
        VALUES (NEW.actor_id, 1, NEW.published)
        ON CONFLICT (actor_id) DO UPDATE SET statuses = c.statuses + 1,
            last_status_at = GREATEST(c.last_status_at, EXCLUDED.last_status_at);
    END IF;
    RETURN NULL;
END $$"""
POSTGRESQL_TRIGGER = """CREATE TRIGGER statuses_count AFTER INSERT OR DELETE OR UPDATE OF deleted_at,
    reblog_of_id, actor_id ON statuses FOR EACH ROW EXECUTE FUNCTION account_status_counts_keep()"""


def create_triggers(execute: Any, dialect: str) -> None:
    """Create the triggers with ``execute`` (a function running one SQL statement) on ``dialect``."""
    if dialect == "postgresql":
        execute(POSTGRESQL_FUNCTION)
        execute("DROP TRIGGER IF EXISTS statuses_count ON statuses")
        execute(POSTGRESQL_TRIGGER)
        return
    for name, body in SQLITE_TRIGGERS.items():
        execute(f"DROP TRIGGER IF EXISTS {name}")
        execute(f"CREATE TRIGGER {name} {body}")


def drop_triggers(execute: Any, dialect: str) -> None:
    """Drop what :func:`create_triggers` made."""
    if dialect == "postgresql":
        execute("DROP TRIGGER IF EXISTS statuses_count ON statuses")
        execute("DROP FUNCTION IF EXISTS account_status_counts_keep()")
        return
    for name in SQLITE_TRIGGERS:
        execute(f"DROP TRIGGER IF EXISTS {name}")
