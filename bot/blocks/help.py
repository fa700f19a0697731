"""`/mentoring help`: usage for the caller's role."""

from __future__ import annotations

from bot.blocks import Reply, context, header, section

MEMBER_USAGE = [
    ("`/mentoring join`", "join the mentoring program: what you bring, what you want, who not to pair you with"),
    ("`/mentoring profile [@person]`",
     "change your profile; with @person, read your partner's (coordinators: anyone's)"),
    ("`/mentoring leave`", "leave the pool (your pairs carry on)"),
    ("`/mentoring topics`", "the program's topic list"),
    ("`/mentoring pairs`", "your pairs, with phase and last check-in"),
    ("`/mentoring checkin [@partner]`", "log a meeting: how it went, what you worked on, a private note"),
    ("`/mentoring agreement [@partner]`",
     "set or change your agreement: how often you meet, confidentiality, the way out"),
    ("`/mentoring goal add <text> [by YYYY-MM-DD] [measure <text>]`", "add a goal with a date and a success measure"),
    ("`/mentoring goals [@partner]`", "your goals with status and due dates"),
    ("`/mentoring goal done <n>`", "mark goal n achieved"),
    ("`/mentoring phase [next] [@partner]`", "where your relationship is, what helps now; `next` moves on"),
    ("`/mentoring pause [N days|weeks] [@partner]`",
     "pause reminders (default 14 days); `/mentoring resume` restarts them"),
    ("`/mentoring end [@partner]`", "start winding up: reflect, celebrate, plan what comes next"),
]
COORDINATOR_USAGE = [
    ("`/mentoring match`", "propose mentors for everyone waiting, each with its reason; accept, skip or accept all"),
    ("`/mentoring topics add|remove <name>`", "keep the topic list people pick from"),
    ("`/mentoring pair @mentor @mentee [every N days|weeks] [until YYYY-MM-DD]`",
     "register a pair (default every 14 days, for 6 months)"),
    ("`/mentoring pairs [page]`", "every active pair with phase, last check-in and health"),
    ("`/mentoring summary`", "post the program summary to the summary channel now"),
    ("`/mentoring report`", "the outcome report: goals met, meeting regularity, fit, pulses, endings"),
    ("`/mentoring quiet on|off`", "kill switch: no scheduled DM or summary until turned off"),
    ("`/mentoring pause|resume|end @mentor-or-mentee`", "pause, resume or wind up any pair"),
]


def _lines(rows: list[tuple[str, str]]) -> str:
    return "\n".join(f"{usage} — {what}" for usage, what in rows)


def build_help_reply(*, coordinator: bool, problem: str | None = None) -> Reply:
    blocks = []
    if problem:
        blocks.append(section(f":warning: {problem}"))
    blocks.append(header("mentorbot — keeping mentoring pairs alive"))
    if coordinator:
        blocks.append(section("*For coordinators*\n" + _lines(COORDINATOR_USAGE)))
    blocks.append(section("*For mentors and mentees*\n" + _lines(MEMBER_USAGE)))
    blocks.append(
        context("What you write in a private note is seen by you alone; coordinators see dates, counts and "
                "ratings, never your words.")
    )
    commands = ("help | join | profile | leave | topics | pairs | checkin | agreement | goal add | goals | "
                "goal done | phase | pause | resume | end")
    text = (problem + " " if problem else "") + f"Usage: /mentoring {commands}" + (
        " | match | pair | summary | report | quiet" if coordinator else "")
    return Reply(text=text, blocks=blocks)
