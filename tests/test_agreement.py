"""The agreement: opened by the welcome button or `/mentoring agreement`, pre-filled, validated, saved, recapped."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session, select

from bot.blocks import escape_mrkdwn
from bot.blocks.ids import (
    AGREEMENT_CADENCE_BLOCK,
    AGREEMENT_CONFIDENTIALITY_BLOCK,
    AGREEMENT_CONTACT_BLOCK,
    AGREEMENT_ENDS_ON_BLOCK,
    AGREEMENT_OFF_LIMITS_BLOCK,
    AGREEMENT_SUCCESS_BLOCK,
    AGREEMENT_VIEW,
    AGREEMENT_WAY_OUT_BLOCK,
    AGREEMENT_WHO_SETS_UP_BLOCK,
    INPUT_ACTION,
    SET_AGREEMENT_ACTION,
)
from bot.domain.models import Agreement, Pair, PairStatus, Phase
from tests.conftest import MENTEE, MENTOR, OTHER, SECOND_MENTEE
from tests.factories import make_agreement, make_pair

CHANNEL = "GPAIR0001"


def _pair(engine, **kwargs) -> int:
    with Session(engine) as session:
        pair = make_pair(session, **kwargs)
        session.commit()
        return pair.id


def _today() -> date:
    return datetime.now(UTC).date()


def _opened_view(fake_slack) -> dict:
    [call] = fake_slack.calls_to("views.open")
    return call.params["view"]


def _input(view: dict, block_id: str) -> dict:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)["element"]


def _values(**overrides: str | None) -> dict:
    texts = {
        AGREEMENT_CADENCE_BLOCK: "every 3 weeks",
        AGREEMENT_WHO_SETS_UP_BLOCK: "Theo books the call",
        AGREEMENT_CONTACT_BLOCK: "Slack DM",
        AGREEMENT_CONFIDENTIALITY_BLOCK: "Stays between us",
        AGREEMENT_OFF_LIMITS_BLOCK: "Salary",
        AGREEMENT_SUCCESS_BLOCK: "Theo leads a design review",
        AGREEMENT_WAY_OUT_BLOCK: "Either of us says so",
    }
    texts.update({k: v for k, v in overrides.items() if k in texts})
    values = {block: {INPUT_ACTION: {"type": "plain_text_input", "value": text}} for block, text in texts.items()}
    values[AGREEMENT_ENDS_ON_BLOCK] = {INPUT_ACTION: {"type": "datepicker",
                                                      "selected_date": overrides.get(AGREEMENT_ENDS_ON_BLOCK)}}
    return values


def _submit(slack, pair_id: int, *, user_id: str = MENTEE, **overrides: str | None):
    return slack.view_submission(user_id=user_id, callback_id=AGREEMENT_VIEW, values=_values(**overrides),
                                 private_metadata=str(pair_id))


def _agreement(engine, pair_id: int) -> Agreement | None:
    with Session(engine) as session:
        return session.get(Agreement, pair_id)


def _stored_pair(engine, pair_id: int) -> Pair:
    with Session(engine) as session:
        return session.get(Pair, pair_id)


def test_the_welcome_button_opens_the_agreement_modal_for_a_member(slack, fake_slack, engine):
    pair_id = _pair(engine, cadence_days=14, ends_on=date(2027, 5, 1))

    slack.block_action(user_id=MENTEE, action_id=SET_AGREEMENT_ACTION, value=str(pair_id), channel_id=CHANNEL)

    view = _opened_view(fake_slack)
    assert (view["callback_id"], view["private_metadata"]) == (AGREEMENT_VIEW, str(pair_id))
    assert _input(view, AGREEMENT_CADENCE_BLOCK)["initial_value"] == "every 2 weeks"
    assert _input(view, AGREEMENT_ENDS_ON_BLOCK)["initial_date"] == "2027-05-01"
    labels = json.dumps([b.get("label") for b in view["blocks"]])
    for label in ("How often we meet", "Who sets up meetings", "How we contact each other", "Confidentiality",
                  "off limits", "When it ends", "measure success", "The way out"):
        assert label in labels
    assert len(view["blocks"]) <= 100


def test_the_modal_is_pre_filled_with_the_current_agreement(slack, fake_slack, engine):
    pair_id = _pair(engine)
    with Session(engine) as session:
        make_agreement(session, session.get(Pair, pair_id), contact="Signal, weekdays", meeting_frequency="every week")
        session.commit()

    slack.command("agreement", user_id=MENTOR)

    view = _opened_view(fake_slack)
    assert _input(view, AGREEMENT_CONTACT_BLOCK)["initial_value"] == "Signal, weekdays"
    assert _input(view, AGREEMENT_CADENCE_BLOCK)["initial_value"] == "every week"
    assert fake_slack.responses == []


def test_someone_outside_the_pair_cannot_open_its_agreement(slack, fake_slack, engine):
    pair_id = _pair(engine)

    slack.block_action(user_id=OTHER, action_id=SET_AGREEMENT_ACTION, value=str(pair_id), channel_id=CHANNEL)

    assert fake_slack.calls_to("views.open") == []
    assert "Only the two members of this pair" in fake_slack.responses[-1].params["text"]


def test_agreement_command_outside_any_pair_is_refused(slack, fake_slack, engine):
    slack.command("agreement", user_id=OTHER)

    reply = fake_slack.responses[-1].params
    assert "not in an active mentoring pair" in reply["text"]
    assert "Usage: /mentoring agreement [@partner]" in reply["text"]
    assert fake_slack.calls_to("views.open") == []


def test_with_several_pairs_the_command_asks_which_and_partner_picks(slack, fake_slack, engine):
    _pair(engine)
    second = _pair(engine, mentee_id=SECOND_MENTEE, channel_id="GPAIR0002")

    slack.command("agreement", user_id=MENTOR)
    reply = fake_slack.responses[-1].params
    assert "You are in 2 pairs" in reply["text"]
    assert f"`/mentoring agreement` <@{MENTEE}>" in reply["text"]
    assert f"`/mentoring agreement` <@{SECOND_MENTEE}>" in reply["text"]
    assert fake_slack.calls_to("views.open") == []

    slack.command(f"agreement <@{SECOND_MENTEE}|sam>", user_id=MENTOR)
    assert _opened_view(fake_slack)["private_metadata"] == str(second)


def test_saving_stores_the_agreement_changes_cadence_and_end_and_recaps_to_the_pair(slack, fake_slack, engine):
    pair_id = _pair(engine)
    new_end = _today() + timedelta(days=120)

    response = _submit(slack, pair_id, **{AGREEMENT_ENDS_ON_BLOCK: new_end.isoformat()})

    assert response.status == 200 and not response.body
    agreement = _agreement(engine, pair_id)
    assert (agreement.meeting_frequency, agreement.who_sets_up, agreement.way_out, agreement.updated_by) == (
        "every 3 weeks", "Theo books the call", "Either of us says so", MENTEE)
    pair = _stored_pair(engine, pair_id)
    assert (pair.cadence_days, pair.ends_on) == (21, new_end)
    [recap] = fake_slack.posted(CHANNEL)
    assert "updated your agreement" in recap["text"]
    assert "Theo books the call" in json.dumps(recap["blocks"]) and new_end.isoformat() in json.dumps(recap["blocks"])


def test_saving_again_updates_the_one_agreement(slack, fake_slack, engine):
    pair_id = _pair(engine)
    _submit(slack, pair_id)
    _submit(slack, pair_id, user_id=MENTOR, **{AGREEMENT_CONTACT_BLOCK: "Video call"})

    with Session(engine) as session:
        rows = list(session.exec(select(Agreement)))
    assert [(a.contact, a.updated_by) for a in rows] == [("Video call", MENTOR)]


def test_an_empty_cadence_keeps_the_pairs_cadence(slack, fake_slack, engine):
    pair_id = _pair(engine, cadence_days=10)
    _submit(slack, pair_id, **{AGREEMENT_CADENCE_BLOCK: None})
    assert _stored_pair(engine, pair_id).cadence_days == 10
    assert _agreement(engine, pair_id).meeting_frequency == ""


def _errors(response) -> dict:
    body = json.loads(response.body)
    assert body["response_action"] == "errors"
    return body["errors"]


def test_a_bad_cadence_is_answered_on_its_block_and_nothing_is_saved(slack, fake_slack, engine):
    pair_id = _pair(engine)

    errors = _errors(_submit(slack, pair_id, **{AGREEMENT_CADENCE_BLOCK: "every 400 weeks"}))

    assert "at most 26 weeks" in errors[AGREEMENT_CADENCE_BLOCK]
    assert _agreement(engine, pair_id) is None
    assert _stored_pair(engine, pair_id).cadence_days == 14
    assert fake_slack.posted() == []


def test_an_unreadable_cadence_is_answered_on_its_block(slack, fake_slack, engine):
    pair_id = _pair(engine)
    errors = _errors(_submit(slack, pair_id, **{AGREEMENT_CADENCE_BLOCK: "fortnightly-ish"}))
    assert "every N days" in errors[AGREEMENT_CADENCE_BLOCK]
    assert _agreement(engine, pair_id) is None


def test_a_past_or_far_end_date_is_answered_on_the_date_block(slack, fake_slack, engine):
    pair_id = _pair(engine)
    past = (_today() - timedelta(days=1)).isoformat()
    far = (_today() + timedelta(days=800)).isoformat()

    assert "not in the future" in _errors(_submit(slack, pair_id, **{AGREEMENT_ENDS_ON_BLOCK: past}))[
        AGREEMENT_ENDS_ON_BLOCK]
    assert "more than 2 years" in _errors(_submit(slack, pair_id, **{AGREEMENT_ENDS_ON_BLOCK: far}))[
        AGREEMENT_ENDS_ON_BLOCK]
    assert _agreement(engine, pair_id) is None
    assert _stored_pair(engine, pair_id).ends_on == date(2028, 1, 3)


def test_an_overlong_answer_is_answered_on_its_block(slack, fake_slack, engine):
    pair_id = _pair(engine)
    errors = _errors(_submit(slack, pair_id, **{AGREEMENT_CONTACT_BLOCK: "x" * 501}))
    assert "at most 500" in errors[AGREEMENT_CONTACT_BLOCK]
    assert _agreement(engine, pair_id) is None


def test_an_outsider_submitting_is_refused_and_nothing_is_saved(slack, fake_slack, engine):
    pair_id = _pair(engine)
    errors = _errors(_submit(slack, pair_id, user_id=OTHER))
    assert "Only the two members" in errors[AGREEMENT_CADENCE_BLOCK]
    assert _agreement(engine, pair_id) is None


def test_an_ended_pairs_agreement_cannot_change(slack, fake_slack, engine):
    pair_id = _pair(engine, status=PairStatus.ENDED, phase=Phase.ENDED)
    errors = _errors(_submit(slack, pair_id))
    assert "has ended" in errors[AGREEMENT_CADENCE_BLOCK]


def test_markdown_sql_and_emoji_are_stored_exactly_and_shown_escaped(slack, fake_slack, engine):
    pair_id = _pair(engine)
    tricky = "*never* <!channel> `code` '); DROP TABLE pair;-- 🎉 :tada: & _x_"

    _submit(slack, pair_id, **{AGREEMENT_OFF_LIMITS_BLOCK: tricky})

    assert _agreement(engine, pair_id).off_limits == tricky
    recap = json.dumps(fake_slack.posted(CHANNEL)[0]["blocks"], ensure_ascii=False)
    assert json.dumps(escape_mrkdwn(tricky), ensure_ascii=False)[1:-1] in recap
    assert "<!channel>" not in recap
