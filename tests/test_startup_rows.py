"""The suite's own shortcut (tests/conftest.py, StartupRows): an instance started from the kept rows of an
earlier start-up has the database a real start-up gives it, on which the start-up's creation of its
accounts changes nothing, and those accounts' keys are no other's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from fedigen.social import accounts, bot
from storage.models import Actor, User
from tests.conftest import HostRouter, Instance, make_settings, start_instance


async def _state(inst: Instance) -> dict[str, Any]:
    async with inst.services.sessions() as session:
        rows = {
            model.__tablename__: [
                {column.key: getattr(row, column.key) for column in model.__table__.columns}
                for row in await session.scalars(select(model).order_by(model.id))
            ]
            for model in (Actor, User)
        }
        if inst.settings.database_url.startswith("postgresql"):
            positions = await session.execute(
                text("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = current_schema()")
            )
            rows["sequences"] = sorted(tuple(row) for row in positions)
    alice = await inst.create_account("alice")  # after the start-up's accounts, whichever way they came
    rows["next"] = [(alice.id, alice.public_key_pem)]
    return rows


async def test_a_start_from_kept_rows_has_the_rows_of_a_real_start(
    tmp_path: Path, backend: str, router: HostRouter
) -> None:
    # A bot display name of this test alone: the first start is of a kind never started before.
    settings = [
        make_settings(tmp_path / str(n), backend, bot={"display_name": "Kept rows check"}) for n in (1, 2)
    ]
    async with start_instance(settings[0], router) as real:
        made = await _state(real)
        assert [actor["username"] for actor in made["actors"][:2]] == ["fedigen.test", "imagine"]
    async with start_instance(settings[1], router) as kept:
        # The creation, which such a start skips, finds the accounts and changes nothing.
        async with kept.services.sessions() as session, session.begin():
            instance_actor = await accounts.ensure_instance_actor(session, kept.services.urls)
            imagine = await bot.ensure_bot(session, kept.settings, kept.services.urls)
            assert not session.new and not session.dirty
        assert imagine is not None and [instance_actor.id, imagine.id] == [1, 2]
        again = await _state(kept)
    same_keys = [actor["public_key_pem"] for actor in again["actors"][:2]] == [
        actor["public_key_pem"] for actor in made["actors"][:2]
    ]
    assert same_keys, "the second start made its accounts anew: no keys were kept for its host (KeyPool)"
    assert again["actors"][:2] == made["actors"][:2] and again["users"][:1] == made["users"][:1]
    assert again.get("sequences") == made.get("sequences")
    assert again["next"][0][0] == made["next"][0][0]
    kept_keys = {actor["public_key_pem"] for actor in made["actors"][:2]}
    assert len(kept_keys) == 2
    assert made["next"][0][1] not in kept_keys and again["next"][0][1] not in kept_keys
