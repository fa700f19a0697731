"""How a listener answers the person who pressed a button, wherever the button was."""

from __future__ import annotations

from typing import Any

from slack_bolt import Respond

from bot.blocks import Reply
from bot.services import Services


def tell_presser(body: dict[str, Any], respond: Respond, services: Services, reply: Reply) -> None:
    """Answer the presser alone: ephemerally under a message, else (the Home tab) in their DM with the bot."""
    if body.get("response_url"):
        respond(text=reply.text, blocks=reply.blocks, response_type="ephemeral", replace_original=False)
    else:
        services.ctx.gateway.post_message(body["user"]["id"], reply.text, reply.blocks)
