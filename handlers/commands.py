"""`/mentoring`: acknowledge, run the command, reply ephemerally; and the pairs list's "Show more"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.blocks.ids import PAIRS_PAGE_ACTION
from bot.services import Services


def handle_mentoring_command(ack: Ack, command: dict[str, Any], respond: Respond, services: Services,
                             after_ack: Callable[..., None]) -> None:
    ack()
    after_ack(_run_and_reply, services, respond, actor=command["user_id"], text=command.get("text", ""),
              trigger_id=command.get("trigger_id"), channel_id=command.get("channel_id"))


def handle_pairs_page_action(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond,
                             services: Services, after_ack: Callable[..., None]) -> None:
    ack()
    after_ack(_run_and_reply, services, respond, actor=body["user"]["id"], text=f"pairs {action.get('value') or ''}",
              replace_original=False)


def _run_and_reply(services: Services, respond: Respond, *, actor: str, text: str, trigger_id: str | None = None,
                   channel_id: str | None = None, replace_original: bool | None = None) -> None:
    """Run one `/mentoring` command and answer its sender alone (nothing when it opened a modal)."""
    reply = services.commands.run(actor=actor, text=text, trigger_id=trigger_id, channel_id=channel_id)
    if reply is not None:
        respond(text=reply.text, blocks=reply.blocks, response_type="ephemeral", replace_original=replace_original)


def register(app: App) -> None:
    app.command("/mentoring")(handle_mentoring_command)
    app.action(PAIRS_PAGE_ACTION)(handle_pairs_page_action)
