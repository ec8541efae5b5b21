"""The scene plan the procedural backend read travels with the post: on the media's provenance and the
status's ``fedigen.generation`` in the API, and not when the prompt is private (the plan would tell it)."""

from __future__ import annotations

from typing import Any

from fedigen.api import status_entities
from fedigen.social import accounts, generations
from generation.jobs import JobSpec
from storage.models import GenerationJob, MediaAttachment, Status
from tests.conftest import Instance


async def _post(inst: Instance, prompt: str, private: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """alice posts an image of ``prompt``; (the media's generation record, the status's API entity)."""
    svc = inst.services
    async with svc.sessions() as session, session.begin():
        alice = await accounts.get_local(session, "alice")
        job = await generations.request_generation(
            svc, session, alice, JobSpec(prompt=prompt), purpose="post",
            post=generations.post_options("made here", private_prompt=private),
        )  # fmt: skip
    await inst.drain()
    async with svc.sessions() as session:
        done = await session.get(GenerationJob, job.id)
        assert done is not None and done.status_id is not None
        row = await session.get(Status, done.status_id)
        assert row is not None
        [entity] = await status_entities.statuses(svc, session, [row], None)
        media = (
            (
                await session.execute(
                    MediaAttachment.__table__.select().where(MediaAttachment.job_id == job.id)
                )
            )
            .mappings()
            .one()
        )
    return dict(media["generation"]), entity


async def test_the_scene_plan_is_recorded_and_shown_unless_the_prompt_is_private(imagery: Instance) -> None:
    generation, entity = await _post(imagery, "a red boat at dawn, watercolour", private=False)
    assert generation["scene"]["subjects"][0]["name"] == "boat"
    assert generation["scene"]["subjects"][0]["colour_word"] == "red"
    assert (generation["scene"]["time"], generation["scene"]["style"]) == ("dawn", "watercolour")
    assert entity["fedigen"]["generation"]["scene"] == generation["scene"]
    generation, entity = await _post(imagery, "my secret garden with a fox", private=True)
    assert generation["scene"]["subjects"][0]["name"] == "fox"  # kept with the image, for its owner
    shown = entity["fedigen"]["generation"]
    assert "scene" not in shown and "prompt" not in shown and "fox" not in str(entity["fedigen"])
