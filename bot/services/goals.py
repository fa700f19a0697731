"""A pair's goals: add one (the first moves the pair into direction), list them, mark one achieved."""

from __future__ import annotations

from datetime import datetime

from bot.blocks import Reply
from bot.blocks.lifecycle import build_goal_added_reply, build_goal_done_reply, build_goals_reply, goal_rows
from bot.domain import pairs
from bot.domain.commands import USAGE, AddGoal, CompleteGoal
from bot.domain.models import Goal, GoalStatus
from bot.domain.pairs import partner_of
from bot.services.context import ServiceContext
from bot.services.errors import UserError
from bot.services.pairs import PairService
from bot.store.pairs import list_goals

MAX_GOALS_PER_PAIR = 50


class GoalService:
    def __init__(self, ctx: ServiceContext, pair_service: PairService) -> None:
        self.ctx = ctx
        self.pairs = pair_service

    def add_goal(self, *, actor: str, command: AddGoal, now: datetime) -> Reply:
        today = self.pairs.today(now)
        with self.ctx.session() as session:
            pair = self.pairs.resolve_pair(session, actor=actor, partner_id=command.partner_id, usage=USAGE["goal add"],
                                     suggest="/mentoring goal add … ")
            goals = list_goals(pair.id or 0, session=session)
            if len(goals) >= MAX_GOALS_PER_PAIR:
                raise UserError(f"Your pair already has {len(goals)} goals, the most I keep. Mark some done or "
                                "focus on fewer.", USAGE["goal add"])
            goal = Goal(pair_id=pair.id, text=command.text, measure=command.measure, due_on=command.due_on,
                        created_at=now, created_by=actor)
            session.add(goal)
            moved = pairs.begin_direction(pair, now)
            session.add(pair)
            session.commit()
            row = goal_rows([*goals, goal])[-1]
        return build_goal_added_reply(goal=row, moved_to_direction=moved, today=today)

    def list_goals(self, *, actor: str, partner_id: str | None, now: datetime) -> Reply:
        with self.ctx.session() as session:
            pair = self.pairs.resolve_pair(session, actor=actor, partner_id=partner_id, usage=USAGE["goals"],
                                     suggest="/mentoring goals")
            rows = goal_rows(list_goals(pair.id or 0, session=session))
            partner = partner_of(pair, actor)
        return build_goals_reply(goals=rows, partner_id=partner, today=self.pairs.today(now))

    def complete_goal(self, *, actor: str, command: CompleteGoal, now: datetime) -> Reply:
        usage = USAGE["goal done"]
        with self.ctx.session() as session:
            pair = self.pairs.resolve_pair(session, actor=actor, partner_id=command.partner_id, usage=usage,
                                     suggest=f"/mentoring goal done {command.number}")
            goals = list_goals(pair.id or 0, session=session)
            if not goals:
                raise UserError("Your pair has no goals yet — add one with `/mentoring goal add`.", usage)
            if command.number > len(goals):
                raise UserError(f"There is no goal {command.number}: your pair has {len(goals)} goal"
                                f"{'s' if len(goals) != 1 else ''} (1–{len(goals)}). See `/mentoring goals`.", usage)
            goal = goals[command.number - 1]
            already = goal.status == GoalStatus.ACHIEVED
            if not already:
                goal.status = GoalStatus.ACHIEVED
                goal.achieved_on = self.pairs.today(now)
                session.add(goal)
                session.commit()
            row = goal_rows(goals)[command.number - 1]
        return build_goal_done_reply(goal=row, already=already)
