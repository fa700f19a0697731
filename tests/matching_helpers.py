"""Shared steps of the sign-up and matching tests: people in compatible zones, the topic list, a filled profile."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, select

from bot.blocks.ids import (
    INPUT_ACTION,
    PROFILE_BLOCKED_BLOCK,
    PROFILE_CAPACITY_BLOCK,
    PROFILE_OFFERED_BLOCK,
    PROFILE_QUESTIONS_BLOCK,
    PROFILE_ROLE_BLOCK,
    PROFILE_STRENGTHS_BLOCK,
    PROFILE_VIEW,
    PROFILE_WANTED_BLOCK,
)
from bot.domain.models import MatchProposal, Pair
from tests.conftest import COORDINATOR

MAYA = "UMAYA01"  # mentor, London
NOOR = "UNOOR01"  # mentor, London
THEO = "UTHEO01"  # mentee, Berlin
UMA = "UUMA001"  # mentee, London
TOPICS = ("design reviews", "public speaking", "data engineering", "leadership")


def add_people(fake_slack) -> None:
    fake_slack.add_user(MAYA, "Maya", tz="Europe/London")
    fake_slack.add_user(NOOR, "Noor", tz="Europe/London")
    fake_slack.add_user(THEO, "Theo", tz="Europe/Berlin")
    fake_slack.add_user(UMA, "Uma", tz="Europe/London")


def add_topics(slack) -> None:
    for topic in TOPICS:
        slack.command(f"topics add {topic}", user_id=COORDINATOR)


def opened_view(fake_slack) -> dict[str, Any]:
    return fake_slack.calls_to("views.open")[-1].params["view"]


def element(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)["element"]


def topic_ids(view: dict[str, Any]) -> dict[str, str]:
    """Return the modal's topic ids by name."""
    return {o["text"]["text"]: o["value"] for o in element(view, PROFILE_OFFERED_BLOCK)["options"]}


def profile_values(ids: dict[str, str], *, role: str = "mentee", offered: tuple[str, ...] = (),
                   wanted: tuple[str, ...] = (), strengths: str = "", questions: str = "", capacity: str = "1",
                   blocked: tuple[str, ...] = (), raw_offered: list[str] | None = None) -> dict[str, Any]:
    def options(names: tuple[str, ...]) -> list[dict[str, Any]]:
        return [{"text": {"type": "plain_text", "text": n}, "value": ids[n]} for n in names]

    return {
        PROFILE_ROLE_BLOCK: {INPUT_ACTION: {"type": "radio_buttons", "selected_option": {"value": role}} if role
                             else {"type": "radio_buttons", "selected_option": None}},
        PROFILE_OFFERED_BLOCK: {INPUT_ACTION: {"type": "multi_static_select", "selected_options": (
            [{"value": v} for v in raw_offered] if raw_offered is not None else options(offered))}},
        PROFILE_WANTED_BLOCK: {INPUT_ACTION: {"type": "multi_static_select", "selected_options": options(wanted)}},
        PROFILE_STRENGTHS_BLOCK: {INPUT_ACTION: {"type": "plain_text_input", "value": strengths}},
        PROFILE_QUESTIONS_BLOCK: {INPUT_ACTION: {"type": "plain_text_input", "value": questions}},
        PROFILE_CAPACITY_BLOCK: {INPUT_ACTION: {"type": "static_select", "selected_option": {"value": capacity}}},
        PROFILE_BLOCKED_BLOCK: {INPUT_ACTION: {"type": "multi_users_select", "selected_users": list(blocked)}},
    }


def join(slack, fake_slack, user_id: str, **fields: Any):
    """Run `/mentoring join` as `user_id` and submit the modal with `fields`; return the submission's response."""
    slack.command("join", user_id=user_id)
    ids = topic_ids(opened_view(fake_slack))
    return slack.view_submission(user_id=user_id, callback_id=PROFILE_VIEW, values=profile_values(ids, **fields))


def body_of(response) -> dict[str, Any]:
    return json.loads(response.body) if response.body else {}


def last_reply(fake_slack) -> dict[str, Any]:
    return fake_slack.responses[-1].params


def group_dm(*users: str) -> str:
    """Return the group DM's id as the fake Slack names it."""
    return "G" + "".join(sorted(u.lstrip("UW") for u in users))


def stored_pairs(engine) -> list[Pair]:
    with Session(engine) as session:
        return list(session.exec(select(Pair).order_by(Pair.id)))


def stored_proposals(engine) -> list[MatchProposal]:
    with Session(engine) as session:
        return list(session.exec(select(MatchProposal).order_by(MatchProposal.id)))


def buttons(message: dict[str, Any], action_id: str) -> list[dict[str, Any]]:
    """Return the message's buttons with `action_id`."""
    return [e for b in message.get("blocks") or [] if b["type"] == "actions" for e in b["elements"]
            if e["action_id"] == action_id]
