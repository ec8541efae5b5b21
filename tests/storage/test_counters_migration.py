"""Migration 0019 fills ``status_counts`` from the rows an existing database already has: favourites,
live boosts, live replies and remixes, per status."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from storage.db import create_engine
from storage.migrate import upgrade

NOW = "'2026-01-01 00:00:00.000000'"


def actor(n: int) -> str:
    return (f"INSERT INTO actors (id, ap_id, ap_type, username, display_name, summary, locked, discoverable,"
            f" indexable, fields, also_known_as, created_at, updated_at) VALUES ({n}, 'https://r.test/u/{n}',"
            f" 'Person', 'u{n}', '', '', 0, 1, 1, '[]', '[]', {NOW}, {NOW})")  # fmt: skip


def status(n: int, author: int, *, reblog_of: int | None = None, reply_to: int | None = None,
           deleted: bool = False) -> str:  # fmt: skip
    return (f"INSERT INTO statuses (id, ap_id, actor_id, ap_type, local, content, summary, sensitive,"
            f" visibility, \"to\", cc, tags, attachments, extra, published, created_at, reblog_of_id,"
            f" in_reply_to_id, deleted_at) VALUES ({n}, 'https://r.test/s/{n}', {author}, 'Note', 0, '', '',"
            f" 0, 'public', '[]', '[]', '[]', '[]', '{{}}', {NOW}, {NOW}, {reblog_of or 'NULL'},"
            f" {reply_to or 'NULL'}, {NOW if deleted else 'NULL'})")  # fmt: skip


async def test_the_migration_counts_what_is_there(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/old.db")
    try:
        await upgrade(engine, "0016_image_moderation")
        rows = [actor(1), actor(2), actor(3), status(10, 1), status(11, 1), status(12, 2, reblog_of=10),
                status(13, 3, reblog_of=10), status(14, 3, reblog_of=10, deleted=True),
                status(15, 2, reply_to=10), status(16, 3, reply_to=10, deleted=True),
                status(17, 3, reply_to=11)]  # fmt: skip
        rows += [f"INSERT INTO favourites (actor_id, status_id, created_at) VALUES ({a}, {s}, {NOW})"
                 for a, s in ((2, 10), (3, 10), (3, 11))]  # fmt: skip
        remix = "('https://r.test/s/17', 17, 'https://r.test/s/11', 11, " + NOW + ")"
        rows += ["INSERT INTO remixes (child_ap_id, child_status_id, parent_ap_id, parent_status_id,"
                 f" created_at) VALUES {remix}"]  # fmt: skip
        async with engine.begin() as conn:
            for row in rows:
                await conn.execute(text(row))
        await upgrade(engine)
        async with engine.connect() as conn:
            found = (await conn.execute(text("SELECT * FROM status_counts ORDER BY status_id"))).all()
    finally:
        await engine.dispose()
    # status_id, favourites, reblogs (live), replies (live), remixes
    assert [tuple(r) for r in found] == [(10, 2, 2, 1, 0), (11, 1, 0, 1, 1)]
