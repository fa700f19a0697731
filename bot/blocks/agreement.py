"""Block Kit of the agreement: the modal (pre-filled) and the recap posted to the pair. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.blocks import Reply, context, escape_mrkdwn, mention, modal, section
from bot.blocks.ids import (
    AGREEMENT_CADENCE_BLOCK,
    AGREEMENT_CONFIDENTIALITY_BLOCK,
    AGREEMENT_CONTACT_BLOCK,
    AGREEMENT_ENDS_ON_BLOCK,
    AGREEMENT_OFF_LIMITS_BLOCK,
    AGREEMENT_SUCCESS_BLOCK,
    AGREEMENT_VIEW,
    AGREEMENT_WAY_OUT_BLOCK,
    AGREEMENT_WHO_SETS_UP_BLOCK,
    INPUT_ACTION,
)


@dataclass(frozen=True)
class AgreementFields:
    """The agreement as the modal shows it; `cadence` is text like “every 2 weeks”."""

    cadence: str = ""
    who_sets_up: str = ""
    contact: str = ""
    confidentiality: str = ""
    off_limits: str = ""
    success_measure: str = ""
    way_out: str = ""


# (block id, label, hint, placeholder, max length, multiline); the field name follows the block id.
TEXT_FIELDS = [
    (AGREEMENT_CADENCE_BLOCK, "cadence", "How often we meet", "every N days or every N weeks — I'll remind "
     "you on this rhythm", "every 2 weeks", 40, False),
    (AGREEMENT_WHO_SETS_UP_BLOCK, "who_sets_up", "Who sets up meetings", None, "The mentee books a 45-minute call",
     500, False),
    (AGREEMENT_CONTACT_BLOCK, "contact", "How we contact each other", None, "Slack DM; a call for anything urgent",
     500, False),
    (AGREEMENT_CONFIDENTIALITY_BLOCK, "confidentiality", "Confidentiality", None,
     "What we say stays between us unless we both agree otherwise", 1000, True),
    (AGREEMENT_OFF_LIMITS_BLOCK, "off_limits", "Topics that are off limits", None, "e.g. salary, my manager",
     1000, True),
    (AGREEMENT_SUCCESS_BLOCK, "success_measure", "How we'll measure success", None,
     "e.g. I lead a design review by March", 1000, True),
    (AGREEMENT_WAY_OUT_BLOCK, "way_out", "The way out", "If it isn't working, how either of you can end it kindly",
     "Either of us can say so; we tell the coordinator", 1000, True),
]
FIELD_OF_BLOCK = {block_id: name for block_id, name, *_ in TEXT_FIELDS}
MAX_LENGTH_OF_BLOCK = {block_id: length for block_id, _n, _l, _h, _p, length, _m in TEXT_FIELDS}
LABEL_OF_BLOCK = {block_id: label for block_id, _n, label, *_ in TEXT_FIELDS}


def _text_input(block_id: str, name: str, label: str, hint: str | None, placeholder: str, max_length: int,
                multiline: bool, value: str) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input", "action_id": INPUT_ACTION, "multiline": multiline, "max_length": max_length,
        "placeholder": {"type": "plain_text", "text": placeholder[:150]},
    }
    if value:
        element["initial_value"] = value[:max_length]
    block: dict[str, Any] = {"type": "input", "block_id": block_id, "optional": True, "element": element,
                             "label": {"type": "plain_text", "text": label}}
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint}
    return block


def build_agreement_modal(*, pair_id: int, partner_id: str, fields: AgreementFields, ends_on: date) -> dict[str, Any]:
    """Return the agreement modal for one pair, pre-filled with `fields`."""
    blocks: list[dict[str, Any]] = [
        section(f"Your agreement with {mention(partner_id)}: what you settled at your first meeting. "
                "Both of you can change it at any time."),
    ]
    for block_id, name, label, hint, placeholder, max_length, multiline in TEXT_FIELDS:
        blocks.append(_text_input(block_id, name, label, hint, placeholder, max_length, multiline,
                                  getattr(fields, name)))
        if block_id == AGREEMENT_OFF_LIMITS_BLOCK:
            blocks.append({
                "type": "input", "block_id": AGREEMENT_ENDS_ON_BLOCK, "optional": True,
                "label": {"type": "plain_text", "text": "When it ends"},
                "element": {"type": "datepicker", "action_id": INPUT_ACTION, "initial_date": ends_on.isoformat()},
            })
    blocks.append(context("Saving posts a short recap to your group DM with your partner."))
    return modal("Our agreement", blocks, callback_id=AGREEMENT_VIEW, private_metadata=str(pair_id))


def build_agreement_recap(*, actor: str, fields: AgreementFields, ends_on: date) -> Reply:
    """Return the short recap of the agreement for the pair's group DM."""
    rows = [("How often we meet", fields.cadence)] + [
        (LABEL_OF_BLOCK[block_id], getattr(fields, name)) for block_id, name, *_ in TEXT_FIELDS[1:]
    ]
    lines = [f"*{label}:* {escape_mrkdwn(value)}" for label, value in rows if value]
    lines.append(f"*When it ends:* {ends_on.isoformat()}")
    return Reply(
        text=f"{mention(actor)} updated your agreement.",
        blocks=[section(f":handshake: {mention(actor)} updated your agreement."), section("\n".join(lines))],
    )
