"""What listeners say outside a response_url: a DM to the person who pressed, or a pressed message updated."""

from __future__ import annotations

from bot.blocks import Reply
from bot.gateway import SlackGateway


class Notifier:
    def __init__(self, gateway: SlackGateway) -> None:
        self.gateway = gateway

    def tell(self, user_id: str, reply: Reply) -> None:
        """Send `reply` to `user_id` in their DM with the bot."""
        self.gateway.post_message(user_id, reply.text, reply.blocks)

    def replace(self, channel: str, ts: str, reply: Reply) -> None:
        """Replace the message `ts` in `channel` with `reply`."""
        self.gateway.update_message(channel, ts, reply.text, reply.blocks)
