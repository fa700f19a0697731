"""The phases of a mentoring relationship (Kram) and what helps in each — pure, shared by replies, Home and nudges."""

from __future__ import annotations

from bot.domain.models import Phase

PHASE_LABELS: dict[Phase, str] = {
    Phase.RAPPORT: "Rapport",
    Phase.DIRECTION: "Direction",
    Phase.PROGRESSION: "Progression",
    Phase.WINDING_UP: "Winding up",
    Phase.ENDED: "Ended",
}

PHASE_GUIDANCE: dict[Phase, str] = {
    Phase.RAPPORT: "Get to know each other and agree on purpose and expectations — set your agreement.",
    Phase.DIRECTION: "Set goals that are specific, measurable and dated, each with a success measure.",
    Phase.PROGRESSION: "Meet regularly, review progress on your goals at the start of each meeting, "
    "and challenge each other.",
    Phase.WINDING_UP: "Compare goals with achievements, celebrate what went well, and agree what comes next.",
    Phase.ENDED: "This relationship has ended — thank you both for the time you gave it.",
}


def phase_label(phase: str) -> str:
    return PHASE_LABELS.get(Phase(phase), phase)


def phase_guidance(phase: str) -> str:
    """Return the one-line guidance for `phase`."""
    return PHASE_GUIDANCE[Phase(phase)]
