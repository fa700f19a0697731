"""`/mentoring …` text → a typed command, or a UsageError saying what was wrong and the right form.

One module, longer than most, on purpose: the grammar, its usage lines and the typed commands are read
and changed together, and split apart they would drift.

Pure: no Slack, no clock (`today` is a parameter), no database. Anything a user can type either
parses or raises UsageError — never another exception.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

MIN_CADENCE_DAYS = 1
MAX_CADENCE_DAYS = 26 * 7
MAX_PAUSE_DAYS = 26 * 7
MAX_END_YEARS = 2
MAX_GOAL_TEXT = 500
MAX_MEASURE_TEXT = 500
MAX_GOAL_NUMBER = 999
# Slack documents no limit of its own for a slash command's text: it is what was typed in the message box,
# and Slack keeps at most 40,000 characters of a message (its 2018 change "truncating really long
# messages"). Longer text cannot come from Slack, so it is refused before it is split into words.
MAX_COMMAND_TEXT = 40_000
DEFAULT_PAUSE_DAYS = 14

USAGE = {
    "help": "/mentoring help",
    "pair": "/mentoring pair @mentor @mentee [every N days|weeks] [until YYYY-MM-DD]",
    "pairs": "/mentoring pairs [page]",
    "checkin": "/mentoring checkin [@partner]",
    "agreement": "/mentoring agreement [@partner]",
    "goal add": "/mentoring goal add <text> [by YYYY-MM-DD] [measure <text>] [@partner]",
    "goals": "/mentoring goals [@partner]",
    "goal done": "/mentoring goal done <n> [@partner]",
    "goal": "/mentoring goal add <text> [by YYYY-MM-DD] [measure <text>]  or  /mentoring goal done <n>",
    "phase": "/mentoring phase [next] [@partner]",
    "pause": "/mentoring pause [N days|weeks] [@partner]",
    "resume": "/mentoring resume [@partner]",
    "end": "/mentoring end [@partner]",
    "summary": "/mentoring summary",
    "quiet": "/mentoring quiet on|off",
    "join": "/mentoring join",
    "profile": "/mentoring profile [@person]",
    "leave": "/mentoring leave",
    "topics": "/mentoring topics [add|remove <name>]",
    "match": "/mentoring match",
    "report": "/mentoring report",
}
MAX_TOPIC_NAME = 75  # a topic is an option of a Block Kit menu: option text holds 75 characters


class UsageError(Exception):
    """The text does not make a command: `message` says why, `usage` shows the right form."""

    def __init__(self, message: str, usage: str) -> None:
        self.message = message
        self.usage = usage
        super().__init__(message)


class UnknownCommand(UsageError):
    """The first word names no command at all."""


# ---- the commands ------------------------------------------------------------------------


@dataclass(frozen=True)
class BareCommand:
    """A command that takes nothing after its name."""


@dataclass(frozen=True)
class PairCommand:
    """A command about one of the sender's pairs; `partner_id` names which one when they are in several."""

    partner_id: str | None = field(default=None, kw_only=True)


class Help(BareCommand):
    """`help`, or nothing at all: the list of commands."""


@dataclass(frozen=True)
class RegisterPair:
    mentor_id: str
    mentee_id: str
    cadence_days: int | None = None
    ends_on: date | None = None


@dataclass(frozen=True)
class ListPairs:
    page: int = 1


class OpenCheckin(PairCommand):
    """`checkin`: open the check-in form."""


class OpenAgreement(PairCommand):
    """`agreement`: open the agreement form."""


@dataclass(frozen=True)
class AddGoal(PairCommand):
    text: str
    due_on: date | None = None
    measure: str = ""


class ListGoals(PairCommand):
    """`goals`: the pair's goals and how far each has come."""


@dataclass(frozen=True)
class CompleteGoal(PairCommand):
    number: int


@dataclass(frozen=True)
class ShowPhase(PairCommand):
    advance: bool = False


@dataclass(frozen=True)
class PausePair(PairCommand):
    days: int = DEFAULT_PAUSE_DAYS


class ResumePair(PairCommand):
    """`resume`: reminders start again."""


class EndPair(PairCommand):
    """`end`: close the pair (its members are asked why)."""


class PostSummary(BareCommand):
    """`summary`: post the weekly summary now (coordinators)."""


@dataclass(frozen=True)
class SetQuiet:
    on: bool


@dataclass(frozen=True)
class OpenProfile:
    """`join` (joining=True) or `profile`: open the sign-up form."""

    joining: bool = True


@dataclass(frozen=True)
class ShowProfile:
    """`profile @person`: read someone's profile (coordinators, and their partner once paired)."""

    person_id: str


class LeavePool(BareCommand):
    """`leave`: leave the matching pool (pairs already made are unaffected)."""


@dataclass(frozen=True)
class ManageTopics:
    """`topics` lists (verb None); `topics add|remove <name>` changes the list."""

    verb: str | None = None
    name: str = ""


class ProposeMatches(BareCommand):
    """`match`: propose matches for everyone waiting (coordinators)."""


class ShowReport(BareCommand):
    """`report`: the outcome report (coordinators)."""


Command = (
    Help | RegisterPair | ListPairs | OpenCheckin | OpenAgreement | AddGoal | ListGoals | CompleteGoal
    | ShowPhase | PausePair | ResumePair | EndPair | PostSummary | SetQuiet
    | OpenProfile | ShowProfile | LeavePool | ManageTopics | ProposeMatches | ShowReport
)

# ---- tokens ----------------------------------------------------------------------------------

_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
# Slack wraps mentions, channels and links in <…>; quotes group words; anything else splits on spaces.
_TOKEN = re.compile(r'<[^<>]*>|"[^"]*"|"[^"]*$|\S+')
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SMART_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"'})


@dataclass(frozen=True)
class Token:
    text: str
    quoted: bool = False
    mention: str | None = None

    @property
    def word(self) -> str:
        """Return the lower-cased text when it can be a keyword, else an empty string."""
        return "" if self.quoted or self.mention else self.text.lower()


def _unescape(text: str) -> str:
    # With should_escape, Slack sends &, < and > as entities; store what the user typed.
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def tokenize(text: str, usage: str = USAGE["help"]) -> list[Token]:
    """Split command text into words, quoted phrases and mentions."""
    tokens: list[Token] = []
    for raw in _TOKEN.findall(text.translate(_SMART_QUOTES)):
        if raw.startswith('"'):
            if len(raw) < 2 or not raw.endswith('"'):
                raise UsageError("A quotation mark is not closed.", usage)
            tokens.append(Token(_unescape(raw[1:-1]), quoted=True))
            continue
        found = _MENTION.match(raw)
        if found:
            tokens.append(Token(raw, mention=found.group(1)))
        elif raw.startswith("<") and raw.endswith(">"):
            # A link or channel: keep its visible label (or the link itself).
            inner = raw[1:-1]
            tokens.append(Token(_unescape(inner.split("|", 1)[1] if "|" in inner else inner)))
        else:
            tokens.append(Token(_unescape(raw)))
    return tokens


# ---- shared pieces -----------------------------------------------------------------------


_UNSAFE_IN_ECHO = str.maketrans("", "", "<>&*_~`\n\r")


def shown(text: str, limit: int = 30) -> str:
    """Return user text safe to quote back in an error: short, with no Slack markup characters."""
    text = text.translate(_UNSAFE_IN_ECHO)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _not_a_mention(token: Token, usage: str) -> UsageError:
    name = shown(token.text, 40)
    if token.text.startswith("@") or token.text.startswith("<@"):
        return UsageError(
            f"“{name}” is not a Slack mention. Type @ and pick the person from the list so Slack links them.", usage
        )
    return UsageError(
        f"I don't understand “{name}” here. To name a person, type @ and pick them from the list.", usage
    )


def parse_date(raw: str, usage: str) -> date:
    """Return the YYYY-MM-DD date in `raw`."""
    if not _DATE.match(raw):
        raise UsageError(f"“{shown(raw, 20)}” is not a date. Write dates as YYYY-MM-DD, e.g. 2027-01-31.", usage)
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise UsageError(f"{raw} is not a real calendar date.", usage) from None


def _add_years(day: date, years: int) -> date:
    if day.year + years > date.max.year:
        return date.max
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def latest_end_date(today: date) -> date:
    return _add_years(today, MAX_END_YEARS)


def check_end_date(ends_on: date, today: date, usage: str) -> date:
    """Return `ends_on` if it lies after today and within two years."""
    if ends_on <= today:
        raise UsageError(f"The end date {ends_on.isoformat()} is not in the future.", usage)
    if ends_on > latest_end_date(today):
        raise UsageError(
            f"The end date {ends_on.isoformat()} is more than {MAX_END_YEARS} years away; "
            f"pick a date up to {latest_end_date(today).isoformat()}.",
            usage,
        )
    return ends_on


def _number(raw: str) -> int | None:
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 6 else None


def parse_duration(count: str, unit: str, usage: str, *, what: str, maximum: int) -> int:
    """Return the days in “N days|weeks”, between 1 day and `maximum` days."""
    unit = unit.lower()
    if unit not in ("day", "days", "week", "weeks"):
        raise UsageError(f"The {what} needs a unit: days or weeks (e.g. “every 2 weeks”).", usage)
    number = _number(count)
    if number is None:
        raise UsageError(f"“{shown(count, 20)}” is not a whole number of {unit.rstrip('s')}s.", usage)
    days = number * (7 if unit.startswith("week") else 1)
    if days < 1:
        raise UsageError(f"The {what} must be at least 1 day.", usage)
    if days > maximum:
        raise UsageError(f"The {what} can be at most {maximum // 7} weeks.", usage)
    return days


def parse_cadence(text: str, usage: str = USAGE["pair"]) -> int:
    """Return the days in “every N days|weeks” (or “N weeks”, “every week”)."""
    words = text.strip().lower().split()
    if words[:1] == ["every"]:
        words = words[1:]
    if len(words) == 1 and words[0] in ("day", "week"):
        words = ["1", words[0]]
    if len(words) != 2:
        raise UsageError("Write how often as “every N days” or “every N weeks”, e.g. “every 2 weeks”.", usage)
    return parse_duration(words[0], words[1], usage, what="meeting cadence", maximum=MAX_CADENCE_DAYS)


def _partner(tokens: list[Token], usage: str) -> tuple[str | None, list[Token]]:
    """Take at most one mention out of `tokens`; return it and the rest."""
    mentions = [t.mention for t in tokens if t.mention]
    if len(mentions) > 1:
        raise UsageError("Name one partner at most.", usage)
    return (mentions[0] if mentions else None), [t for t in tokens if not t.mention]


def _no_more(tokens: list[Token], usage: str) -> None:
    if tokens:
        raise _not_a_mention(tokens[0], usage)


# ---- the parsers, one per command ---------------------------------------------------------


def _parse_pair(args: list[Token], today: date) -> RegisterPair:
    usage = USAGE["pair"]
    mentions: list[str] = []
    cadence: int | None = None
    ends_on: date | None = None
    index = 0
    while index < len(args):
        token = args[index]
        if token.mention:
            mentions.append(token.mention)
            index += 1
        elif token.word == "every":
            if cadence is not None:
                raise UsageError("Say how often only once.", usage)
            rest = args[index + 1 : index + 3]
            if len(rest) >= 1 and rest[0].word in ("day", "week"):
                cadence = parse_cadence(f"every {rest[0].text}", usage)
                index += 2
            elif len(rest) == 2:
                cadence = parse_duration(rest[0].text, rest[1].text, usage, what="meeting cadence",
                                         maximum=MAX_CADENCE_DAYS)
                index += 3
            else:
                raise UsageError("Write how often as “every N days” or “every N weeks”.", usage)
        elif token.word == "until":
            if ends_on is not None:
                raise UsageError("Give one end date only.", usage)
            if index + 1 >= len(args):
                raise UsageError("“until” needs a date, e.g. until 2027-06-30.", usage)
            ends_on = check_end_date(parse_date(args[index + 1].text, usage), today, usage)
            index += 2
        else:
            raise _not_a_mention(token, usage)
    if len(mentions) != 2:
        raise UsageError(f"Mention exactly two people, the mentor first, then the mentee (you mentioned "
                         f"{len(mentions)}).", usage)
    if mentions[0] == mentions[1]:
        raise UsageError("The mentor and the mentee must be two different people.", usage)
    return RegisterPair(mentor_id=mentions[0], mentee_id=mentions[1], cadence_days=cadence, ends_on=ends_on)


def _parse_goal_add(args: list[Token], today: date) -> AddGoal:
    usage = USAGE["goal add"]
    text: list[str] = []
    measure: list[str] = []
    due_on: date | None = None
    partner: str | None = None
    target: list[str] | None = text
    saw_measure = False
    index = 0
    while index < len(args):
        token = args[index]
        following = args[index + 1] if index + 1 < len(args) else None
        if token.mention:
            if partner is not None:
                raise UsageError("Name one partner at most.", usage)
            partner = token.mention
        elif token.word == "by" and following is not None and following.text[:1].isdigit() and (text or measure):
            if due_on is not None:
                raise UsageError("Give one date only.", usage)
            due_on = parse_date(following.text, usage)
            if due_on < today:
                raise UsageError(f"The date {due_on.isoformat()} is in the past.", usage)
            target = None
            index += 1
        elif token.word == "measure" and text:
            if saw_measure:
                raise UsageError("Give one success measure only.", usage)
            saw_measure = True
            target = measure
        elif target is None:
            raise UsageError("Put the goal text first, then “by YYYY-MM-DD” and “measure …”.", usage)
        else:
            target.append(token.text)
        index += 1
    goal_text = " ".join(text).strip()
    measure_text = " ".join(measure).strip()
    if not goal_text:
        raise UsageError("Say what the goal is.", usage)
    if len(goal_text) > MAX_GOAL_TEXT:
        raise UsageError(f"The goal is {len(goal_text)} characters long; keep it to {MAX_GOAL_TEXT}.", usage)
    if saw_measure and not measure_text:
        raise UsageError("“measure” needs the success measure after it, e.g. measure \"3 demos given\".", usage)
    if len(measure_text) > MAX_MEASURE_TEXT:
        raise UsageError(f"The success measure is {len(measure_text)} characters long; keep it to "
                         f"{MAX_MEASURE_TEXT}.", usage)
    return AddGoal(text=goal_text, due_on=due_on, measure=measure_text, partner_id=partner)


def _parse_goal_done(args: list[Token]) -> CompleteGoal:
    usage = USAGE["goal done"]
    partner, rest = _partner(args, usage)
    if not rest:
        raise UsageError("Say which goal: its number from `/mentoring goals`.", usage)
    number = _number(rest[0].text)
    if number is None or not 1 <= number <= MAX_GOAL_NUMBER:
        raise UsageError(f"“{shown(rest[0].text, 20)}” is not a goal number; use the number shown by "
                         "`/mentoring goals` (1, 2, …).", usage)
    _no_more(rest[1:], usage)
    return CompleteGoal(number=number, partner_id=partner)


def _parse_goal(args: list[Token], today: date) -> AddGoal | CompleteGoal:
    verb = args[0].word if args else ""
    if verb == "add":
        return _parse_goal_add(args[1:], today)
    if verb in ("done", "achieved", "complete"):
        return _parse_goal_done(args[1:])
    raise UsageError("Use “goal add …” to add a goal or “goal done <n>” to mark one achieved.", USAGE["goal"])


def _parse_pause(args: list[Token]) -> PausePair:
    usage = USAGE["pause"]
    partner, rest = _partner(args, usage)
    if not rest:
        return PausePair(partner_id=partner)
    if rest[0].word == "for":
        rest = rest[1:]
    if len(rest) != 2:
        raise UsageError("Say how long as “N days” or “N weeks”, e.g. “pause 2 weeks”.", usage)
    days = parse_duration(rest[0].text, rest[1].text, usage, what="pause", maximum=MAX_PAUSE_DAYS)
    return PausePair(days=days, partner_id=partner)


def _parse_pairs(args: list[Token]) -> ListPairs:
    usage = USAGE["pairs"]
    if not args:
        return ListPairs()
    if args[0].word == "page":
        args = args[1:]
    number = _number(args[0].text) if len(args) == 1 else None
    if number is None or number < 1:
        raise UsageError("Give a page number, e.g. “pairs 2”.", usage)
    return ListPairs(page=number)


def _parse_quiet(args: list[Token]) -> SetQuiet:
    usage = USAGE["quiet"]
    if len(args) != 1 or args[0].word not in ("on", "off"):
        raise UsageError("Say “quiet on” to stop every scheduled message, or “quiet off” to start them again.",
                         usage)
    return SetQuiet(on=args[0].word == "on")


def _parse_topics(args: list[Token]) -> ManageTopics:
    usage = USAGE["topics"]
    if not args:
        return ManageTopics()
    verb = args[0].word
    if verb not in ("add", "remove"):
        raise UsageError("Say “topics” to list them, “topics add <name>” or “topics remove <name>”.", usage)
    if any(t.mention for t in args[1:]):
        raise UsageError("A topic is a few words, not a person.", usage)
    name = " ".join(" ".join(t.text for t in args[1:]).split())
    if not name:
        raise UsageError(f"Name the topic to {verb}, e.g. “topics {verb} public speaking”.", usage)
    if len(name) > MAX_TOPIC_NAME:
        raise UsageError(f"The topic name is {len(name)} characters long; keep it to {MAX_TOPIC_NAME}.", usage)
    if any(char in name for char in "<>&*_~`"):
        raise UsageError("A topic name can't contain < > & * _ ~ or `: write it in plain words.", usage)
    return ManageTopics(verb=verb, name=name)


def _no_arguments(name: str, args: list[Token]) -> None:
    if args:
        raise UsageError(f"“{name}” takes nothing after it.", USAGE[name])


def _partner_only(args: list[Token], usage: str) -> str | None:
    partner, rest = _partner(args, usage)
    _no_more(rest, usage)
    return partner


def _usage_for(text: str) -> str:
    """Return the usage of the command `text` starts with (for errors found before parsing it)."""
    words = text.lower().split()[:2]
    if words[:1] == ["goal"] and words[1:] in (["add"], ["done"]):
        return USAGE[" ".join(words)]
    return USAGE.get(words[0] if words else "help", USAGE["help"])


def parse_command(text: str, *, today: date) -> Command:
    """Return the command `text` asks for; raise UsageError when it does not make one."""
    if len(text) > MAX_COMMAND_TEXT:
        raise UsageError(f"That command is {len(text):,} characters long; Slack sends at most "
                         f"{MAX_COMMAND_TEXT:,}, so I didn't read it.", USAGE["help"])
    tokens = tokenize(text, _usage_for(text))
    if not tokens:
        return Help()
    name, args = tokens[0].word, tokens[1:]
    if name in ("help", "?"):
        return Help()
    if name == "pair":
        return _parse_pair(args, today)
    if name == "pairs":
        return _parse_pairs(args)
    if name in ("checkin", "check-in"):
        return OpenCheckin(partner_id=_partner_only(args, USAGE["checkin"]))
    if name == "agreement":
        return OpenAgreement(partner_id=_partner_only(args, USAGE["agreement"]))
    if name == "goal":
        return _parse_goal(args, today)
    if name == "goals":
        return ListGoals(partner_id=_partner_only(args, USAGE["goals"]))
    if name == "phase":
        partner, rest = _partner(args, USAGE["phase"])
        advance = bool(rest) and rest[0].word == "next"
        _no_more(rest[1:] if advance else rest, USAGE["phase"])
        return ShowPhase(advance=advance, partner_id=partner)
    if name == "pause":
        return _parse_pause(args)
    if name == "resume":
        return ResumePair(partner_id=_partner_only(args, USAGE["resume"]))
    if name == "end":
        return EndPair(partner_id=_partner_only(args, USAGE["end"]))
    if name == "summary":
        _no_more(args, USAGE["summary"])
        return PostSummary()
    if name == "quiet":
        return _parse_quiet(args)
    if name == "profile" and args:
        person = _partner_only(args, USAGE["profile"])
        if person is not None:
            return ShowProfile(person_id=person)
    if name in ("join", "profile", "leave", "match"):
        _no_arguments(name, args)
        if name == "leave":
            return LeavePool()
        if name == "match":
            return ProposeMatches()
        return OpenProfile(joining=name == "join")
    if name == "topics":
        return _parse_topics(args)
    if name == "report":
        _no_more(args, USAGE["report"])
        return ShowReport()
    raise UnknownCommand(f"I don't know the command “{shown(tokens[0].text)}”.", USAGE["help"])


def cadence_label(days: int) -> str:
    """Return “every 2 weeks” / “every 10 days” for a cadence in days."""
    if days % 7 == 0:
        weeks = days // 7
        return "every week" if weeks == 1 else f"every {weeks} weeks"
    return "every day" if days == 1 else f"every {days} days"


def default_end_date(today: date) -> date:
    """Return six months from today (the default length of a relationship)."""
    month = today.month + 6
    year = today.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    for day in (today.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    return today + timedelta(days=182)
