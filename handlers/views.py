"""Modal submissions: validate and save, answer field errors in the modal, then announce."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App

from bot.blocks.checkins import build_checkin_problem_view
from bot.blocks.forms import read_checkin_form
from bot.blocks.ids import CHECKIN_VIEW
from bot.blocks.refs import submitted_metadata, submitted_values
from bot.services import Services, UserError


def handle_checkin_submission(ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services,
                              after_ack: Callable[..., None]) -> None:
    try:
        result = services.checkins.save_checkin(actor=body["user"]["id"], private_metadata=submitted_metadata(view),
                                                form=read_checkin_form(submitted_values(view)))
    except UserError as problem:
        ack(response_action="update", view=build_checkin_problem_view(problem.text))
        return
    if result.saved is None:
        ack(response_action="errors", errors=result.errors)
        return
    # Acknowledge before talking to Slack so the modal closes within Slack's 3 seconds.
    ack()
    after_ack(services.checkins.announce_checkin, result.saved)


def register(app: App) -> None:
    app.view(CHECKIN_VIEW)(handle_checkin_submission)
