"""`/mentoring`: acknowledge, run the command, reply ephemerally; and the pairs list's "Show more"."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.blocks.errors import build_error_reply
from bot.blocks.ids import PAIRS_PAGE_ACTION
from bot.services import Services, UserError


def handle_mentoring_command(ack: Ack, command: dict[str, Any], respond: Respond, services: Services) -> None:
    ack()
    try:
        reply = services.commands.run(
            actor=command["user_id"],
            text=command.get("text", ""),
            trigger_id=command.get("trigger_id"),
            channel_id=command.get("channel_id"),
        )
    except UserError as problem:
        reply = build_error_reply(problem.text, problem.usage)
    if reply is not None:
        respond(text=reply.text, blocks=reply.blocks, response_type="ephemeral")


def handle_pairs_page_action(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond,
                             services: Services) -> None:
    ack()
    try:
        reply = services.commands.run(actor=body["user"]["id"], text=f"pairs {action.get('value') or ''}")
    except UserError as problem:
        reply = build_error_reply(problem.text, problem.usage)
    if reply is not None:
        respond(text=reply.text, blocks=reply.blocks, response_type="ephemeral", replace_original=False)


def register(app: App) -> None:
    app.command("/mentoring")(handle_mentoring_command)
    app.action(PAIRS_PAGE_ACTION)(handle_pairs_page_action)
