"""Polls, for every origin: a local account's poll (posted with its status), votes, and the end.

A poll belongs to a status and federates as Mastodon's do (https://docs.joinmastodon.org/spec/activitypub/):
the status is a ``Question`` whose ``oneOf`` (single choice) or ``anyOf`` (multiple) options are Notes
with a ``name`` and ``replies.totalItems`` (the votes), with ``endTime``, ``closed`` once ended and
``votersCount``.

- A local account votes with :func:`vote`, whatever the front door (client API, C2S). On another
  server's poll each choice goes to the poll's author as a Create of a Note named after the option, in
  reply to the Question; on a local poll the vote is counted at once.
- A vote from another server is the same Note: :func:`receive_vote` counts it once per voter and
  option (and never stores it as a post); the author's followers, the voters and the boosters then get
  an ``Update{Question}`` with the new counts, in batches (``[worker] poll_update_delay``).
- A remote poll's counts come from its server's ``Update{Question}``: :func:`sync_remote` applies them
  without making the post an edit, as Mastodon does for updates that only change counts.
- :func:`run_due` (the worker) ends polls: the author and the local voters get a ``poll``
  notification, and a local poll's final counts are sent.

The caller commits, except in :func:`run_due`, which opens its own transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, distinct, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.activities import poll_update_of, vote_of
from activitypub.content import strip_html
from activitypub.notes import RemoteNote, RemotePoll
from activitypub.outbox import publish
from fedigen.errors import NotFoundError, ValidationError
from fedigen.services import Services
from fedigen.social.notifications import Kind, blocks, notify
from fedigen.social.visibility import can_see
from storage.db import on_commit
from storage.models import Actor, Poll, PollVote, Status, utcnow
from storage.records import in_ids, record

log = logging.getLogger(__name__)

# Mastodon's limits for local polls (app/validators/poll_validator.rb), shown in /api/v1/instance.
MAX_OPTIONS = 4
MAX_OPTION_CHARS = 50
MIN_EXPIRATION = 300  # seconds
MAX_EXPIRATION = 2_629_746  # a month
LIMITS = {
    "max_options": MAX_OPTIONS,
    "max_characters_per_option": MAX_OPTION_CHARS,
    "min_expiration": MIN_EXPIRATION,
    "max_expiration": MAX_EXPIRATION,
}
# Polls ended or updated per worker pass.
BATCH = 50


@dataclass
class PollRequest:
    """The poll a local account posts with a status (Mastodon's ``poll[...]`` parameters)."""

    options: list[str]
    expires_in: int | None
    multiple: bool = False
    hide_totals: bool = False


def check_request(request: PollRequest) -> list[str]:
    """The options of a poll to post, stripped (blank ones dropped, as Mastodon does), or 422."""
    options = [o.strip() for o in request.options if isinstance(o, str) and o.strip()]
    if len(options) < 2:
        raise ValidationError("poll[options]", "must have more than one item")
    if len(options) > MAX_OPTIONS:
        raise ValidationError("poll[options]", f"can't contain more than {MAX_OPTIONS} items")
    if any(len(o) > MAX_OPTION_CHARS for o in options):
        raise ValidationError("poll[options]", f"cannot be longer than {MAX_OPTION_CHARS} characters each")
    if len(set(options)) != len(options):
        raise ValidationError("poll[options]", "contain duplicate items")
    if request.expires_in is None:
        raise ValidationError("poll[expires_in]", "can't be blank")
    if request.expires_in > MAX_EXPIRATION:
        raise ValidationError("poll[expires_in]", "is too far into the future")
    if request.expires_in < MIN_EXPIRATION:
        raise ValidationError("poll[expires_in]", "is too soon")
    return options


def has_ended(poll: Poll, now: datetime | None = None) -> bool:
    """Whether the poll's end has passed (polls without an end never end)."""
    return poll.expires_at is not None and poll.expires_at <= (now or utcnow())


def votes_count(poll: Poll) -> int:
    """All votes, every option together."""
    return sum(int(t) for t in poll.tallies or [])


async def poll_of(session: AsyncSession, status_id: int, *, lock: bool = False) -> Poll | None:
    """The poll of a status; ``lock``: held until the transaction ends, so votes are counted one at a time."""
    query = select(Poll).where(Poll.status_id == status_id)
    return await session.scalar(query.with_for_update() if lock else query)


async def polls_of(session: AsyncSession, status_ids: Iterable[int]) -> dict[int, Poll]:
    """The polls of many statuses, by status id."""
    ids = list(set(status_ids))
    if not ids:
        return {}
    return {p.status_id: p for p in await session.scalars(select(Poll).where(Poll.status_id.in_(ids)))}


_POLLS = select(Poll.__table__).where(in_ids(Poll.status_id))
_VOTES = (
    select(PollVote.poll_id, PollVote.choice)
    .where(PollVote.actor_id == bindparam("voter_id"), in_ids(PollVote.poll_id))
    .order_by(PollVote.id)
)


def polls_of_statuses(conn: Connection, status_ids: Iterable[int]) -> dict[int, Any]:
    """:func:`polls_of` on a synchronous connection, as Core records (a statement built once)."""
    ids = list(set(status_ids))
    if not ids:
        return {}
    return {row.status_id: record(row._mapping) for row in conn.execute(_POLLS, {"ids": ids})}


def votes_of(conn: Connection, voter_id: int, poll_ids: Iterable[int]) -> dict[int, list[int]]:
    """:func:`own_votes` on a synchronous connection (a statement built once)."""
    ids = list(set(poll_ids))
    found: dict[int, list[int]] = {}
    if ids:
        for poll_id, choice in conn.execute(_VOTES, {"voter_id": voter_id, "ids": ids}):
            found.setdefault(poll_id, []).append(choice)
    return found


async def own_votes(session: AsyncSession, voter_id: int, poll_ids: Iterable[int]) -> dict[int, list[int]]:
    """The choices ``voter_id`` made in each of the polls, by poll id."""
    ids = list(set(poll_ids))
    found: dict[int, list[int]] = {}
    if not ids:
        return found
    rows = await session.execute(
        select(PollVote.poll_id, PollVote.choice)
        .where(PollVote.actor_id == voter_id, PollVote.poll_id.in_(ids))
        .order_by(PollVote.id)
    )
    for poll_id, choice in rows:
        found.setdefault(poll_id, []).append(choice)
    return found


# --- local polls ------------------------------------------------------------------------------------------


async def create_local(session: AsyncSession, status: Status, request: PollRequest) -> Poll:
    """The poll of a local account's new status (checked with :func:`check_request` beforehand)."""
    options = check_request(request)
    assert request.expires_in is not None
    poll = Poll(
        status_id=status.id, options=options, tallies=[0] * len(options), multiple=request.multiple,
        hide_totals=request.hide_totals, voters_count=0,
        expires_at=utcnow() + timedelta(seconds=request.expires_in),
    )  # fmt: skip
    session.add(poll)
    status.ap_type = "Question"  # every status with a poll is one: timelines look for polls only there
    await session.flush()
    return poll


async def replace_local(session: AsyncSession, status: Status, request: PollRequest) -> Poll:
    """A local poll changed by an edit: new options or a switch between single and multiple choice
    cancel every vote (Mastodon's UpdateStatusService); the end restarts from ``expires_in``."""
    poll = await poll_of(session, status.id, lock=True)
    if poll is None:
        return await create_local(session, status, request)
    options = check_request(request)
    assert request.expires_in is not None
    if options != list(poll.options) or request.multiple != poll.multiple:
        await session.execute(delete(PollVote).where(PollVote.poll_id == poll.id))
        poll.options, poll.tallies, poll.voters_count = options, [0] * len(options), 0
    poll.multiple, poll.hide_totals = request.multiple, request.hide_totals
    poll.expires_at = utcnow() + timedelta(seconds=request.expires_in)
    poll.ended_at, poll.update_due_at = None, None
    await session.flush()
    return poll


async def _recount(session: AsyncSession, poll: Poll) -> None:
    """A local poll's counts from its votes (exact, whatever ran before)."""
    rows = await session.execute(
        select(PollVote.choice, func.count()).where(PollVote.poll_id == poll.id).group_by(PollVote.choice)
    )
    by_choice = {choice: count for choice, count in rows}
    poll.tallies = [int(by_choice.get(i, 0)) for i in range(len(poll.options))]
    voters = await session.scalar(
        select(func.count(distinct(PollVote.actor_id))).where(PollVote.poll_id == poll.id)
    )
    poll.voters_count = int(voters or 0)


def _schedule_update(svc: Services, poll: Poll) -> None:
    """Send the new counts of a local poll soon, with the votes that arrive meanwhile (not while the author
    hides the totals: they go out at the end)."""
    if poll.hide_totals or poll.update_due_at is not None:
        return
    poll.update_due_at = utcnow() + timedelta(seconds=svc.settings.worker.poll_update_delay)


# --- votes ------------------------------------------------------------------------------------------------


def _check_vote(
    poll: Poll, status: Status, voter: Actor, choices: Sequence[int], mine: Sequence[int]
) -> None:
    """Mastodon's rules for a vote (app/validators/vote_validator.rb), as 422s naming ``choices``."""
    if not choices:
        raise ValidationError("choices", "can't be blank")
    if has_ended(poll):
        raise ValidationError("choices", "The poll has already ended")
    if any(c < 0 or c >= len(poll.options) for c in choices):
        raise ValidationError("choices", "The chosen vote option does not exist")
    if voter.id == status.actor_id:
        raise ValidationError("choices", "You cannot vote in your own polls")
    if not poll.multiple and (len(choices) > 1 or mine):
        raise ValidationError("choices", "You have already voted on this poll" if mine else
                              "This poll takes a single choice")  # fmt: skip
    if len(set(choices)) != len(choices) or set(choices) & set(mine):
        raise ValidationError("choices", "You have already voted on this poll")


async def vote(
    svc: Services, session: AsyncSession, voter: Actor, status: Status, choices: Sequence[int]
) -> list[PollVote]:
    """A local account votes in the poll of ``status`` (option indexes); returns the votes, whose ``ap_id``
    names each one's Note. On another server's poll each choice is sent to the poll's author as Mastodon
    sends it; a local poll's counts change at once."""
    poll = await poll_of(session, status.id, lock=True)
    if poll is None:
        raise NotFoundError("Record not found")
    mine = (await own_votes(session, voter.id, [poll.id])).get(poll.id, [])
    _check_vote(poll, status, voter, choices, mine)
    author = await session.get(Actor, status.actor_id)
    if author is None:
        raise NotFoundError("Record not found")
    votes = [PollVote(poll_id=poll.id, actor_id=voter.id, choice=c) for c in choices]
    session.add_all(votes)
    await session.flush()
    for row in votes:
        row.ap_id = f"{voter.ap_id}#votes/{row.id}"
    if status.local:
        await _recount(session, poll)
        _schedule_update(svc, poll)
    else:
        # Counted here until the author's server sends its own counts (as Mastodon does).
        tallies = list(poll.tallies or [])
        for c in choices:
            tallies[c] = int(tallies[c]) + 1
        poll.tallies = tallies
        if poll.voters_count is not None and not mine:
            poll.voters_count += 1
        for row in votes:
            activity = vote_of(row.ap_id or "", voter, status.ap_id, author.ap_id, poll.options[row.choice])
            await publish(session, voter, activity)
        on_commit(session, svc.work_queued)
    await session.flush()
    return votes


async def receive_vote(svc: Services, session: AsyncSession, voter: Actor, note: RemoteNote) -> bool:
    """A Note from another server that may be a vote: named after an option, in reply to a poll we have.

    Returns True when it was a vote, counted or refused (either way it is never stored as a post), and
    False when it is an ordinary post. Only votes in local polls are counted: once per voter and option,
    never after the end, never from an account the author blocks or that may not see the poll.
    """
    if not note.name or not note.in_reply_to_ap_id or note.poll is not None:
        return False
    status = await session.scalar(select(Status).where(Status.ap_id == note.in_reply_to_ap_id))
    poll = await poll_of(session, status.id, lock=True) if status is not None else None
    if status is None or poll is None:
        return False
    if status.deleted_at is not None:
        return not strip_html(note.content)  # a vote in a deleted poll counts for nothing
    if note.name not in poll.options:
        # A reply with a title and words of its own is a post; a bare name that is no option, a bad vote.
        return not strip_html(note.content)
    if not status.local:
        return True  # votes in other servers' polls are theirs to count
    choice = list(poll.options).index(note.name)
    mine = (await own_votes(session, voter.id, [poll.id])).get(poll.id, [])
    author = await session.get(Actor, status.actor_id)
    try:
        _check_vote(poll, status, voter, [choice], mine)
    except ValidationError as exc:
        log.info("vote %s by %s refused: %s", note.ap_id, voter.ap_id, exc)
        return True
    if author is None or await blocks(session, author, voter) or not await can_see(session, status, voter.id):
        log.info("vote %s by %s refused: may not see the poll", note.ap_id, voter.ap_id)
        return True
    session.add(PollVote(poll_id=poll.id, actor_id=voter.id, choice=choice, ap_id=note.ap_id))
    await session.flush()
    await _recount(session, poll)
    _schedule_update(svc, poll)
    return True


# --- remote polls -----------------------------------------------------------------------------------------


def significantly_changes(poll: Poll | None, remote: RemotePoll | None) -> bool:
    """Whether a received poll differs from the one we have in more than its counts and end (other
    options, or single and multiple choice swapped): Mastodon's test of a poll edit."""
    if poll is None or remote is None:
        return (poll is None) != (remote is None)
    return list(poll.options) != remote.options or poll.multiple != remote.multiple


async def sync_remote(
    session: AsyncSession, status: Status, remote: RemotePoll | None, *, allow_significant: bool
) -> bool:
    """Make a remote status's poll what its server sent (Mastodon's update_poll!): counts, end and voters
    always; other options (which cancel the local votes) or no poll at all only when
    ``allow_significant`` (a Create, or an Update that edits the post). Returns whether it changed
    significantly."""
    poll = await poll_of(session, status.id, lock=True)
    changed = significantly_changes(poll, remote)
    if changed and not allow_significant:
        return False
    if remote is None:
        if poll is not None:
            await session.delete(poll)
            await session.flush()
        return changed
    if poll is None:
        poll = Poll(status_id=status.id, hide_totals=False)
        session.add(poll)
        status.ap_type = "Question"  # as create_local: a status with a poll is a Question
    elif changed:
        await session.execute(delete(PollVote).where(PollVote.poll_id == poll.id))
    poll.options, poll.tallies, poll.multiple = list(remote.options), list(remote.tallies), remote.multiple
    poll.expires_at, poll.voters_count = remote.expires_at, remote.voters_count
    if poll.ended_at is not None and not has_ended(poll):
        poll.ended_at = None  # its end was moved later
    await session.flush()
    return changed


# --- the worker: ends and batched updates ------------------------------------------------------------------


async def _remote_inboxes(session: AsyncSession, poll: Poll, status: Status) -> list[str]:
    """Inboxes of the remote voters and boosters, who get a local poll's updates besides its audience."""
    voters = select(PollVote.actor_id).where(PollVote.poll_id == poll.id)
    boosters = select(Status.actor_id).where(Status.reblog_of_id == status.id, Status.deleted_at.is_(None))
    rows = await session.scalars(
        select(func.coalesce(Actor.shared_inbox_url, Actor.inbox_url))
        .where(Actor.domain.is_not(None), Actor.id.in_(voters.union(boosters)))
        .distinct()
    )
    return [r for r in rows if r]


async def _send_counts(svc: Services, session: AsyncSession, poll: Poll, status: Status) -> None:
    """Update{Question} of a local poll with its counts, to the status's audience, voters and boosters."""
    poll.update_due_at = None
    author = await session.get(Actor, status.actor_id)
    if author is None or status.deleted_at is not None:
        return
    await publish(session, author, poll_update_of(status, author, svc.urls, poll),
                  extra_inboxes=await _remote_inboxes(session, poll, status))  # fmt: skip


async def _end(svc: Services, session: AsyncSession, poll: Poll, now: datetime) -> None:
    """A poll has ended: its local voters (and its author, if local) hear of it; a local one's final
    counts go out (Mastodon's PollExpirationNotifyWorker)."""
    claimed = await session.execute(
        update(Poll).where(Poll.id == poll.id, Poll.ended_at.is_(None)).values(ended_at=now)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return  # another worker took it
    status = await session.get(Status, poll.status_id)
    if status is None or status.deleted_at is not None:
        return
    author = await session.get(Actor, status.actor_id)
    if author is None:
        return
    local_voters = await session.scalars(
        select(Actor).where(
            Actor.domain.is_(None), Actor.id.in_(select(PollVote.actor_id).where(PollVote.poll_id == poll.id))
        )  # fmt: skip
    )
    for voter in local_voters:
        await notify(session, voter, Kind.POLL, author, status)
    if status.local:
        await notify(session, author, Kind.POLL, author, status)
        await _send_counts(svc, session, poll, status)


def _ending(now: datetime) -> Any:
    return and_(Poll.expires_at <= now, Poll.ended_at.is_(None))


async def run_due(svc: Services) -> int:
    """End the polls whose time is up and send the counts that are due; returns how many polls.

    Runs each worker pass: it looks first with a read (no write lock on SQLite) and writes only when a
    poll is due."""
    now = utcnow()
    async with svc.reads() as session:
        ending = await session.scalar(select(Poll.id).where(_ending(now)).limit(1))
        updating = await session.scalar(select(Poll.id).where(Poll.update_due_at <= now).limit(1))
    if ending is None and updating is None:
        return 0
    async with svc.sessions() as session, session.begin():
        ended = list(await session.scalars(
            select(Poll).where(_ending(now))
            .order_by(Poll.expires_at).limit(BATCH).with_for_update(skip_locked=True)
        ))  # fmt: skip
        for poll in ended:
            await _end(svc, session, poll, now)
        due = list(await session.scalars(
            select(Poll).where(Poll.update_due_at <= now)
            .order_by(Poll.update_due_at).limit(BATCH).with_for_update(skip_locked=True)
        ))  # fmt: skip
        for poll in due:
            status = await session.get(Status, poll.status_id)
            if status is not None and status.local:
                await _send_counts(svc, session, poll, status)
            else:
                poll.update_due_at = None
        worked = len(ended) + len(due)
        if worked:
            on_commit(session, svc.work_queued)
    return worked
