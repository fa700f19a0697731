"""How a listener answers the person who pressed a button or typed a command, wherever they were."""

from __future__ import annotations

from typing import Any

from slack_bolt import Respond

from bot.blocks import Reply
from bot.blocks.errors import build_error_reply
from bot.services import UserError
from bot.services.notifier import Notifier


def tell_presser(body: dict[str, Any], respond: Respond | None, notifier: Notifier, reply: Reply) -> None:
    """Answer the presser alone: ephemerally under a message, else (the Home tab) in their DM with the bot."""
    if body.get("response_url") and respond is not None:
        respond(text=reply.text, blocks=reply.blocks, response_type="ephemeral", replace_original=False)
    else:
        notifier.tell(body["user"]["id"], reply)


def refuse(notifier: Notifier, problem: UserError, body: dict[str, Any], respond: Respond | None) -> None:
    """Turn a refusal into the ephemeral reply its sender reads: what went wrong and the correct form."""
    tell_presser(body, respond, notifier, build_error_reply(problem.text, problem.usage))
