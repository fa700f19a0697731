"""The agreement and closing well: their modal submissions, answered with field errors or closed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App

from bot.blocks.forms import read_agreement_form, read_reflection_form
from bot.blocks.ids import AGREEMENT_VIEW, CLOSING_REFLECTION_VIEW
from bot.blocks.refs import submitted_metadata, submitted_values
from bot.services import Services

# callback id -> (how its values are read, the AgreementService use case that saves them)
SUBMISSIONS: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    AGREEMENT_VIEW: (read_agreement_form, "save_agreement"),
    CLOSING_REFLECTION_VIEW: (read_reflection_form, "save_reflection"),
}


def handle_agreement_submission(ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services) -> None:
    read, use_case = SUBMISSIONS[view["callback_id"]]
    errors = getattr(services.agreements, use_case)(actor=body["user"]["id"], private_metadata=submitted_metadata(view),
                                                    form=read(submitted_values(view)))
    if errors:
        ack(response_action="errors", errors=errors)
    else:
        ack()


def register(app: App) -> None:
    for callback_id in SUBMISSIONS:
        app.view(callback_id)(handle_agreement_submission)
