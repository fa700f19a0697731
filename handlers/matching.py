"""Sign-up and matching: the Home tab's join button, the profile modal, proposal buttons, choices and requests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.blocks import Reply
from bot.blocks.checkins import build_answered_message
from bot.blocks.ids import (
    CHOICE_PICK_ACTION,
    MATCH_ACCEPT_ACTION,
    MATCH_ACCEPT_ALL_ACTION,
    MATCH_SKIP_ACTION,
    PROFILE_JOIN_ACTION,
    PROFILE_VIEW,
    REQUEST_ACCEPT_ACTION,
    REQUEST_DECLINE_ACTION,
)
from bot.services import Services
from bot.services.matching import parse_proposal_id
from handlers.replies import tell_presser

MATCH_ACTIONS = (MATCH_ACCEPT_ACTION, MATCH_SKIP_ACTION, MATCH_ACCEPT_ALL_ACTION, CHOICE_PICK_ACTION,
                 REQUEST_ACCEPT_ACTION, REQUEST_DECLINE_ACTION)
# Buttons in a DM the bot sent (a mentee's choices, a mentor's request): once answered, the message keeps its
# words and loses its buttons. The coordinator's proposals come back whole from the use case instead.
ANSWERED_IN_PLACE = frozenset({CHOICE_PICK_ACTION, REQUEST_ACCEPT_ACTION, REQUEST_DECLINE_ACTION})


def handle_profile_join_action(ack: Ack, body: dict[str, Any], respond: Respond, services: Services,
                               after_ack: Callable[..., None]) -> None:
    ack()
    after_ack(_answer, body, respond, services, lambda: services.profiles.open_profile_modal(
        actor=body["user"]["id"], trigger_id=body["trigger_id"], joining=True))


def handle_profile_submission(ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services,
                              after_ack: Callable[..., None]) -> None:
    user_id = body["user"]["id"]
    errors, reply = services.profiles.save_profile(actor=user_id, values=(view.get("state") or {}).get("values") or {})
    if errors:
        ack(response_action="errors", errors=errors)
        return
    ack()
    after_ack(services.profiles.tell_saved, user_id=user_id, reply=reply)


def handle_match_action(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond,
                        services: Services, after_ack: Callable[..., None]) -> None:
    ack()
    actor, value, matching = body["user"]["id"], str(action.get("value") or ""), services.matching
    uses: dict[str, Callable[[], Reply | None]] = {
        MATCH_ACCEPT_ACTION: lambda: matching.accept(actor=actor, proposal_id=parse_proposal_id(value)),
        MATCH_SKIP_ACTION: lambda: matching.skip(actor=actor, proposal_id=parse_proposal_id(value)),
        MATCH_ACCEPT_ALL_ACTION: lambda: matching.accept_all(actor=actor, value=value),
        CHOICE_PICK_ACTION: lambda: matching.pick(actor=actor, proposal_id=parse_proposal_id(value)),
        REQUEST_ACCEPT_ACTION: lambda: matching.answer(actor=actor, proposal_id=parse_proposal_id(value), accept=True),
        REQUEST_DECLINE_ACTION: lambda: matching.answer(actor=actor, proposal_id=parse_proposal_id(value),
                                                        accept=False),
    }
    after_ack(_replace_pressed, body, respond, services, uses[action["action_id"]],
              action["action_id"] in ANSWERED_IN_PLACE)


def _answer(body: dict[str, Any], respond: Respond, services: Services, run: Callable[[], Reply | None]) -> None:
    """Run one use case and tell the presser what happened (a refusal is told by `after_ack`)."""
    reply = run()
    if reply is not None:
        tell_presser(body, respond, services.notifier, reply)


def _replace_pressed(body: dict[str, Any], respond: Respond, services: Services, run: Callable[[], Reply | None],
                     in_place: bool) -> None:
    """Run one use case and put what happened in place of the pressed message, so its buttons can't be pressed
    again; a refusal (a stale press elsewhere) is told by `after_ack` alone and changes nothing."""
    reply = run()
    if reply is None:
        return
    if in_place:
        reply = build_answered_message((body.get("message") or {}).get("blocks"), reply)
    if body.get("response_url"):
        respond(text=reply.text, blocks=reply.blocks, replace_original=True)
    else:
        tell_presser(body, respond, services.notifier, reply)


def register(app: App) -> None:
    app.action(PROFILE_JOIN_ACTION)(handle_profile_join_action)
    app.view(PROFILE_VIEW)(handle_profile_submission)
    for action_id in MATCH_ACTIONS:
        app.action(action_id)(handle_match_action)
