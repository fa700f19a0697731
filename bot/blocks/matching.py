"""Sign-up and matching in Block Kit: the profile modal and its typed form, the topic list, proposals with their
reasons, a mentee's choices, a mentor's request, and what each brings in the welcome.

Slack's limits used here: a static menu holds at most 100 options, an option's text 75 characters and its
value 150; a modal's title and buttons 24 characters; a text input up to 3000; a message 50 blocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.blocks import (
    MAX_MESSAGE_BLOCKS,
    MAX_SECTION_TEXT,
    Block,
    Reply,
    actions,
    button,
    context,
    escape_mrkdwn,
    header,
    input_block,
    mention,
    option,
    plain,
    section,
    truncate,
)
from bot.blocks.ids import (
    CHOICE_BLOCK_PREFIX,
    CHOICE_PICK_ACTION,
    HOME_JOIN_BLOCK,
    INPUT_ACTION,
    MATCH_ACCEPT_ACTION,
    MATCH_ACCEPT_ALL_ACTION,
    MATCH_ALL_BLOCK,
    MATCH_PROPOSAL_BLOCK_PREFIX,
    MATCH_SKIP_ACTION,
    PROFILE_BLOCKED_BLOCK,
    PROFILE_CAPACITY_BLOCK,
    PROFILE_JOIN_ACTION,
    PROFILE_OFFERED_BLOCK,
    PROFILE_QUESTIONS_BLOCK,
    PROFILE_ROLE_BLOCK,
    PROFILE_STRENGTHS_BLOCK,
    PROFILE_VIEW,
    PROFILE_WANTED_BLOCK,
    REQUEST_ACCEPT_ACTION,
    REQUEST_BLOCK_PREFIX,
    REQUEST_DECLINE_ACTION,
)
from bot.domain.matching import Role, topic_list

MAX_TOPICS = 100  # a static menu's options
MAX_PROFILE_TEXT = 1000
MAX_CAPACITY = 5
MAX_BLOCKED = 20
MAX_PROPOSALS_SHOWN = 20  # two blocks each, within a message's 50
ROLE_LABELS = {Role.MENTOR: "Mentor", Role.MENTEE: "Mentee", Role.EITHER: "Either — whatever the program needs"}




# ---- the profile modal -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfileFields:
    """What the modal shows: the topic list as (id, name), and what the person chose so far."""

    topics: list[tuple[int, str]]
    role: str | None = None
    offered: list[int] = field(default_factory=list)
    wanted: list[int] = field(default_factory=list)
    strengths: str = ""
    questions: str = ""
    capacity: int = 1
    blocked: list[str] = field(default_factory=list)


def _topic_select(fields: ProfileFields, chosen: list[int], placeholder: str) -> dict[str, Any]:
    options = [option(str(topic_id), name) for topic_id, name in fields.topics[:MAX_TOPICS]]
    element: dict[str, Any] = {"type": "multi_static_select", "action_id": INPUT_ACTION,
                               "placeholder": plain(placeholder, 150), "options": options}
    initial = [o for o in options if int(o["value"]) in set(chosen)]
    if initial:
        element["initial_options"] = initial
    return element


def build_profile_modal(fields: ProfileFields, *, joining: bool) -> dict[str, Any]:
    """Return the sign-up form, pre-filled with `fields`."""
    roles = [option(role.value, ROLE_LABELS[role]) for role in Role]
    role_element: dict[str, Any] = {"type": "radio_buttons", "action_id": INPUT_ACTION, "options": roles}
    if fields.role:
        role_element["initial_option"] = next(o for o in roles if o["value"] == fields.role)
    capacities = [option(str(n), f"{n} mentee{'s' if n > 1 else ''}") for n in range(1, MAX_CAPACITY + 1)]
    text = {"type": "plain_text_input", "action_id": INPUT_ACTION, "multiline": True, "max_length": MAX_PROFILE_TEXT}
    blocked: dict[str, Any] = {"type": "multi_users_select", "action_id": INPUT_ACTION,
                               "placeholder": plain("Pick people", 150), "max_selected_items": MAX_BLOCKED}
    if fields.blocked:
        blocked["initial_users"] = fields.blocked[:MAX_BLOCKED]
    blocks: list[Block] = [
        section("Tell the program what you bring and what you want; coordinators use it to propose matches, and "
                "once you are paired your partner sees it too."),
        input_block(PROFILE_ROLE_BLOCK, "I'd like to be a…", role_element),
        input_block(PROFILE_OFFERED_BLOCK, "Topics I can help with (as a mentor)",
               _topic_select(fields, fields.offered, "Pick topics"), optional=True),
        input_block(PROFILE_WANTED_BLOCK, "Topics I want help with (as a mentee)",
               _topic_select(fields, fields.wanted, "Pick topics"), optional=True),
        input_block(PROFILE_STRENGTHS_BLOCK, "My strengths, in my own words",
               {**text, "initial_value": fields.strengths,
                "placeholder": plain("Skills, experience, people I can introduce you to", 150)}, optional=True),
        input_block(PROFILE_QUESTIONS_BLOCK, "My current questions (mentees)",
               {**text, "initial_value": fields.questions,
                "placeholder": plain("What you are wrestling with right now", 150)}, optional=True,
               hint="Your mentor reads these before your meetings; you can update them when you log a check-in."),
        input_block(PROFILE_CAPACITY_BLOCK, "How many mentees at once (mentors)",
               {"type": "static_select", "action_id": INPUT_ACTION, "options": capacities,
                "initial_option": capacities[min(max(fields.capacity, 1), MAX_CAPACITY) - 1]}),
        input_block(PROFILE_BLOCKED_BLOCK, "Don't pair me with", blocked, optional=True,
               hint="Used only by the matcher. Nobody sees this list, not even coordinators."),
    ]
    for block in blocks:
        if block.get("element", {}).get("initial_value") == "":
            del block["element"]["initial_value"]
    return {
        "type": "modal",
        "callback_id": PROFILE_VIEW,
        "title": plain("Mentoring profile", 24),
        "submit": plain("Join" if joining else "Save", 24),
        "close": plain("Cancel", 24),
        "blocks": blocks,
    }


@dataclass(frozen=True)
class ProfileForm:
    """The submitted profile, read but not yet checked against the topic list."""

    role: str
    offered: list[str]
    wanted: list[str]
    strengths: str
    questions: str
    capacity: str
    blocked: list[str]


def read_profile_form(values: dict[str, Any]) -> ProfileForm:
    """Turn the modal's state into a typed form (missing fields read as empty)."""

    def element(block_id: str) -> dict[str, Any]:
        return (values.get(block_id) or {}).get(INPUT_ACTION) or {}

    def selected(block_id: str) -> list[str]:
        return [str(o.get("value", "")) for o in element(block_id).get("selected_options") or []]

    return ProfileForm(
        role=str((element(PROFILE_ROLE_BLOCK).get("selected_option") or {}).get("value") or ""),
        offered=selected(PROFILE_OFFERED_BLOCK),
        wanted=selected(PROFILE_WANTED_BLOCK),
        strengths=str(element(PROFILE_STRENGTHS_BLOCK).get("value") or "").strip(),
        questions=str(element(PROFILE_QUESTIONS_BLOCK).get("value") or "").strip(),
        capacity=str((element(PROFILE_CAPACITY_BLOCK).get("selected_option") or {}).get("value") or "1"),
        blocked=[str(u) for u in element(PROFILE_BLOCKED_BLOCK).get("selected_users") or []],
    )


# ---- replies -----------------------------------------------------------------------------------------


def build_profile_saved_reply(*, joining: bool, role: str) -> Reply:
    what = "You're in the mentoring program's pool" if joining else "Your profile is saved"
    text = (f":white_check_mark: {what} as {ROLE_LABELS[Role(role)].split(' —')[0].lower()}. A coordinator will "
            "propose a match; `/mentoring profile` changes your answers, `/mentoring leave` leaves the pool.")
    return Reply(text=text, blocks=[section(text)])


def build_profile_card(*, person_id: str, role: str, in_pool: bool, capacity: int, offered: list[str],
                       wanted: list[str], strengths: str, questions: str) -> Reply:
    """Return someone's profile as their partner or a coordinator reads it (never their block list)."""
    lines = [f"*{mention(person_id)}* — {ROLE_LABELS[Role(role)].split(' —')[0].lower()}"
             + ("" if in_pool else " (not in the pool now)")]
    if role != Role.MENTEE:
        lines.append(f"*Offers:* {topic_list(offered) or '—'} · up to {capacity} mentee{'s' if capacity > 1 else ''}")
    if role != Role.MENTOR:
        lines.append(f"*Wants:* {topic_list(wanted) or '—'}")
    if strengths:
        lines.append(f"*Strengths:* {escape_mrkdwn(strengths)}")
    if questions:
        lines.append(f"*Current questions:* {escape_mrkdwn(questions)}")
    text = "\n".join(lines)
    return Reply(text=truncate(text, MAX_SECTION_TEXT), blocks=[section(text)])


def build_join_home_blocks() -> list[Block]:
    return [
        section("*Want a mentor, or to be one?* Tell the program what you bring and what you want, and it will "
                "propose a match that explains itself."),
        actions(HOME_JOIN_BLOCK, button("Join the mentoring program", PROFILE_JOIN_ACTION, "join", style="primary")),
    ]


def build_topics_reply(names: list[str], *, changed: str | None = None) -> Reply:
    listed = ", ".join(escape_mrkdwn(n) for n in names) if names else "none yet"
    text = (f"{changed}\n" if changed else "") + f"*Topics ({len(names)}):* {listed}"
    hint = "Coordinators change the list with `/mentoring topics add <name>` or `/mentoring topics remove <name>`."
    return Reply(text=truncate(text, MAX_SECTION_TEXT), blocks=[section(text), context(hint)])


@dataclass(frozen=True)
class ProposalRow:
    proposal_id: int
    mentor_id: str
    mentee_id: str
    reason: str
    outcome: str = ""  # what became of it, in words; empty while it is open (then it has its buttons)


def build_proposals_reply(rows: list[ProposalRow], unmatched: list[tuple[str, str]], *, text: str | None = None,
                          note: str | None = None) -> Reply:
    """Return the coordinator's proposals, each with accept and skip (or what became of it, without buttons,
    so nothing is pressed twice), then accept all while two or more are open, and the unmatched."""
    blocks: list[Block] = [header(f"Proposed matches ({len(rows)})")]
    if note:
        blocks.append(section(truncate(note, MAX_SECTION_TEXT)))
    if not rows:
        blocks.append(section("No match can be proposed right now."))
    for row in rows[:MAX_PROPOSALS_SHOWN]:
        blocks.append(section(f"{mention(row.mentor_id)} → {mention(row.mentee_id)}\n{escape_reason(row.reason)}"))
        if row.outcome:
            blocks.append(context(row.outcome))
        else:
            blocks.append(actions(f"{MATCH_PROPOSAL_BLOCK_PREFIX}{row.proposal_id}",
                                  button("Accept", MATCH_ACCEPT_ACTION, str(row.proposal_id), style="primary"),
                                  button("Skip", MATCH_SKIP_ACTION, str(row.proposal_id))))
    if len(rows) > MAX_PROPOSALS_SHOWN:
        blocks.append(context(f"…and {len(rows) - MAX_PROPOSALS_SHOWN} more; *Accept all* accepts them too."))
    open_rows = [row for row in rows if not row.outcome]
    if len(open_rows) > 1:
        blocks.append(actions(MATCH_ALL_BLOCK, button(f"Accept all {len(open_rows)}", MATCH_ACCEPT_ALL_ACTION,
                                                      f"{open_rows[0].proposal_id}:{open_rows[-1].proposal_id}")))
    if unmatched:
        lines, used = [], 0
        for person_id, reason in unmatched:
            line = f"• {mention(person_id)} — {escape_reason(reason)}"
            if used + len(line) > MAX_SECTION_TEXT - 200:
                lines.append(f"…and {len(unmatched) - len(lines)} more")
                break
            lines.append(line)
            used += len(line) + 1
        blocks.append(section(f"*Not matched ({len(unmatched)})*\n" + "\n".join(lines)))
    text = text or f"{len(rows)} proposed matches, {len(unmatched)} not matched."
    return Reply(text=text, blocks=blocks[:MAX_MESSAGE_BLOCKS])


def escape_reason(reason: str) -> str:
    """Return a matcher's reason for mrkdwn: names escaped, the *topic* emphasis kept."""
    parts = reason.split("*")
    return "*".join(escape_mrkdwn(part) if i % 2 == 0 else escape_mrkdwn(part).replace("\u200b", "")
                    for i, part in enumerate(parts))


def build_choices_message(choices: list[ProposalRow], *, lead: str | None = None) -> Reply:
    """Return a mentee's DM with their best proposals, each with a button to pick it (or `lead` alone)."""
    lead = lead or "Here are the mentors who fit you best."
    blocks: list[Block] = [section(f"{lead} Pick one and I'll ask them; if they can't, you'll get the next best.")
                           if choices else section(lead)]
    for row in choices:
        blocks.append(section(f"*{mention(row.mentor_id)}* — {escape_reason(row.reason)}"))
        blocks.append(actions(f"{CHOICE_BLOCK_PREFIX}{row.proposal_id}",
                              button("Ask this mentor", CHOICE_PICK_ACTION, str(row.proposal_id), style="primary")))
    blocks.append(context("Don't want a mentor any more? `/mentoring leave` takes you out of the pool."))
    text = f"{lead} You have {len(choices)} mentor proposals: pick one." if choices else lead
    return Reply(text=text, blocks=blocks)


def build_request_message(row: ProposalRow, *, wanted: list[str], questions: str, days: int) -> Reply:
    """Return a mentor's DM asking them to take this mentee: this mentee alone, never the other proposals."""
    lines = [f"{mention(row.mentee_id)} would like you as their mentor.", escape_reason(row.reason)]
    if wanted:
        lines.append(f"*They want help with:* {topic_list(wanted)}")
    if questions:
        lines.append(f"*Their current questions:* {escape_mrkdwn(truncate(questions, 1000))}")
    blocks = [section("\n".join(lines)),
              actions(f"{REQUEST_BLOCK_PREFIX}{row.proposal_id}",
                      button("Accept", REQUEST_ACCEPT_ACTION, str(row.proposal_id), style="primary"),
                      button("Decline", REQUEST_DECLINE_ACTION, str(row.proposal_id))),
              context(f"No answer within {days} working days counts as a decline.")]
    return Reply(text=f"{mention(row.mentee_id)} would like you as their mentor.", blocks=blocks)


def build_what_each_brings(*, mentor_id: str, mentee_id: str, strengths: str, shared: list[str], wanted: list[str],
                           questions: str) -> list[Block]:
    """Return the welcome's section on what each brings, from their profiles."""
    mentor_line = f"• {mention(mentor_id)} brings: " + (escape_mrkdwn(truncate(strengths, 1000)) if strengths
                                                        else "_no strengths written yet_")
    if shared:
        mentor_line += f"\n  Topics you share: {topic_list(shared)}"
    mentee_line = f"• {mention(mentee_id)} wants help with " + (topic_list(wanted) if wanted else "_no topics named_")
    if questions:
        mentee_line += f"\n  Current questions: {escape_mrkdwn(truncate(questions, 1000))}"
    return [section("*What each of you brings* — start your first meeting here:\n" + mentor_line + "\n" + mentee_line)]
