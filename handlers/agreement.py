"""The agreement and closing well: their modal submissions, answered with field errors or closed."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.blocks.forms import read_agreement_form, read_reflection_form
from bot.blocks.ids import AGREEMENT_VIEW, CLOSING_REFLECTION_VIEW
from bot.services import Services


def handle_agreement_submission(ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services) -> None:
    errors = services.agreements.save_agreement(actor=body["user"]["id"], private_metadata=view["private_metadata"],
                                                form=read_agreement_form(view["state"]["values"]))
    if errors:
        ack(response_action="errors", errors=errors)
    else:
        ack()


def handle_closing_reflection_submission(ack: Ack, body: dict[str, Any], view: dict[str, Any],
                                         services: Services) -> None:
    errors = services.agreements.save_reflection(actor=body["user"]["id"], private_metadata=view["private_metadata"],
                                                 form=read_reflection_form(view["state"]["values"]))
    if errors:
        ack(response_action="errors", errors=errors)
    else:
        ack()


def register(app: App) -> None:
    app.view(AGREEMENT_VIEW)(handle_agreement_submission)
    app.view(CLOSING_REFLECTION_VIEW)(handle_closing_reflection_submission)
