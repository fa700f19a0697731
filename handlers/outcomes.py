"""Outcome questions: the fit check and pulse buttons, the closing survey's button and modal.

A use case that refuses raises UserError, which `after_ack` turns into the presser's ephemeral reply.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.blocks import Reply
from bot.blocks.ids import (
    CLOSING_SURVEY_ACTION,
    CLOSING_SURVEY_VIEW,
    FIT_CHANGE_ACTION,
    FIT_RATING_ACTION_PREFIX,
    PULSE_GROWTH_ACTION_PREFIX,
    PULSE_MEETING_ACTION_PREFIX,
)
from bot.services import Services
from bot.services.checkins import parse_pair_value
from bot.services.outcomes import Asked

_FIT_RATING = re.compile(rf"^{FIT_RATING_ACTION_PREFIX}[1-5]$")
_PULSE_GROWTH = re.compile(rf"^{PULSE_GROWTH_ACTION_PREFIX}[1-5]$")
_PULSE_MEETING = re.compile(rf"^{PULSE_MEETING_ACTION_PREFIX}[a-z]+$")


def _asked(body: dict[str, Any]) -> Asked:
    container = body.get("container") or {}
    if container.get("type") != "message":
        return Asked()
    return Asked(container.get("channel_id"), container.get("message_ts"))


def _answer(body: dict[str, Any], respond: Respond, services: Services, use_case: Callable[[], Reply]) -> None:
    """Run the use case, then show the question with its answer in place of the pressed message."""
    reply = use_case()
    asked = _asked(body)
    if body.get("response_url"):
        respond(text=reply.text, blocks=reply.blocks, replace_original=True)
    elif asked.channel and asked.ts:
        services.notifier.replace(asked.channel, asked.ts, reply)


def handle_fit_rating_action(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond,
                             services: Services, after_ack: Callable[..., None]) -> None:
    ack()
    rating = int(action["action_id"].removeprefix(FIT_RATING_ACTION_PREFIX))
    after_ack(_answer, body, respond, services, lambda: services.outcomes.rate_fit(
        actor=body["user"]["id"], pair_id=parse_pair_value(action.get("value")), rating=rating, asked=_asked(body)))


def handle_fit_change_action(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond,
                             services: Services, after_ack: Callable[..., None]) -> None:
    ack()
    after_ack(_answer, body, respond, services, lambda: services.outcomes.request_change(
        actor=body["user"]["id"], pair_id=parse_pair_value(action.get("value")), asked=_asked(body)))


def handle_pulse_action(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond,
                        services: Services, after_ack: Callable[..., None]) -> None:
    """One pulse answer: growth (1–5) or whether they met as agreed, as the pressed button's id says."""
    ack()
    action_id: str = action["action_id"]
    if action_id.startswith(PULSE_GROWTH_ACTION_PREFIX):
        answer: dict[str, Any] = {"growth": int(action_id.removeprefix(PULSE_GROWTH_ACTION_PREFIX))}
    else:
        answer = {"meeting": action_id.removeprefix(PULSE_MEETING_ACTION_PREFIX)}
    after_ack(_answer, body, respond, services, lambda: services.outcomes.answer_pulse(
        actor=body["user"]["id"], value=action.get("value") or "", asked=_asked(body), **answer))


def handle_closing_survey_action(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond,
                                 services: Services, after_ack: Callable[..., None]) -> None:
    ack()
    after_ack(lambda: services.outcomes.open_closing_survey(  # a damaged value is refused after the ack too
        actor=body["user"]["id"], pair_id=parse_pair_value(action.get("value")), trigger_id=body["trigger_id"],
        asked=_asked(body)))


def handle_closing_survey_submission(ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services,
                                     after_ack: Callable[..., None]) -> None:
    actor = body["user"]["id"]
    errors = services.outcomes.save_closing_survey(actor=actor, private_metadata=view["private_metadata"],
                                                   values=view["state"]["values"])
    if errors:
        ack(response_action="errors", errors=errors)
        return
    ack()
    after_ack(services.outcomes.show_survey_answered, actor=actor, private_metadata=view["private_metadata"])


def register(app: App) -> None:
    app.action(_FIT_RATING)(handle_fit_rating_action)
    app.action(FIT_CHANGE_ACTION)(handle_fit_change_action)
    app.action(_PULSE_GROWTH)(handle_pulse_action)
    app.action(_PULSE_MEETING)(handle_pulse_action)
    app.action(CLOSING_SURVEY_ACTION)(handle_closing_survey_action)
    app.view(CLOSING_SURVEY_VIEW)(handle_closing_survey_submission)
