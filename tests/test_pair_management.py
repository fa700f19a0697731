"""Managing a pair: phase, pause/resume, end and closing well, the pairs list, quiet, and the routed commands."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from bot.blocks.ids import (
    CHECKIN_VIEW,
    CLOSING_REFLECTION_ACTION,
    CLOSING_REFLECTION_VIEW,
    CLOSURE_REASON_ACTION_PREFIX,
    INPUT_ACTION,
    PAIRS_PAGE_ACTION,
    REFLECTION_TEXT_BLOCK,
)
from bot.domain.models import ClosureReason, HelpRequest, MemberState, Pair, PairStatus, Phase, WorkspaceFlag
from bot.domain.phases import PHASE_GUIDANCE, phase_guidance
from bot.store.flags import is_quiet
from tests.conftest import ADMIN, COORDINATOR, MENTEE, MENTOR, OTHER, SECOND_MENTEE
from tests.factories import make_checkin, make_goal, make_pair

CHANNEL = "GPAIR0001"


def _today() -> date:
    return datetime.now(UTC).date()


def _pair(engine, **kwargs) -> int:
    with Session(engine) as session:
        pair = make_pair(session, **kwargs)
        session.commit()
        return pair.id


def _stored(engine, pair_id: int) -> Pair:
    with Session(engine) as session:
        return session.get(Pair, pair_id)


def _reply(fake_slack) -> dict:
    reply = fake_slack.responses[-1].params
    assert reply["response_type"] == "ephemeral"
    return reply


def _buttons(message: dict) -> list[dict]:
    return [e for b in message.get("blocks", []) if b["type"] == "actions" for e in b["elements"]]


# ---- phase ---------------------------------------------------------------------------------------------


def test_phase_shows_the_phase_and_its_guidance(slack, fake_slack, engine):
    _pair(engine)
    slack.command("phase", user_id=MENTEE)
    blocks = json.dumps(_reply(fake_slack)["blocks"], ensure_ascii=False)
    assert "*Rapport*" in blocks and phase_guidance("rapport") in blocks


def test_every_phase_has_one_line_of_guidance():
    assert set(PHASE_GUIDANCE) == set(Phase)
    assert all(text and "\n" not in text for text in PHASE_GUIDANCE.values())


def test_phase_next_advances_one_phase(slack, fake_slack, engine):
    pair_id = _pair(engine, phase=Phase.DIRECTION)
    slack.command("phase next", user_id=MENTOR)
    assert _stored(engine, pair_id).phase == Phase.PROGRESSION
    assert "Moved from Direction to *Progression*" in json.dumps(_reply(fake_slack)["blocks"], ensure_ascii=False)


def test_phase_next_into_winding_up_sends_the_closing_prompts(slack, fake_slack, engine):
    pair_id = _pair(engine, phase=Phase.PROGRESSION)
    slack.command("phase next", user_id=MENTOR)
    pair = _stored(engine, pair_id)
    assert (pair.phase, pair.status) == (Phase.WINDING_UP, PairStatus.ACTIVE) and pair.winding_up_at is not None
    assert {m["channel"] for m in fake_slack.posted()} >= {"D" + MENTOR[1:], "D" + MENTEE[1:]}


def test_phase_for_someone_outside_a_pair_is_refused(slack, fake_slack, engine):
    _pair(engine)
    slack.command("phase next", user_id=OTHER)
    reply = _reply(fake_slack)
    assert "not in an active mentoring pair" in reply["text"] and "Usage: /mentoring phase" in reply["text"]


# ---- pause and resume ----------------------------------------------------------------------------------


def test_pause_defaults_to_14_days_and_tells_the_pair(slack, fake_slack, engine):
    pair_id = _pair(engine)
    slack.command("pause", user_id=MENTEE)
    pair = _stored(engine, pair_id)
    assert (pair.status, pair.paused_until) == (PairStatus.PAUSED, _today() + timedelta(days=14))
    assert "paused reminders" in _reply(fake_slack)["text"]
    assert "paused reminders" in fake_slack.posted(CHANNEL)[-1]["text"]


def test_pause_for_weeks_then_resume(slack, fake_slack, engine):
    pair_id = _pair(engine)
    slack.command("pause 3 weeks", user_id=MENTOR)
    assert _stored(engine, pair_id).paused_until == _today() + timedelta(days=21)

    slack.command("resume", user_id=MENTEE)
    pair = _stored(engine, pair_id)
    assert (pair.status, pair.paused_until) == (PairStatus.ACTIVE, None)
    assert "resumed" in _reply(fake_slack)["text"]


def test_resume_when_not_paused_is_refused(slack, fake_slack, engine):
    pair_id = _pair(engine)
    slack.command("resume", user_id=MENTEE)
    assert "isn't paused" in _reply(fake_slack)["text"]
    assert _stored(engine, pair_id).status == PairStatus.ACTIVE


def test_a_coordinator_may_pause_any_pair_by_naming_a_member(slack, fake_slack, engine):
    pair_id = _pair(engine)
    slack.command(f"pause 1 week <@{MENTEE}>", user_id=COORDINATOR)
    assert _stored(engine, pair_id).status == PairStatus.PAUSED


def test_a_coordinator_outside_pairs_is_told_to_name_a_member(slack, fake_slack, engine):
    pair_id = _pair(engine)
    slack.command("end", user_id=COORDINATOR)
    assert "name one of the pair" in _reply(fake_slack)["text"]
    assert _stored(engine, pair_id).phase == Phase.RAPPORT


def test_someone_else_cannot_pause_a_pair_they_are_not_in(slack, fake_slack, engine):
    pair_id = _pair(engine)
    slack.command(f"pause <@{MENTEE}>", user_id=OTHER)
    reply = _reply(fake_slack)
    assert "not in an active pair with" in reply["text"] and "coordinator" in reply["text"]
    assert _stored(engine, pair_id).status == PairStatus.ACTIVE


@pytest.mark.parametrize(("text", "says"), [("pause 0 days", "at least 1 day"), ("pause 400 weeks", "at most 26"),
                                            ("pause 2 months", "days or weeks"), ("pause <@UMENTEE1> x", "N days")])
def test_bad_pause_input_is_refused(slack, fake_slack, engine, text, says):
    pair_id = _pair(engine)
    slack.command(text, user_id=MENTOR)
    reply = _reply(fake_slack)
    assert says in reply["text"] and "Usage: /mentoring pause [N days|weeks] [@partner]" in reply["text"]
    assert _stored(engine, pair_id).status == PairStatus.ACTIVE


# ---- ending well -------------------------------------------------------------------------------------


def test_the_first_end_winds_up_prompts_both_and_asks_coordinators_why(slack, fake_slack, engine):
    pair_id = _pair(engine, phase=Phase.PROGRESSION)
    with Session(engine) as session:
        make_goal(session, session.get(Pair, pair_id), text="Lead a design review", measure="one review led")
        session.commit()

    slack.command("end", user_id=MENTEE)

    pair = _stored(engine, pair_id)
    assert (pair.phase, pair.status) == (Phase.WINDING_UP, PairStatus.ACTIVE)
    for member in (MENTOR, MENTEE):
        [prompt] = fake_slack.posted("D" + member[1:])
        assert "Lead a design review" in json.dumps(prompt["blocks"]) and "one review led" in json.dumps(
            prompt["blocks"])
        assert [(b["action_id"], b["value"]) for b in _buttons(prompt)] == [(CLOSING_REFLECTION_ACTION, str(pair_id))]
    [ask] = fake_slack.posted("D" + COORDINATOR[1:])
    assert [b["value"] for b in _buttons(ask)] == [f"{pair_id}:{r.value}" for r in ClosureReason]
    assert "winding up" in _reply(fake_slack)["text"]


def test_end_again_ends_the_pair(slack, fake_slack, engine):
    pair_id = _pair(engine, phase=Phase.WINDING_UP)
    slack.command("end", user_id=MENTOR)
    pair = _stored(engine, pair_id)
    assert (pair.phase, pair.status) == (Phase.ENDED, PairStatus.ENDED) and pair.ended_at is not None
    assert "has ended" in fake_slack.posted(CHANNEL)[-1]["text"]


def test_end_after_the_end_date_ends_at_once(slack, fake_slack, engine):
    pair_id = _pair(engine, started_on=_today() - timedelta(days=200), ends_on=_today() - timedelta(days=1))
    slack.command(f"end <@{MENTOR}>", user_id=COORDINATOR)
    assert _stored(engine, pair_id).status == PairStatus.ENDED


def test_a_coordinator_answers_the_closure_question_with_a_button_and_the_export_has_it(
        slack, fake_slack, engine, runtime):
    pair_id = _pair(engine, phase=Phase.PROGRESSION, channel_id=CHANNEL)
    slack.command(f"end <@{MENTOR}>", user_id=MENTEE)
    [question] = [m for m in fake_slack.posted() if "How did it close?" in m["text"]]
    assert question["channel"] == "D" + COORDINATOR.lstrip("U")
    assert {b["action_id"] for b in _buttons(question)} == {CLOSURE_REASON_ACTION_PREFIX + r for r in ClosureReason}

    slack.press(question, "Ended early", user_id=COORDINATOR)

    assert _stored(engine, pair_id).closure_reason == ClosureReason.ENDED_EARLY
    reply = fake_slack.responses[-1].params
    assert reply["replace_original"] is True and "Ended early" in reply["text"]
    rows = csv.DictReader(io.StringIO(runtime.services.reports.export_csv(datetime.now(UTC))))
    [row] = [r for r in rows if r["pair_id"] == str(pair_id)]
    assert row["closure_reason"] == ClosureReason.ENDED_EARLY


@pytest.mark.parametrize("reason", list(ClosureReason))
def test_every_closure_reason_button_is_routed(slack, fake_slack, engine, reason):
    pair_id = _pair(engine, phase=Phase.WINDING_UP)
    slack.block_action(user_id=COORDINATOR, action_id=CLOSURE_REASON_ACTION_PREFIX + reason,
                       value=f"{pair_id}:{reason}", channel_id="DCOORD1")
    assert _stored(engine, pair_id).closure_reason == reason


@pytest.mark.parametrize(("user", "value", "says"), [(MENTEE, "{id}:completed", "Only coordinators"),
                                                     (COORDINATOR, "{id}:nonsense", "not one I know"),
                                                     (COORDINATOR, "x:completed", "no longer points")])
def test_a_bad_closure_reason_press_is_refused(slack, fake_slack, engine, user, value, says):
    pair_id = _pair(engine, phase=Phase.WINDING_UP)
    slack.block_action(user_id=user, action_id=CLOSURE_REASON_ACTION_PREFIX + "completed",
                       value=value.format(id=pair_id), channel_id="DX")
    assert says in fake_slack.responses[-1].params["text"]
    assert _stored(engine, pair_id).closure_reason is None


def _reflect(slack, user: str, pair_id: int, text: str):
    return slack.view_submission(user_id=user, callback_id=CLOSING_REFLECTION_VIEW, private_metadata=str(pair_id),
                                 values={REFLECTION_TEXT_BLOCK: {INPUT_ACTION: {"type": "plain_text_input",
                                                                                "value": text}}})


def test_the_closing_reflection_is_stored_encrypted_and_shown_to_its_author_only(slack, fake_slack, engine, runtime):
    pair_id = _pair(engine, phase=Phase.WINDING_UP)
    slack.block_action(user_id=MENTEE, action_id=CLOSING_REFLECTION_ACTION, value=str(pair_id), channel_id="DM1")
    assert fake_slack.calls_to("views.open")[-1].params["view"]["callback_id"] == CLOSING_REFLECTION_VIEW

    response = _reflect(slack, MENTEE, pair_id, "I learned to ask for help *early*.")
    assert response.status == 200 and not response.body

    with Session(engine) as session:
        [state] = session.exec(select(MemberState).where(MemberState.pair_id == pair_id))
    assert state.person_id == MENTEE
    assert "ask for help" not in state.reflection_text_enc
    assert runtime.services.ctx.cipher.decrypt(state.reflection_text_enc) == "I learned to ask for help *early*."

    slack.block_action(user_id=MENTEE, action_id=CLOSING_REFLECTION_ACTION, value=str(pair_id), channel_id="DM1")
    assert "ask for help" in json.dumps(fake_slack.calls_to("views.open")[-1].params["view"])
    slack.block_action(user_id=MENTOR, action_id=CLOSING_REFLECTION_ACTION, value=str(pair_id), channel_id="DM2")
    assert "ask for help" not in json.dumps(fake_slack.calls_to("views.open")[-1].params["view"])


def test_an_outsider_cannot_write_or_open_a_reflection(slack, fake_slack, engine):
    pair_id = _pair(engine, phase=Phase.WINDING_UP)
    body = json.loads(_reflect(slack, OTHER, pair_id, "sneaky").body)
    assert body["response_action"] == "errors" and "Only the two members" in body["errors"][REFLECTION_TEXT_BLOCK]
    slack.block_action(user_id=OTHER, action_id=CLOSING_REFLECTION_ACTION, value=str(pair_id), channel_id="DM1")
    assert fake_slack.calls_to("views.open") == []
    with Session(engine) as session:
        assert list(session.exec(select(MemberState))) == []


def test_an_empty_reflection_is_answered_on_its_block(slack, fake_slack, engine):
    pair_id = _pair(engine, phase=Phase.WINDING_UP)
    body = json.loads(_reflect(slack, MENTEE, pair_id, "   ").body)
    assert "Write a few words" in body["errors"][REFLECTION_TEXT_BLOCK]


# ---- the pairs list ------------------------------------------------------------------------------------


def test_a_coordinator_sees_every_active_pair_with_phase_last_checkin_and_health(slack, fake_slack, engine, runtime):
    today = _today()
    with Session(engine) as session:
        healthy = make_pair(session, phase=Phase.PROGRESSION, started_on=today - timedelta(days=60))
        make_checkin(session, healthy, runtime.services.ctx.cipher, met_on=today - timedelta(days=3),
                     shared_text="secret words")
        make_pair(session, mentee_id=SECOND_MENTEE, started_on=today - timedelta(days=50))
        make_pair(session, mentor_id=OTHER, mentee_id=ADMIN, status=PairStatus.ENDED, phase=Phase.ENDED)
        session.commit()

    slack.command("pairs", user_id=COORDINATOR)

    blocks = json.dumps(_reply(fake_slack)["blocks"], ensure_ascii=False)
    assert "2 pairs" in blocks
    assert f"<@{MENTOR}> → <@{MENTEE}>* · Progression · last check-in {today - timedelta(days=3)}" in blocks
    assert "on track" in blocks
    assert f"<@{SECOND_MENTEE}>* · Rapport · no check-in yet" in blocks and "at risk" in blocks
    assert f"<@{ADMIN}>" not in blocks
    assert "secret words" not in fake_slack.all_text()


def test_a_help_request_since_the_last_meeting_shows_the_pair_at_risk(slack, fake_slack, engine, runtime):
    today = _today()
    with Session(engine) as session:
        pair = make_pair(session, started_on=today - timedelta(days=20))
        make_checkin(session, pair, runtime.services.ctx.cipher, met_on=today - timedelta(days=2))
        session.add(HelpRequest(pair_id=pair.id, person_id=MENTEE, created_at=datetime.now(UTC)))
        session.commit()

    slack.command("pairs", user_id=COORDINATOR)

    assert "at risk" in json.dumps(_reply(fake_slack)["blocks"])


def test_a_member_sees_only_their_own_pairs(slack, fake_slack, engine):
    _pair(engine)
    _pair(engine, mentor_id=OTHER, mentee_id=SECOND_MENTEE)
    slack.command("pairs", user_id=MENTEE)
    blocks = json.dumps(_reply(fake_slack)["blocks"])
    assert "Your mentoring pairs" in blocks and f"<@{MENTOR}>" in blocks and f"<@{SECOND_MENTEE}>" not in blocks


def test_someone_without_pairs_is_told_so(slack, fake_slack, engine):
    slack.command("pairs", user_id=OTHER)
    assert "not in a mentoring pair yet" in _reply(fake_slack)["text"]


def test_many_pairs_are_paged_with_show_more(slack, fake_slack, engine):
    with Session(engine) as session:
        for i in range(45):
            make_pair(session, mentor_id=f"UMR{i:04d}", mentee_id=f"UME{i:04d}")
        session.commit()

    slack.command("pairs", user_id=COORDINATOR)
    first = _reply(fake_slack)
    assert len(first["blocks"]) <= 50
    [more] = _buttons(first)
    assert (more["action_id"], more["value"]) == (PAIRS_PAGE_ACTION, "2")

    slack.block_action(user_id=COORDINATOR, action_id=PAIRS_PAGE_ACTION, value="2", channel_id="C0000GEN")
    second = json.dumps(_reply(fake_slack)["blocks"])
    assert "page 2 of 2" in second and "UMR0044" in second and "UMR0000" not in second

    slack.command("pairs 3", user_id=COORDINATOR)
    assert "only 2 pages" in _reply(fake_slack)["text"]


# ---- quiet, summary, check-in route, unknown commands ----------------------------------------------------


def test_quiet_on_and_off_sets_the_kill_switch(slack, fake_slack, engine):
    slack.command("quiet on", user_id=COORDINATOR)
    with Session(engine) as session:
        assert is_quiet(session)
    assert "no scheduled DM" in _reply(fake_slack)["text"]

    slack.command("QUIET off", user_id=ADMIN)
    with Session(engine) as session:
        assert not is_quiet(session)
        assert session.get(WorkspaceFlag, "quiet").updated_by == ADMIN
    assert "go out again" in _reply(fake_slack)["text"]


def test_quiet_is_for_coordinators_only(slack, fake_slack, engine):
    slack.command("quiet on", user_id=MENTEE)
    reply = _reply(fake_slack)
    assert "Only coordinators can turn quiet mode on or off" in reply["text"]
    with Session(engine) as session:
        assert session.get(WorkspaceFlag, "quiet") is None


def test_summary_is_refused_for_non_coordinators(slack, fake_slack, engine):
    slack.command("summary", user_id=MENTEE)
    assert "Only coordinators can post the program summary" in _reply(fake_slack)["text"]
    assert fake_slack.posted("CSUMMARY1") == []


def test_summary_posts_to_the_summary_channel_for_a_coordinator(slack, fake_slack, engine):
    _pair(engine)
    slack.command("summary", user_id=COORDINATOR)
    assert len(fake_slack.posted("CSUMMARY1")) == 1


def test_checkin_opens_the_checkin_modal_for_the_callers_pair(slack, fake_slack, engine):
    _pair(engine)
    slack.command("checkin", user_id=MENTEE)
    assert fake_slack.calls_to("views.open")[-1].params["view"]["callback_id"] == CHECKIN_VIEW


def test_checkin_naming_yourself_is_refused(slack, fake_slack, engine):
    _pair(engine)
    slack.command(f"checkin <@{MENTEE}>", user_id=MENTEE)
    assert "That's you" in _reply(fake_slack)["text"]
    assert fake_slack.calls_to("views.open") == []


def test_an_unknown_subcommand_shows_help_with_the_problem(slack, fake_slack, engine):
    slack.command("dance", user_id=MENTEE)
    reply = _reply(fake_slack)
    assert "I don't know the command “dance”" in reply["text"]
    assert "/mentoring checkin" in json.dumps(reply["blocks"])
