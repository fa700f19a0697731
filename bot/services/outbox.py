"""Messages a use case sends once its transaction is committed: a failure to post never undoes the change."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bot.blocks import Reply
from bot.gateway import SlackCallFailed, SlackGateway

logger = logging.getLogger(__name__)


@dataclass
class Outbox:
    """Messages to send once the transaction is safely committed."""

    posts: list[tuple[str, Reply]] = field(default_factory=list)

    def add(self, channel: str | None, reply: Reply) -> None:
        if channel:
            self.posts.append((channel, reply))

    def send(self, gateway: SlackGateway) -> None:
        """Post every message; a failure is logged, the committed change stands."""
        for channel, reply in self.posts:
            try:
                gateway.post_message(channel, reply.text, reply.blocks)
            except SlackCallFailed as failure:
                logger.warning("could not post to %s: %s", channel, failure.code)
