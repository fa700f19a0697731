"""Realistic programs of any size, inserted in bulk: people, pairs in every state, histories."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert
from sqlmodel import SQLModel

from bot.crypto import NoteCipher
from bot.domain.models import (
    Agreement,
    CheckIn,
    Goal,
    HelpRequest,
    MemberState,
    Nudge,
    Pair,
    Person,
    PrivateNote,
)

NOW = datetime(2026, 3, 9, 10, 0, tzinfo=UTC)  # a Monday morning, when a real program is busiest
ZONES = ["Europe/Berlin", "America/New_York", "America/Los_Angeles", "Asia/Tokyo", "Europe/London", "UTC",
         "Asia/Kolkata", "Australia/Sydney"]
PHASES = ["rapport", "direction", "progression", "progression", "progression", "winding_up"]
CHUNK = 5000


def _chunks(rows: list[dict], size: int = CHUNK) -> Iterator[list[dict]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def build_program(engine: Engine, pairs: int, cipher: NoteCipher, *, seed: int = 7, now: datetime = NOW
                  ) -> dict[str, int]:
    """Create the tables and fill them with `pairs` pairs and their histories as of `now`; return row counts."""
    SQLModel.metadata.create_all(engine)
    rng = random.Random(seed)
    shared = [cipher.encrypt(t) for t in ("Worked on the design review plan.", "Talked through the promotion case.",
                                          "Practised the conference talk.")]
    private = [cipher.encrypt(t) for t in ("Feeling stretched thin this month.", "Worried about the reorg.")]
    people: list[dict] = []
    pair_rows: list[dict] = []
    agreements: list[dict] = []
    goals: list[dict] = []
    checkins: list[dict] = []
    notes: list[dict] = []
    members: list[dict] = []
    helps: list[dict] = []
    ledger: list[dict] = []
    checkin_id = 0
    for index in range(1, pairs + 1):
        mentor, mentee = f"UM{index:07d}", f"UE{index:07d}"
        for user in (mentor, mentee):
            people.append({"slack_user_id": user, "display_name": user, "tz": rng.choice(ZONES),
                           "is_admin": False, "is_owner": False, "is_bot": False, "is_deleted": False,
                           "info_fetched_at": now - timedelta(days=rng.randint(0, 6))})
        started = now.date() - timedelta(days=rng.randint(10, 300))
        roll = rng.random()
        status = "ended" if roll < 0.10 else "paused" if roll < 0.18 else "active"
        cadence = rng.choice([7, 14, 14, 14, 21, 28])
        pair_rows.append({
            "id": index, "mentor_id": mentor, "mentee_id": mentee,
            "phase": "ended" if status == "ended" else rng.choice(PHASES), "status": status,
            "cadence_days": cadence, "started_on": started, "ends_on": started + timedelta(days=rng.randint(90, 400)),
            "created_at": datetime.combine(started, datetime.min.time(), UTC), "created_by": "UCOORD1",
            "channel_id": f"G{index:09d}",
            "paused_until": now.date() + timedelta(days=7) if status == "paused" else None,
            "phase_changed_at": now - timedelta(days=30), "winding_up_at": None,
            "ended_at": now - timedelta(days=3) if status == "ended" else None, "closure_reason": None,
        })
        if rng.random() < 0.75:
            agreements.append({"pair_id": index, "meeting_frequency": f"every {cadence} days", "who_sets_up": "mentee",
                               "contact": "Slack", "confidentiality": "stays between us", "off_limits": "",
                               "success_measure": "goals met", "way_out": "say so", "updated_at": now,
                               "updated_by": mentee})
        for goal_index in range(rng.randint(0, 4)):
            achieved = rng.random() < 0.3
            goals.append({"pair_id": index, "text": f"Goal {goal_index + 1}", "measure": "a measurable outcome",
                          "due_on": now.date() + timedelta(days=rng.randint(-20, 120)),
                          "status": "achieved" if achieved else "open",
                          "achieved_on": now.date() - timedelta(days=5) if achieved else None,
                          "created_at": now - timedelta(days=40), "created_by": mentee})
        met = started
        for _ in range(rng.randint(0, 8)):
            met = met + timedelta(days=rng.randint(cadence - 3, cadence * 3))
            if met >= now.date():
                break
            checkin_id += 1
            checkins.append({"id": checkin_id, "pair_id": index, "author_id": rng.choice((mentor, mentee)),
                             "met_on": met, "rating": rng.randint(2, 5), "shared_text_enc": rng.choice(shared),
                             "next_meeting_on": met + timedelta(days=cadence),
                             "created_at": datetime.combine(met, datetime.min.time(), UTC)})
            if rng.random() < 0.5:
                notes.append({"checkin_id": checkin_id, "author_id": checkins[-1]["author_id"],
                              "text_enc": rng.choice(private)})
        if rng.random() < 0.15:
            members.append({"pair_id": index, "person_id": mentee, "snoozed_until": None,
                            "unanswered_prompts": rng.randint(0, 3), "prompts_paused_at": None, "stopped_kinds": "",
                            "last_response_at": now - timedelta(days=9), "reflection_text_enc": None})
        if rng.random() < 0.01:
            helps.append({"pair_id": index, "person_id": mentee, "created_at": now - timedelta(days=2),
                          "nudge_key": None})
        for days_ago in (1, 3, 6):
            if rng.random() < 0.4:
                when = now - timedelta(days=days_ago, hours=rng.randint(0, 6))
                ledger.append({"key": f"{index}:{mentee}:how_is_it_going:hist{days_ago}", "pair_id": index,
                               "recipient": mentee, "kind": "how_is_it_going", "period": f"hist{days_ago}",
                               "status": "sent", "claimed_at": when, "claimed_by": "bench", "sent_at": when,
                               "channel": f"D{index}", "ts": "1.0", "attempts": 1, "error": None,
                               "answered_at": None})
    tables = [(Person, people), (Pair, pair_rows), (Agreement, agreements), (Goal, goals), (CheckIn, checkins),
              (PrivateNote, notes), (MemberState, members), (HelpRequest, helps), (Nudge, ledger)]
    with engine.begin() as connection:
        for model, rows in tables:
            for chunk in _chunks(rows):
                connection.execute(insert(model), chunk)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('pair', 'id'), {pairs})")
            connection.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('checkin', 'id'), {max(checkin_id, 1)})")
            connection.exec_driver_sql("ANALYZE")
    return {model.__tablename__: len(rows) for model, rows in tables}  # type: ignore[attr-defined]



def build_due_program(engine: Engine, pairs: int, channels: int, *, clustered: bool = False) -> None:
    """Create `pairs` pairs that each owe exactly one group nudge at NOW, spread over `channels` channels.

    Every pair is ten days old, in rapport, with no agreement, check-in or goal: the one nudge due is the
    agreement prompt to the pair's conversation. Pairs share `channels` conversations (say, one channel per
    cohort), so Slack's per-channel limit binds. Interleaved (the default) gives pair i channel i mod
    `channels`, so consecutive nudges go to different channels; `clustered` gives each channel a run of
    consecutive pairs, so a strictly sequential sender meets the same channel again and again.
    """
    SQLModel.metadata.create_all(engine)
    started = NOW.date() - timedelta(days=10)
    per_channel = -(-pairs // channels)
    people: list[dict] = []
    pair_rows: list[dict] = []
    for index in range(1, pairs + 1):
        mentor, mentee = f"UM{index:07d}", f"UE{index:07d}"
        for user in (mentor, mentee):
            people.append({"slack_user_id": user, "display_name": user, "tz": "UTC", "is_admin": False,
                           "is_owner": False, "is_bot": False, "is_deleted": False,
                           "info_fetched_at": NOW - timedelta(days=1)})
        channel = (index - 1) // per_channel if clustered else (index - 1) % channels
        pair_rows.append({
            "id": index, "mentor_id": mentor, "mentee_id": mentee, "phase": "rapport", "status": "active",
            "cadence_days": 14, "started_on": started, "ends_on": started + timedelta(days=180),
            "created_at": datetime.combine(started, datetime.min.time(), UTC), "created_by": "UCOORD1",
            "channel_id": f"CCOHORT{channel:04d}", "paused_until": None, "phase_changed_at": NOW - timedelta(days=10),
            "winding_up_at": None, "ended_at": None, "closure_reason": None,
        })
    with engine.begin() as connection:
        for model, rows in ((Person, people), (Pair, pair_rows)):
            for chunk in _chunks(rows):
                connection.execute(insert(model), chunk)
