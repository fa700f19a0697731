"""Outcome use cases: members answer the fit check, pulses and closing survey; coordinators read the report."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.blocks import Reply, fit_blocks, section
from bot.blocks.ids import CLOSING_AGAIN_BLOCK, CLOSING_GOAL_BLOCK_PREFIX, CLOSING_HELPED_BLOCK, CLOSING_VALUE_BLOCK
from bot.blocks.outcomes import (
    MAX_HELPED_TEXT,
    ClosingAnswers,
    SurveyGoal,
    build_change_request_notice,
    build_closing_survey_message,
    build_closing_survey_modal,
    build_fit_check_message,
    build_pulse_message,
)
from bot.blocks.report import build_outcome_report, outcome_summary_blocks
from bot.domain.chart import CHART_WEEKS, ChartData
from bot.domain.models import Attainment, MeetingRegularity, OutcomeKind, OutcomeResponse, Pair, Phase
from bot.domain.outcomes import OutcomeReport, chart_data, export_outcome_columns, report_of
from bot.domain.pairs import is_member, partner_of
from bot.gateway import SlackCallFailed
from bot.services.context import ServiceContext
from bot.services.errors import UserError
from bot.store import get_pair
from bot.store import outcomes as store
from bot.store.checkins import mark_nudge_answered
from bot.store.pairs import list_goals
from bot.store.profiles import pair_topics

logger = logging.getLogger(__name__)

# Drawing starts a fresh interpreter that imports matplotlib: seconds on a busy machine, never a minute.
CHART_TIMEOUT_SECONDS = 60
FIT_PERIOD = "first"
CLOSING_PERIOD = "end"
_PULSE_PERIOD = re.compile(r"^p\d{1,3}$")


class ChartFailed(Exception):
    """The chart could not be drawn; the message says why, in words."""


def draw_in_child(data: ChartData) -> bytes:
    """Return the chart's PNG, drawn by `python -m bot.chart` in a short-lived child process.

    Not in the bot's process: matplotlib and one drawing cost it about 50 MB of memory that it would keep,
    against a 200 MB target (bench/README.md).
    """
    try:
        done = subprocess.run([sys.executable, "-m", "bot.chart"], input=json.dumps(data.to_json()).encode(),
                              capture_output=True, timeout=CHART_TIMEOUT_SECONDS, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ChartFailed(f"the chart could not be drawn: {type(error).__name__}") from error
    if done.returncode != 0 or not done.stdout.startswith(b"\x89PNG"):
        logger.warning("chart drawing failed (exit %s): %s", done.returncode,
                       done.stderr.decode(errors="replace")[-500:])
        raise ChartFailed("the chart could not be drawn")
    return done.stdout


@dataclass(frozen=True)
class Asked:
    """Where the question was shown: the DM message whose button was pressed (its ts is when it was asked)."""

    channel: str | None = None
    ts: str | None = None

    @property
    def at(self) -> datetime | None:
        try:
            return datetime.fromtimestamp(float(self.ts), UTC) if self.ts else None
        except ValueError:
            return None


def parse_survey_metadata(private_metadata: str | None) -> tuple[int, Asked]:
    """Return the pair id and the asking message from a closing survey modal's private metadata."""
    pair_text, _, rest = (private_metadata or "").partition(":")
    channel, _, ts = rest.partition(":")
    if not pair_text.isdigit():
        raise UserError("That survey form is damaged. Press the survey button again.")
    return int(pair_text), Asked(channel or None, ts or None)


def parse_pair_period(value: str | None) -> tuple[int, str]:
    """Return (pair id, period) from a pulse button's value "pair_id:period"."""
    pair_text, _, period = (value or "").partition(":")
    if not pair_text.isdigit() or not _PULSE_PERIOD.match(period):
        raise UserError("That button is damaged. Wait for the next pulse, or tell your coordinator.")
    return int(pair_text), period


class OutcomeService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        # What draws the chart; a test that draws hundreds of summaries may draw in its own process.
        self.draw: Callable[[ChartData], bytes] = draw_in_child

    # ---- the report ----------------------------------------------------------------------------------

    def today(self, now: datetime) -> date:
        return now.astimezone(ZoneInfo(self.ctx.settings.timezone)).date()

    def outcome_figures(self, today: date) -> OutcomeReport:
        with self.ctx.session() as session:
            totals = store.load_outcome_totals(session=session, today=today, topics=pair_topics(session=session))
        return report_of(totals, today)

    def show_report(self, *, now: datetime) -> Reply:
        """Return the outcome report (the caller checked that a coordinator asks)."""
        return build_outcome_report(self.outcome_figures(self.today(now)))

    def chart(self, today: date) -> ChartData:
        """Return the chart's data as of `today` (three small grouped reads)."""
        since = today - timedelta(days=7 * CHART_WEEKS)
        order = {phase: index for index, phase in enumerate(Phase)}
        with self.ctx.session() as session:
            days = store.checkins_by_day(since, session=session)
            phases = store.pairs_by_phase(session=session)
            by_phase = dict(sorted(phases.items(), key=lambda kv: order.get(kv[0], 99)))
            return chart_data(days, store.pulse_ratings(since, session=session), by_phase, today)

    def post_chart(self, channel: str, now: datetime) -> str | None:
        """Draw the summary's chart and share it in `channel`; on failure, say so there in words.

        Returns what went wrong, or None. The summary's text stands alone either way.
        """
        try:
            png = self.draw(self.chart(self.today(now)))
            self.ctx.gateway.upload_file(channel, png, filename="mentoring-program.png",
                                         title="Mentoring program: the last 12 weeks",
                                         alt_text="Bar chart of check-ins per week over the last 12 weeks with the "
                                                  "pulse average as a line, and the pairs by phase.")
            return None
        except (ChartFailed, SlackCallFailed) as failure:
            problem = str(failure) if isinstance(failure, ChartFailed) else f"Slack said `{failure.code}`"
        logger.warning("summary chart not shared in %s: %s", channel, problem)
        note = (f":warning: This week's chart could not be attached ({problem}). The figures above are complete; "
                "if it keeps happening, check that the bot has the `files:write` scope and is in this channel.")
        try:
            self.ctx.gateway.post_message(channel, note, [section(note)])
        except SlackCallFailed as error:
            logger.warning("could not report the missing chart in %s: %s", channel, error.code)
        return problem

    def export_columns(self) -> dict[int, dict[str, str]]:
        """Return each pair's outcome columns for the export (ratings only, never free text)."""
        with self.ctx.session() as session:
            return export_outcome_columns(*store.export_outcome_rows(session=session))

    def with_outcomes(self, summary: Reply, today: date) -> Reply:
        """Return the weekly summary with its outcome section."""
        return Reply(text=summary.text, blocks=fit_blocks(
            summary.blocks[:-1] + outcome_summary_blocks(self.outcome_figures(today)) + summary.blocks[-1:]))

    def _member_pair(self, session: Session, actor: str, pair_id: int) -> Pair:
        pair = get_pair(pair_id, session=session)
        if pair is None:
            raise UserError("That pair no longer exists — it may have been removed.")
        if not is_member(pair, actor):
            raise UserError("That is not one of your pairs, so I did nothing.")
        return pair

    def _answer(self, session: Session, pair: Pair, actor: str, kind: str, period: str, asked: Asked,
                now: datetime) -> OutcomeResponse:
        response = store.get_response(pair.id or 0, actor, kind, period, session=session)
        response.asked_at = response.asked_at or asked.at
        response.answered_at = now
        if asked.channel and asked.ts:
            # Outcome questions go to each member's own DM: only the presser's own message counts as answered.
            mark_nudge_answered(asked.channel, asked.ts, now, pair_id=pair.id or 0, recipients=(actor,),
                                session=session)
        return response

    # ---- the fit check -----------------------------------------------------------------------------

    def rate_fit(self, *, actor: str, pair_id: int, rating: int, asked: Asked) -> Reply:
        """Record how well `actor` finds the pairing fits (1–5); return the question with its answer."""
        if not 1 <= rating <= 5:
            raise UserError("A fit is rated from 1 to 5.")
        now = self.ctx.now()
        with self.ctx.session() as session:
            pair = self._member_pair(session, actor, pair_id)
            response = self._answer(session, pair, actor, OutcomeKind.FIT, FIT_PERIOD, asked, now)
            response.rating = rating
            session.add(response)
            session.commit()
            return build_fit_check_message(pair_id=pair_id, partner_id=partner_of(pair, actor), rating=rating,
                                           change_requested=response.change_requested_at is not None)

    def request_change(self, *, actor: str, pair_id: int, asked: Asked) -> Reply:
        """Tell the coordinators, privately and once a pair, that one member would like a different match."""
        now = self.ctx.now()
        with self.ctx.session() as session:
            pair = self._member_pair(session, actor, pair_id)
            told_before = store.has_requested_change(pair_id, session=session)
            response = self._answer(session, pair, actor, OutcomeKind.FIT, FIT_PERIOD, asked, now)
            response.change_requested_at = response.change_requested_at or now
            session.add(response)
            session.commit()
            reply = build_fit_check_message(pair_id=pair_id, partner_id=partner_of(pair, actor),
                                            rating=response.rating, change_requested=True)
        if not told_before:
            notice = build_change_request_notice(mentor_id=pair.mentor_id, mentee_id=pair.mentee_id)
            for coordinator in self.ctx.settings.coordinators:
                try:
                    self.ctx.gateway.post_message(coordinator, notice.text, notice.blocks)
                except SlackCallFailed as error:
                    logger.warning("change request for pair %s not delivered to %s: %s", pair_id, coordinator,
                                   error.code)
        return reply

    # ---- the quality pulse -------------------------------------------------------------------------

    def answer_pulse(self, *, actor: str, value: str, asked: Asked, growth: int | None = None,
                     meeting: str | None = None) -> Reply:
        """Record one pulse answer (growth 1–5, or meeting as agreed); return the pulse with its answers."""
        pair_id, period = parse_pair_period(value)
        if growth is not None and not 1 <= growth <= 5:
            raise UserError("Growth is rated from 1 to 5.")
        if meeting is not None and meeting not in set(MeetingRegularity):
            raise UserError("Answer yes, sometimes or no.")
        now = self.ctx.now()
        with self.ctx.session() as session:
            pair = self._member_pair(session, actor, pair_id)
            response = self._answer(session, pair, actor, OutcomeKind.PULSE, period, asked, now)
            if growth is not None:
                response.rating = growth
            if meeting is not None:
                response.meeting_as_agreed = meeting
            session.add(response)
            session.commit()
            return build_pulse_message(pair_id=pair_id, period=period, partner_id=partner_of(pair, actor),
                                       growth=response.rating, meeting=response.meeting_as_agreed)

    # ---- the closing survey ------------------------------------------------------------------------

    def open_closing_survey(self, *, actor: str, pair_id: int, trigger_id: str, asked: Asked) -> None:
        with self.ctx.session() as session:
            pair = self._member_pair(session, actor, pair_id)
            goals = [SurveyGoal(g.id or 0, g.text, g.measure) for g in list_goals(pair_id, session=session)]
            mine = store.get_response(pair_id, actor, OutcomeKind.CLOSING, CLOSING_PERIOD, session=session)
            answered = ClosingAnswers(
                value=mine.rating, again=mine.take_part_again,
                helped_most=self.ctx.cipher.decrypt(mine.helped_most_enc) if mine.helped_most_enc else "",
                verdicts=store.attainments_of(mine, session=session))
            view = build_closing_survey_modal(pair_id=pair_id, partner_id=partner_of(pair, actor), goals=goals,
                                              answered=answered)
            session.rollback()
        view["private_metadata"] = f"{pair_id}:{asked.channel or ''}:{asked.ts or ''}"
        try:
            self.ctx.gateway.open_view(trigger_id, view)
        except SlackCallFailed as failure:
            raise UserError(f"I couldn't open the survey (Slack said {failure.code}). Please try again.") from None

    def save_closing_survey(self, *, actor: str, private_metadata: str, values: dict[str, Any]) -> dict[str, str]:
        """Store the survey, "what helped most" encrypted for its author alone; return errors by block id."""
        verdicts: dict[int, str] = {}
        errors: dict[str, str] = {}
        for block_id, inputs in values.items():
            if block_id.startswith(CLOSING_GOAL_BLOCK_PREFIX):
                goal_text = block_id.removeprefix(CLOSING_GOAL_BLOCK_PREFIX)
                chosen = _chosen(inputs)
                if not goal_text.isdigit() or chosen not in set(Attainment):
                    errors[block_id] = "Choose met, partly or not met."
                else:
                    verdicts[int(goal_text)] = chosen
        value = _chosen(values.get(CLOSING_VALUE_BLOCK) or {})
        if value not in {"1", "2", "3", "4", "5"}:
            errors[CLOSING_VALUE_BLOCK] = "Choose a value from 1 to 5."
        again = _chosen(values.get(CLOSING_AGAIN_BLOCK) or {})
        if again not in ("yes", "no"):
            errors[CLOSING_AGAIN_BLOCK] = "Choose yes or no."
        helped = str(next(iter((values.get(CLOSING_HELPED_BLOCK) or {}).values()), {}).get("value") or "").strip()
        if len(helped) > MAX_HELPED_TEXT:
            errors[CLOSING_HELPED_BLOCK] = f"Keep it to {MAX_HELPED_TEXT} characters."
        if errors:
            return errors
        try:
            pair_id, asked = parse_survey_metadata(private_metadata)
        except UserError as problem:
            return {CLOSING_VALUE_BLOCK: problem.text}
        now = self.ctx.now()
        with self.ctx.session() as session:
            try:
                pair = self._member_pair(session, actor, pair_id)
            except UserError as problem:
                return {CLOSING_VALUE_BLOCK: problem.text}
            own_goals = {g.id for g in list_goals(pair_id, session=session)}
            if not set(verdicts) <= own_goals:
                return {f"{CLOSING_GOAL_BLOCK_PREFIX}{g}": "That goal is not one of this pair's." for g in
                        set(verdicts) - own_goals}
            response = self._answer(session, pair, actor, OutcomeKind.CLOSING, CLOSING_PERIOD, asked, now)
            response.rating = int(value or 0)
            response.take_part_again = again == "yes"
            response.helped_most_enc = self.ctx.cipher.encrypt(helped) if helped else None
            session.add(response)
            store.replace_attainments(response, verdicts, session=session)
            session.commit()
        return {}

    def show_survey_answered(self, *, actor: str, private_metadata: str) -> None:
        """Replace the survey invitation's button with thanks (after the modal closed)."""
        pair_id, asked = parse_survey_metadata(private_metadata)
        if not (asked.channel and asked.ts):
            return
        with self.ctx.session() as session:
            partner = partner_of(self._member_pair(session, actor, pair_id), actor)
        done = build_closing_survey_message(pair_id=pair_id, partner_id=partner, answered=True)
        try:
            self.ctx.gateway.update_message(asked.channel, asked.ts, done.text, done.blocks)
        except SlackCallFailed as error:
            logger.warning("closing survey message not updated: %s", error.code)


def _chosen(inputs: dict[str, Any]) -> str | None:
    """Return the value of the option chosen in a radio input block's state, if any."""
    for state in inputs.values():
        option = (state or {}).get("selected_option") or {}
        return option.get("value")
    return None
