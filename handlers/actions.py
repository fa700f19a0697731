"""Buttons: the prompt DM buttons and the Home tab's. Acknowledge, call one service, show what happened."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.blocks import Reply
from bot.blocks.checkins import build_answered_message
from bot.blocks.errors import build_error_reply
from bot.blocks.ids import (
    CHECKIN_OPEN_ACTION,
    HELP_ACTION,
    RESUME_KIND_ACTION_PREFIX,
    RESUME_PROMPTS_ACTION,
    SNOOZE_ACTION,
    STOP_KIND_ACTION,
)
from bot.services import Services, UserError
from bot.services.checkins import parse_pair_value
from handlers.replies import tell_presser


def _source(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """Return the (channel, ts) of the message whose button was pressed, if it was a message."""
    container = body.get("container") or {}
    if container.get("type") != "message":
        return None, None
    return container.get("channel_id"), container.get("message_ts")


def _refuse(body: dict[str, Any], respond: Respond, services: Services, problem: UserError) -> None:
    tell_presser(body, respond, services, build_error_reply(problem.text, problem.usage))


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
            services.ctx.gateway.update_message(channel, ts, reply.text, reply.blocks)
        else:
            tell_presser(body, respond, services, outcome)


def handle_checkin_open_action(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond,
                               services: Services, after_ack: Callable[..., None]) -> None:
    ack()
    after_ack(_open_checkin, body, action, respond, services)


def _open_checkin(body: dict[str, Any], action: dict[str, Any], respond: Respond, services: Services) -> None:
    channel, ts = _source(body)
    try:
        services.checkins.open_checkin_modal(actor=body["user"]["id"], pair_id=parse_pair_value(action.get("value")),
                                             trigger_id=body["trigger_id"], source_channel=channel, source_ts=ts)
    except UserError as problem:
        _refuse(body, respond, services, problem)


def _answer_prompt(body: dict[str, Any], action: dict[str, Any], respond: Respond, services: Services,
                   use_case: Callable[..., Reply]) -> None:
    """Run a prompt button's use case, then show its outcome in place of the buttons."""
    channel, ts = _source(body)
    try:
        outcome = use_case(actor=body["user"]["id"], value=action.get("value", ""), channel=channel, ts=ts)
    except UserError as problem:
        _refuse(body, respond, services, problem)
        return
    _replace_buttons(body, action, respond, services, outcome)


def handle_snooze_action(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond,
                         services: Services, after_ack: Callable[..., None]) -> None:
    ack()
    after_ack(_answer_prompt, body, action, respond, services, services.checkins.snooze)


def handle_help_action(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond,
                       services: Services, after_ack: Callable[..., None]) -> None:
    ack()
    after_ack(_answer_prompt, body, action, respond, services, services.checkins.request_help)


def handle_stop_kind_action(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond,
                            services: Services, after_ack: Callable[..., None]) -> None:
    ack()
    after_ack(_answer_prompt, body, action, respond, services, services.checkins.stop_kind)


def handle_resume_prompts_action(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond,
                                 services: Services, after_ack: Callable[..., None]) -> None:
    ack()
    after_ack(_answer_prompt, body, action, respond, services, services.checkins.resume_prompts)


def handle_resume_kind_action(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond,
                              services: Services, after_ack: Callable[..., None]) -> None:
    ack()
    after_ack(_resume_kind, body, action, respond, services)


def _resume_kind(body: dict[str, Any], action: dict[str, Any], respond: Respond, services: Services) -> None:
    try:
        services.checkins.resume_kind(actor=body["user"]["id"], value=action.get("value", ""))
    except UserError as problem:
        _refuse(body, respond, services, problem)


def register(app: App) -> None:
    app.action(CHECKIN_OPEN_ACTION)(handle_checkin_open_action)
    app.action(SNOOZE_ACTION)(handle_snooze_action)
    app.action(HELP_ACTION)(handle_help_action)
    app.action(STOP_KIND_ACTION)(handle_stop_kind_action)
    app.action(RESUME_PROMPTS_ACTION)(handle_resume_prompts_action)
    app.action(re.compile("^" + re.escape(RESUME_KIND_ACTION_PREFIX)))(handle_resume_kind_action)
