"""Reports for coordinators: the program summary (posted on demand and weekly) and the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from bot.blocks import Reply
from bot.blocks.summary import build_summary_message
from bot.domain.figures import EXPORT_COLUMNS, ProgramFigures, export_rows, program_figures, program_today
from bot.domain.outcomes import OUTCOME_EXPORT_COLUMNS
from bot.gateway import SlackCallFailed
from bot.services.context import ServiceContext
from bot.services.errors import UserError
from bot.services.outcomes import OutcomeService
from bot.services.people import PeopleService
from bot.store import ledger
from bot.store.reports import load_program_inputs

NO_OUTCOMES = dict.fromkeys(OUTCOME_EXPORT_COLUMNS, "")


class ReportService:
    def __init__(self, ctx: ServiceContext, people: PeopleService, outcomes: OutcomeService) -> None:
        self.ctx = ctx
        self.people = people
        self.outcomes = outcomes

    def figures(self, now: datetime) -> ProgramFigures:
        """Return the program figures as of the program's today at `now`."""
        zone = self.ctx.settings.zone
        today = program_today(now, zone)
        with self.ctx.session() as session:
            return program_figures(load_program_inputs(session=session, today=today), today, zone)

    def summary_reply(self, now: datetime) -> Reply:
        figures = self.figures(now)
        return self.outcomes.with_outcomes(build_summary_message(figures), figures.today)

    def post_summary(self, *, actor: str, now: datetime) -> Reply:
        """Post the program summary to the summary channel now (a coordinator asked for it)."""
        with self.ctx.session() as session:
            allowed = self.people.is_coordinator(session, actor, now)
            session.commit()
        if not allowed:
            raise UserError("Only a program coordinator can post the summary.", "/mentoring summary")
        channel = self.ctx.settings.summary_channel
        if not channel:
            raise UserError("No summary channel is configured. Set MENTORBOT_SUMMARY_CHANNEL to a channel ID "
                            "and invite the bot there.")
        reply = self.summary_reply(now)
        try:
            self.ctx.gateway.post_message(channel, reply.text, reply.blocks)
        except SlackCallFailed as problem:
            raise UserError(f"Slack would not take the summary in <#{channel}> ({problem.code}). "
                            "Is the bot invited to that channel?") from None
        chart_problem = self.outcomes.post_chart(channel, now)
        if chart_problem:
            return Reply(text=f":white_check_mark: Posted the program summary to <#{channel}>, without its chart "
                              f"({chart_problem}).")
        return Reply(text=f":white_check_mark: Posted the program summary to <#{channel}>.")

    def export_csv(self, now: datetime) -> str:
        """Return the CSV of every pair (figures and dates, no note text)."""
        zone = self.ctx.settings.zone
        today = program_today(now, zone)
        with self.ctx.session() as session:
            rows = export_rows(load_program_inputs(session=session, today=today, names=True), today, zone)
        outcomes = self.outcomes.export_columns()
        for row in rows:
            row.update(outcomes.get(int(row["pair_id"]), NO_OUTCOMES))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=[*EXPORT_COLUMNS, *OUTCOME_EXPORT_COLUMNS], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue()

    def list_undeliverable(self) -> list[tuple[str, str, str, str]]:
        """Return (when, recipient, kind, reason) for nudges the ledger records as undeliverable."""
        with self.ctx.session() as session:
            return [(n.claimed_at.isoformat(timespec="minutes"), n.recipient, n.kind, n.error or "")
                    for n in ledger.list_undeliverable(session=session)]
