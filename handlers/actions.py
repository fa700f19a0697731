"""Buttons: the prompt DM buttons, the Home tab's, and those of the agreement and closing well.

One listener serves every button: it acknowledges at once and runs the button's task after the answer. A
task that refuses raises UserError, which `after_ack` turns into the presser's ephemeral reply.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.blocks import Reply
from bot.blocks.checkins import build_answered_message
from bot.blocks.ids import (
    CHECKIN_OPEN_ACTION,
    CLOSING_REFLECTION_ACTION,
    CLOSURE_REASON_ACTION_PREFIX,
    HELP_ACTION,
    RESUME_KIND_ACTION_PREFIX,
    RESUME_PROMPTS_ACTION,
    SET_AGREEMENT_ACTION,
    SNOOZE_ACTION,
    STOP_KIND_ACTION,
)
from bot.services import Services
from bot.services.checkins import parse_pair_value
from bot.services.pairs import parse_pair_id
from handlers.replies import tell_presser

Task = Callable[[dict[str, Any], dict[str, Any], Respond, Services], None]


def _source(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """Return the (channel, ts) of the message whose button was pressed, if it was a message."""
    container = body.get("container") or {}
    if container.get("type") != "message":
        return None, None
    return container.get("channel_id"), container.get("message_ts")


def _replace_buttons(body: dict[str, Any], action: dict[str, Any], respond: Respond, services: Services,
                     outcome: Reply) -> None:
    """Swap the pressed message's buttons for what happened; without a response_url, only in a prompt of the
    presser's own (the container is the payload's word, not proof); otherwise tell the presser alone."""
    reply = build_answered_message((body.get("message") or {}).get("blocks"), outcome)
    channel, ts = _source(body)
    if body.get("response_url"):
        respond(text=reply.text, blocks=reply.blocks, replace_original=True)
    elif channel and ts:
        if services.checkins.is_own_prompt(actor=body["user"]["id"], value=action.get("value", ""), channel=channel,
                                           ts=ts):
            services.notifier.replace(channel, ts, reply)
        else:
            tell_presser(body, respond, services.notifier, outcome)


def _open_checkin(body: dict[str, Any], action: dict[str, Any], respond: Respond, services: Services) -> None:
    channel, ts = _source(body)
    services.checkins.open_checkin_modal(actor=body["user"]["id"], pair_id=parse_pair_value(action.get("value")),
                                         trigger_id=body["trigger_id"], source_channel=channel, source_ts=ts)


def _answer_prompt(use_case: str, body: dict[str, Any], action: dict[str, Any], respond: Respond,
                   services: Services) -> None:
    """Run a prompt button's use case, then show its outcome in place of the buttons."""
    channel, ts = _source(body)
    outcome = getattr(services.checkins, use_case)(actor=body["user"]["id"], value=action.get("value", ""),
                                                   channel=channel, ts=ts)
    _replace_buttons(body, action, respond, services, outcome)


def _resume_kind(body: dict[str, Any], action: dict[str, Any], respond: Respond, services: Services) -> None:
    services.checkins.resume_kind(actor=body["user"]["id"], value=action.get("value", ""))


def _open_agreement(body: dict[str, Any], action: dict[str, Any], respond: Respond, services: Services) -> None:
    services.agreements.open_agreement_modal(actor=body["user"]["id"], pair_id=parse_pair_id(action.get("value")),
                                             trigger_id=body["trigger_id"])


def _open_reflection(body: dict[str, Any], action: dict[str, Any], respond: Respond, services: Services) -> None:
    services.agreements.open_reflection_modal(actor=body["user"]["id"], pair_id=parse_pair_id(action.get("value")),
                                              trigger_id=body["trigger_id"])


def _record_closure_reason(body: dict[str, Any], action: dict[str, Any], respond: Respond, services: Services) -> None:
    reply = services.pairs.record_closure_reason(actor=body["user"]["id"], value=action.get("value") or "")
    if body.get("response_url"):
        respond(text=reply.text, blocks=reply.blocks, replace_original=True)
    else:
        tell_presser(body, respond, services.notifier, reply)


# Bolt tries listeners in registration order: the prompt buttons, pressed most, come first.
BUTTON_TASKS: dict[str, Task] = {
    SNOOZE_ACTION: partial(_answer_prompt, "snooze"),
    HELP_ACTION: partial(_answer_prompt, "request_help"),
    STOP_KIND_ACTION: partial(_answer_prompt, "stop_kind"),
    RESUME_PROMPTS_ACTION: partial(_answer_prompt, "resume_prompts"),
    CHECKIN_OPEN_ACTION: _open_checkin,
    SET_AGREEMENT_ACTION: _open_agreement,
    CLOSING_REFLECTION_ACTION: _open_reflection,
}
# Buttons whose action id is a prefix and what follows it (ids are unique within a block).
PREFIXED_BUTTON_TASKS: dict[str, Task] = {
    RESUME_KIND_ACTION_PREFIX: _resume_kind,
    CLOSURE_REASON_ACTION_PREFIX: _record_closure_reason,
}


def _task_for(action_id: str) -> Task:
    task = BUTTON_TASKS.get(action_id)
    if task is not None:
        return task
    return next(t for prefix, t in PREFIXED_BUTTON_TASKS.items() if action_id.startswith(prefix))


def handle_button_action(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond,
                         services: Services, after_ack: Callable[..., None]) -> None:
    ack()
    after_ack(_task_for(action["action_id"]), body, action, respond, services)


def register(app: App) -> None:
    for action_id in BUTTON_TASKS:
        app.action(action_id)(handle_button_action)
    for prefix in PREFIXED_BUTTON_TASKS:
        app.action(re.compile("^" + re.escape(prefix)))(handle_button_action)
