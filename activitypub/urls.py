"""The URL scheme of local ActivityPub objects; the one place that spells our paths."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import quote, urlsplit


@dataclass(frozen=True)
class LocalUrls:
    """Builds ids and page URLs under the instance's public base URL."""

    base: str

    @property
    def host(self) -> str:
        """host[:port] of the base URL."""
        return urlsplit(self.base).netloc

    def actor(self, username: str) -> str:
        """Actor id of a local account."""
        return f"{self.base}/users/{quote(username)}"

    def key(self, username: str) -> str:
        """keyId of a local account's RSA key."""
        return f"{self.actor(username)}#main-key"

    def inbox(self, username: str) -> str:
        """Per-account inbox."""
        return f"{self.actor(username)}/inbox"

    def outbox(self, username: str) -> str:
        """Per-account outbox."""
        return f"{self.actor(username)}/outbox"

    def followers(self, username: str) -> str:
        """Followers collection."""
        return f"{self.actor(username)}/followers"

    def following(self, username: str) -> str:
        """Following collection."""
        return f"{self.actor(username)}/following"

    def featured(self, username: str) -> str:
        """Pinned posts collection."""
        return f"{self.actor(username)}/collections/featured"

    def profile(self, username: str) -> str:
        """Human-readable profile page."""
        return f"{self.base}/@{quote(username)}"

    def avatar(self, username: str) -> str:
        """Default avatar image."""
        return f"{self.base}/avatars/{quote(username)}.png"

    @property
    def shared_inbox(self) -> str:
        """The instance's shared inbox."""
        return f"{self.base}/inbox"

    @property
    def instance_actor(self) -> str:
        """The Application actor used for signed fetches not made for a user."""
        return f"{self.base}/actor"

    def status(self, username: str, status_id: int) -> str:
        """Note id."""
        return f"{self.actor(username)}/statuses/{status_id}"

    def likes(self, username: str, status_id: int) -> str:
        """Collection counting a Note's favourites (Mastodon's path)."""
        return f"{self.status(username, status_id)}/likes"

    def shares(self, username: str, status_id: int) -> str:
        """Collection counting a Note's boosts (Mastodon's path)."""
        return f"{self.status(username, status_id)}/shares"

    def status_page(self, username: str, status_id: int) -> str:
        """Human-readable page of a Note."""
        return f"{self.profile(username)}/{status_id}"

    def create_activity(self, username: str, status_id: int) -> str:
        """Id of the Create activity of a Note."""
        return f"{self.status(username, status_id)}/activity"

    def new_activity(self) -> str:
        """A fresh id for any other activity we publish."""
        return f"{self.base}/activities/{uuid.uuid4()}"

    def tag(self, name: str) -> str:
        """Hashtag page."""
        return f"{self.base}/tags/{quote(name.lower())}"

    def is_local(self, url: str | None) -> bool:
        """True when the URL is on our own host."""
        if not url:
            return False
        parts = urlsplit(url)
        return parts.netloc == self.host and parts.scheme == urlsplit(self.base).scheme


def same_origin(a: str, b: str) -> bool:
    """True when two URLs share scheme, host and port."""
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, pa.netloc.lower()) == (pb.scheme, pb.netloc.lower())
