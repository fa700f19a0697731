"""The coordinators' CSV of pairs: one row per pair, figures and dates only — never note text."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from bot.domain.models import GoalStatus, Pair
from bot.domain.summary import RatedCheckin

EXPORT_COLUMNS = (
    "pair_id", "mentor_id", "mentor_name", "mentee_id", "mentee_name", "phase", "status", "started_on",
    "ends_on", "cadence_days", "checkins", "last_checkin_on", "average_rating", "goals_set", "goals_achieved",
    "help_requests", "closure_reason", "mentor_topics_offered", "mentee_topics_wanted",
)


@dataclass(frozen=True)
class ExportInputs:
    pairs: tuple[Pair, ...]
    names: dict[str, str] = field(default_factory=dict)
    checkins: tuple[RatedCheckin, ...] = ()
    goals: tuple[tuple[int, str], ...] = ()  # (pair_id, status)
    help_pair_ids: tuple[int, ...] = ()
    # (person, "offered" | "wanted") -> topic names: a profile's topics, never its strengths or questions
    topics: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)


def _safe_cell(value: str) -> str:
    """Keep a spreadsheet from running a display name as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def export_rows(inputs: ExportInputs) -> list[dict[str, str]]:
    """Return one row per pair, oldest first, in EXPORT_COLUMNS order."""
    checkins: dict[int, list[RatedCheckin]] = defaultdict(list)
    for checkin in inputs.checkins:
        checkins[checkin.pair_id].append(checkin)
    goals_set: dict[int, int] = defaultdict(int)
    goals_done: dict[int, int] = defaultdict(int)
    for pair_id, status in inputs.goals:
        goals_set[pair_id] += 1
        if status == GoalStatus.ACHIEVED:
            goals_done[pair_id] += 1
    helps: dict[int, int] = defaultdict(int)
    for pair_id in inputs.help_pair_ids:
        helps[pair_id] += 1
    rows = []
    for pair in sorted(inputs.pairs, key=lambda p: p.id or 0):
        pair_id = pair.id or 0
        mine = checkins.get(pair_id, [])
        last: date | None = max((c.met_on for c in mine), default=None)
        average = f"{sum(c.rating for c in mine) / len(mine):.1f}" if mine else ""
        rows.append({
            "pair_id": str(pair_id),
            "mentor_id": pair.mentor_id,
            "mentor_name": _safe_cell(inputs.names.get(pair.mentor_id, "")),
            "mentee_id": pair.mentee_id,
            "mentee_name": _safe_cell(inputs.names.get(pair.mentee_id, "")),
            "phase": pair.phase,
            "status": pair.status,
            "started_on": pair.started_on.isoformat(),
            "ends_on": pair.ends_on.isoformat(),
            "cadence_days": str(pair.cadence_days),
            "checkins": str(len(mine)),
            "last_checkin_on": last.isoformat() if last else "",
            "average_rating": average,
            "goals_set": str(goals_set[pair_id]),
            "goals_achieved": str(goals_done[pair_id]),
            "help_requests": str(helps[pair_id]),
            "closure_reason": pair.closure_reason or "",
            "mentor_topics_offered": "; ".join(inputs.topics.get((pair.mentor_id, "offered"), ())),
            "mentee_topics_wanted": "; ".join(inputs.topics.get((pair.mentee_id, "wanted"), ())),
        })
    return rows
