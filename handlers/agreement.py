"""The agreement and closing well: buttons that open their modals, the submissions, the closure reason."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.blocks.errors import build_error_reply
from bot.blocks.ids import (
    AGREEMENT_VIEW,
    CLOSING_REFLECTION_ACTION,
    CLOSING_REFLECTION_VIEW,
    CLOSURE_REASON_ACTION_PREFIX,
    SET_AGREEMENT_ACTION,
)
from bot.blocks.refs import submitted_metadata, submitted_values
from bot.services import Services, UserError
from bot.services.lifecycle import parse_pair_id
from handlers.replies import tell_presser


def handle_set_agreement_action(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond,
                                services: Services, after_ack: Callable[..., None]) -> None:
    ack()
    after_ack(_open_agreement, body, action, respond, services)


def _open_agreement(body: dict[str, Any], action: dict[str, Any], respond: Respond, services: Services) -> None:
    try:
        services.lifecycle.open_agreement_modal(actor=body["user"]["id"], pair_id=parse_pair_id(action.get("value")),
                                                trigger_id=body["trigger_id"])
    except UserError as problem:
        tell_presser(body, respond, services, build_error_reply(problem.text, problem.usage))


def handle_agreement_submission(ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services) -> None:
    errors = services.lifecycle.save_agreement(actor=body["user"]["id"], private_metadata=submitted_metadata(view),
                                               values=submitted_values(view), now=services.ctx.now())
    if errors:
        ack(response_action="errors", errors=errors)
    else:
        ack()


def handle_closing_reflection_action(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond,
                                     services: Services, after_ack: Callable[..., None]) -> None:
    ack()
    after_ack(_open_reflection, body, action, respond, services)


def _open_reflection(body: dict[str, Any], action: dict[str, Any], respond: Respond, services: Services) -> None:
    try:
        services.lifecycle.open_reflection_modal(actor=body["user"]["id"], pair_id=parse_pair_id(action.get("value")),
                                                 trigger_id=body["trigger_id"])
    except UserError as problem:
        tell_presser(body, respond, services, build_error_reply(problem.text, problem.usage))


def handle_closing_reflection_submission(ack: Ack, body: dict[str, Any], view: dict[str, Any],
                                         services: Services) -> None:
    errors = services.lifecycle.save_reflection(actor=body["user"]["id"], private_metadata=submitted_metadata(view),
                                                values=submitted_values(view))
    if errors:
        ack(response_action="errors", errors=errors)
    else:
        ack()


def handle_closure_reason_action(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond,
                                 services: Services, after_ack: Callable[..., None]) -> None:
    ack()
    after_ack(_record_closure_reason, body, action, respond, services)


def _record_closure_reason(body: dict[str, Any], action: dict[str, Any], respond: Respond, services: Services) -> None:
    try:
        reply = services.lifecycle.record_closure_reason(actor=body["user"]["id"], value=action.get("value") or "",
                                                         now=services.ctx.now())
    except UserError as problem:
        tell_presser(body, respond, services, build_error_reply(problem.text, problem.usage))
        return
    if body.get("response_url"):
        respond(text=reply.text, blocks=reply.blocks, replace_original=True)
    else:
        tell_presser(body, respond, services, reply)


def register(app: App) -> None:
    app.action(SET_AGREEMENT_ACTION)(handle_set_agreement_action)
    app.view(AGREEMENT_VIEW)(handle_agreement_submission)
    app.action(CLOSING_REFLECTION_ACTION)(handle_closing_reflection_action)
    app.view(CLOSING_REFLECTION_VIEW)(handle_closing_reflection_submission)
    app.action(re.compile("^" + re.escape(CLOSURE_REASON_ACTION_PREFIX)))(handle_closure_reason_action)
