"""The fake Slack refuses what Slack refuses: every Block Kit rule of tests/block_kit_rules.py, over real HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest
from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from tests.fake_slack import FakeSlack
from tests.slack_requests import SIGNING_SECRET, SlackDriver


def text(value: str, kind: str = "plain_text") -> dict[str, Any]:
    return {"type": kind, "text": value}


def button(label: str = "Go", action_id: str = "go", value: str = "1") -> dict[str, Any]:
    return {"type": "button", "text": text(label), "action_id": action_id, "value": value}


def section(value: str = "Hello", **more: Any) -> dict[str, Any]:
    return {"type": "section", "text": text(value, "mrkdwn"), **more}


def option(label: str, value: str) -> dict[str, Any]:
    return {"text": text(label), "value": value}


def select(**more: Any) -> dict[str, Any]:
    return {"type": "static_select", "action_id": "pick", **more}


def input_block(element: dict[str, Any], block_id: str = "in", label: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "input", "block_id": block_id, "label": label or text("Label"), "element": element}


def modal(*blocks: dict[str, Any], **more: Any) -> dict[str, Any]:
    view = {"type": "modal", "callback_id": "cb", "title": text("Title"), "submit": text("Save"),
            "close": text("Cancel"), "blocks": list(blocks)}
    view.update(more)
    return view


@pytest.fixture
def client(fake_slack: FakeSlack) -> WebClient:
    return WebClient(token="xoxb-test", base_url=fake_slack.url)


MESSAGE_RULES: list[tuple[str, list[dict[str, Any]], str]] = [
    ("action_id unique within a block", [{"type": "actions", "block_id": "a",
                                          "elements": [button(action_id="x"), button(action_id="x")]}],
     "duplicate action_id 'x' [json-pointer:/blocks/0/elements/1/action_id]"),
    ("block_id unique within a message", [section(block_id="s"), section(block_id="s")],
     "duplicate block_id 's' [json-pointer:/blocks/1/block_id]"),
    ("at most 50 blocks", [section() for _ in range(51)], "no more than 50 items allowed [json-pointer:/blocks]"),
    ("at most 25 actions elements", [{"type": "actions", "elements": [button(action_id=f"b{i}") for i in range(26)]}],
     "no more than 25 items allowed [json-pointer:/blocks/0/elements]"),
    ("at most 10 context elements", [{"type": "context", "elements": [text("x", "mrkdwn")] * 11}],
     "no more than 10 items allowed [json-pointer:/blocks/0/elements]"),
    ("section text at most 3000", [section("x" * 3001)],
     "must be less than 3001 characters [json-pointer:/blocks/0/text/text]"),
    ("at most 10 section fields", [{"type": "section", "fields": [text("f", "mrkdwn")] * 11}],
     "no more than 10 items allowed [json-pointer:/blocks/0/fields]"),
    ("section field at most 2000", [{"type": "section", "fields": [text("f" * 2001, "mrkdwn")]}],
     "must be less than 2001 characters [json-pointer:/blocks/0/fields/0/text]"),
    ("a section has text or fields", [{"type": "section"}], "must provide text or fields [json-pointer:/blocks/0]"),
    ("header at most 150", [{"type": "header", "text": text("h" * 151)}],
     "must be less than 151 characters [json-pointer:/blocks/0/text/text]"),
    ("header is plain_text", [{"type": "header", "text": text("*h*", "mrkdwn")}],
     "must be a plain_text object [json-pointer:/blocks/0/text/type]"),
    ("button text at most 75", [{"type": "actions", "elements": [button(label="b" * 76)]}],
     "must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]"),
    ("button text is plain_text", [{"type": "actions", "elements": [{**button(), "text": text("*b*", "mrkdwn")}]}],
     "must be a plain_text object [json-pointer:/blocks/0/elements/0/text/type]"),
    ("button value at most 2000", [{"type": "actions", "elements": [button(value="v" * 2001)]}],
     "must be less than 2001 characters [json-pointer:/blocks/0/elements/0/value]"),
    ("button style primary or danger", [{"type": "actions", "elements": [{**button(), "style": "loud"}]}],
     "must be one of primary, danger [json-pointer:/blocks/0/elements/0/style]"),
    ("action_id at most 255", [{"type": "actions", "elements": [button(action_id="a" * 256)]}],
     "must be less than 256 characters [json-pointer:/blocks/0/elements/0/action_id]"),
    ("block_id at most 255", [section(block_id="b" * 256)],
     "must be less than 256 characters [json-pointer:/blocks/0/block_id]"),
    ("text is never empty", [section("")], "must be more than 0 characters [json-pointer:/blocks/0/text/text]"),
    ("known block types only", [{"type": "banner"}], "unknown block type 'banner' [json-pointer:/blocks/0/type]"),
    ("option text at most 75", [section(accessory=select(options=[option("o" * 76, "1")]))],
     "must be less than 76 characters [json-pointer:/blocks/0/accessory/options/0/text/text]"),
    ("at most 100 options", [section(accessory=select(options=[option(str(i), str(i)) for i in range(101)]))],
     "no more than 100 items allowed [json-pointer:/blocks/0/accessory/options]"),
    ("static_select needs options", [section(accessory=select())],
     "must provide options or option_groups [json-pointer:/blocks/0/accessory]"),
    ("initial option among the options", [section(accessory=select(options=[option("A", "a")],
                                                                   initial_option=option("B", "b")))],
     "initial option must exactly match one of the options [json-pointer:/blocks/0/accessory/initial_option]"),
    ("overflow has at most 5 options", [section(accessory={"type": "overflow", "action_id": "o",
                                                           "options": [option(str(i), str(i)) for i in range(6)]})],
     "no more than 5 items allowed [json-pointer:/blocks/0/accessory/options]"),
]


@pytest.mark.parametrize(("blocks", "problem"), [(b, p) for _, b, p in MESSAGE_RULES],
                         ids=[name for name, _, _ in MESSAGE_RULES])
def test_a_message_breaking_a_rule_is_refused_with_invalid_blocks(fake_slack, client, blocks, problem):
    for method in (client.chat_postMessage, client.chat_postEphemeral):
        with pytest.raises(SlackApiError) as refused:
            method(channel="C1", user="U1", text="fallback", blocks=blocks)
        answer = refused.value.response
        assert answer.status_code == 200
        assert (answer["ok"], answer["error"]) == (False, "invalid_blocks")
        assert problem in answer["errors"]
        assert f"[ERROR] {problem}" in answer["response_metadata"]["messages"]
    with pytest.raises(SlackApiError, match="invalid_blocks"):
        client.chat_update(channel="C1", ts="1.0", text="fallback", blocks=blocks)
    assert fake_slack.posted() == []
    assert [r.method for r in fake_slack.take_refusals()] == ["chat.postMessage", "chat.postEphemeral", "chat.update"]


def test_a_response_url_post_breaking_a_rule_is_refused(fake_slack):
    webhook = WebhookClient(fake_slack.response_url + "1")
    answer = webhook.send(text="fallback", blocks=[section("x" * 3001)])
    assert answer.status_code == 200 and json.loads(answer.body)["error"] == "invalid_blocks"
    assert [r.method for r in fake_slack.take_refusals()] == ["response_url"]


VIEW_RULES: list[tuple[str, dict[str, Any], str]] = [
    ("at most 100 blocks in a modal", modal(*[section() for _ in range(101)]),
     "no more than 100 items allowed [json-pointer:/view/blocks]"),
    ("block_id unique within a view", modal(section(block_id="s"), section(block_id="s")),
     "duplicate block_id 's' [json-pointer:/view/blocks/1/block_id]"),
    ("modal title at most 24", modal(title=text("t" * 25)),
     "must be less than 25 characters [json-pointer:/view/title/text]"),
    ("modal submit at most 24", modal(submit=text("s" * 25)),
     "must be less than 25 characters [json-pointer:/view/submit/text]"),
    ("modal close at most 24", modal(close=text("c" * 25)),
     "must be less than 25 characters [json-pointer:/view/close/text]"),
    ("modal title is plain_text", modal(title=text("*t*", "mrkdwn")),
     "must be a plain_text object [json-pointer:/view/title/type]"),
    ("private_metadata at most 3000", modal(private_metadata="m" * 3001),
     "must be less than 3001 characters [json-pointer:/view/private_metadata]"),
    ("callback_id at most 255", modal(callback_id="c" * 256),
     "must be less than 256 characters [json-pointer:/view/callback_id]"),
    ("a modal with inputs has submit", {**modal(input_block({"type": "plain_text_input", "action_id": "v"})),
                                        "submit": None},
     "must provide submit when the view has input blocks [json-pointer:/view/submit]"),
    ("input label is plain_text", modal(input_block({"type": "plain_text_input", "action_id": "v"},
                                                    label=text("*l*", "mrkdwn"))),
     "must be a plain_text object [json-pointer:/view/blocks/0/label/type]"),
    ("multi-line input max_length at most 3000", modal(input_block({"type": "plain_text_input", "action_id": "v",
                                                                    "multiline": True, "max_length": 3001})),
     "must be between 1 and 3000 [json-pointer:/view/blocks/0/element/max_length]"),
    ("initial value within max_length", modal(input_block({"type": "plain_text_input", "action_id": "v",
                                                           "max_length": 5, "initial_value": "123456"})),
     "must be less than 6 characters [json-pointer:/view/blocks/0/element/initial_value]"),
    ("input elements only in input blocks", modal(input_block(button())),
     "element type 'button' is not allowed here [json-pointer:/view/blocks/0/element/type]"),
    ("datepicker initial date is YYYY-MM-DD", modal(input_block({"type": "datepicker", "action_id": "d",
                                                                 "initial_date": "1/2/2026"})),
     "must be a date in the format YYYY-MM-DD [json-pointer:/view/blocks/0/element/initial_date]"),
    ("select initial option among the options", modal(input_block(select(options=[option("A", "a")],
                                                                         initial_option=option("A", "z")))),
     "initial option must exactly match one of the options [json-pointer:/view/blocks/0/element/initial_option]"),
]


@pytest.mark.parametrize(("view", "problem"), [(v, p) for _, v, p in VIEW_RULES], ids=[n for n, _, _ in VIEW_RULES])
def test_a_view_breaking_a_rule_is_refused_with_invalid_arguments(fake_slack, client, view, problem):
    view = {k: v for k, v in view.items() if v is not None}
    calls = ((client.views_open, {"trigger_id": "t.1"}), (client.views_push, {"trigger_id": "t.1"}),
             (client.views_update, {"view_id": "V1"}))
    for method, extra in calls:
        with pytest.raises(SlackApiError) as refused:
            method(view=view, **extra)
        answer = refused.value.response
        assert answer.status_code == 200
        assert (answer["ok"], answer["error"]) == (False, "invalid_arguments")
        assert f"[ERROR] {problem}" in answer["response_metadata"]["messages"]
    assert len(fake_slack.take_refusals()) == 3


def test_a_home_view_holds_100_blocks_and_no_more(fake_slack, client):
    home = {"type": "home", "blocks": [section() for _ in range(100)]}
    assert client.views_publish(user_id="U1", view=home)["ok"]
    with pytest.raises(SlackApiError, match="invalid_arguments"):
        client.views_publish(user_id="U1", view={**home, "blocks": [*home["blocks"], section()]})
    assert len(fake_slack.take_refusals()) == 1


def test_what_block_kit_allows_goes_through(fake_slack, client):
    blocks = [{"type": "header", "text": text("h" * 150)}, section("x" * 3000, block_id="s1"),
              {"type": "section", "fields": [text("f" * 2000, "mrkdwn")] * 10},
              {"type": "actions", "block_id": "a1", "elements": [button(action_id=f"b{i}") for i in range(25)]},
              {"type": "context", "elements": [text("c", "mrkdwn")] * 10}, {"type": "divider"}]
    blocks += [section() for _ in range(50 - len(blocks))]
    assert client.chat_postMessage(channel="C1", text="fallback", blocks=blocks)["ok"]
    view = modal(input_block({"type": "plain_text_input", "action_id": "v", "multiline": True, "max_length": 3000}),
                 input_block(select(options=[option(str(i), str(i)) for i in range(100)],
                                    initial_option=option("7", "7")), block_id="in2"),
                 title=text("t" * 24), private_metadata="m" * 3000)
    assert client.views_open(trigger_id="t.1", view=view)["ok"]
    assert fake_slack.take_refusals() == []


def test_a_test_that_makes_slack_refuse_fails_even_when_the_product_swallows_the_error(fake_slack, client):
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel="C1", text="fallback", blocks=[section("")])
    # The fixture fails the test at teardown on what is left here; this test takes it to show it was recorded.
    [refusal] = fake_slack.take_refusals()
    assert (refusal.method, refusal.error) == ("chat.postMessage", "invalid_blocks")


# ---- rate limits, per conversation -------------------------------------------------------------------------


def test_a_rate_limit_on_one_conversation_answers_429_with_retry_after_and_leaves_the_others(fake_slack, client):
    fake_slack.add_user("U1")
    fake_slack.rate_limit("C1", retry_after=7, times=2)
    fake_slack.rate_limit("U1", retry_after=3)
    for _ in range(2):
        with pytest.raises(SlackApiError) as limited:
            client.chat_postMessage(channel="C1", text="hi")
        assert limited.value.response.status_code == 429
        assert limited.value.response["error"] == "ratelimited"
        assert limited.value.response.headers["Retry-After"] == "7"
    assert client.chat_postMessage(channel="C2", text="hi")["ok"]
    with pytest.raises(SlackApiError) as dm_limited:
        client.chat_postMessage(channel="U1", text="hi")  # a user id is their DM
    assert dm_limited.value.response.status_code == 429
    assert client.chat_postMessage(channel="C1", text="hi")["ok"]
    assert client.chat_postMessage(channel="U1", text="hi")["ok"]
    assert [m["channel"] for m in fake_slack.posted()] == ["C2", "C1", "D1"]


# ---- view submissions: errors name only the view's input blocks ------------------------------------------------


def _app(fake: FakeSlack, answer: dict[str, Any]) -> App:
    app = App(client=WebClient(token="xoxb-test", base_url=fake.url), signing_secret=SIGNING_SECRET,
              token_verification_enabled=False, process_before_response=True)

    @app.view("cb")
    def _submitted(ack: Ack) -> None:
        ack(**answer)

    return app


def test_a_submission_answered_with_errors_on_a_block_the_view_lacks_fails(fake_slack, client):
    client.views_open(trigger_id="t.1", view=modal(section(block_id="intro"),
                                                   input_block({"type": "plain_text_input", "action_id": "v"})))
    values = {"in": {"v": {"type": "plain_text_input", "value": "x"}}}
    good = SlackDriver(_app(fake_slack, {"response_action": "errors", "errors": {"in": "Say more."}}),
                       fake_slack.response_url, fake=fake_slack)
    assert good.view_submission(user_id="U1", callback_id="cb", values=values).status == 200
    for wrong in ("intro", "missing"):  # a section is no input block; a block the view lacks
        bad = SlackDriver(_app(fake_slack, {"response_action": "errors", "errors": {wrong: "Say more."}}),
                          fake_slack.response_url, fake=fake_slack)
        with pytest.raises(AssertionError, match="Slack would refuse response_action errors"):
            bad.view_submission(user_id="U1", callback_id="cb", values=values)


def test_a_submission_answered_with_an_invalid_view_fails(fake_slack):
    app = _app(fake_slack, {"response_action": "update", "view": modal(title=text("t" * 25))})
    with pytest.raises(AssertionError, match="Slack would refuse the update view"):
        SlackDriver(app, fake_slack.response_url, fake=fake_slack).view_submission(
            user_id="U1", callback_id="cb", values={})


def test_a_command_acknowledged_with_blocks_slack_refuses_fails(fake_slack):
    app = App(client=WebClient(token="xoxb-test", base_url=fake_slack.url), signing_secret=SIGNING_SECRET,
              token_verification_enabled=False, process_before_response=True)

    @app.command("/mentoring")
    def _command(ack: Ack) -> None:
        ack(text="fallback", blocks=[{"type": "header", "text": text("h" * 151)}])

    with pytest.raises(AssertionError, match="Slack would refuse the acknowledgement's blocks"):
        SlackDriver(app, fake_slack.response_url, fake=fake_slack).command("help", user_id="U1")
