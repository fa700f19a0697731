"""manifest.yml is what Slack accepts, declares what the code uses, and every command it declares works."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = ROOT.parent / "shared" / "slack"
MANIFEST = yaml.safe_load((ROOT / "manifest.yml").read_text())

# Web API method → the bot scope Slack requires for it.
SCOPE_OF_METHOD = {
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "conversations.open": "im:write",
    "conversations.history": "im:history",
    "users.info": "users:read",
    "files.upload": "files:write",  # files_upload_v2: files.getUploadURLExternal + files.completeUploadExternal
}


def test_manifest_validates_against_slacks_published_schema():
    version = MANIFEST.get("_metadata", {}).get("major_version", 1)
    schema_file = SCHEMA_DIR / f"manifest.schema.{version}.0.0.json"
    if not schema_file.exists():
        pytest.skip(f"Slack's manifest schema is not beside the project ({schema_file})")
    jsonschema.validate(MANIFEST, json.loads(schema_file.read_text()))


def test_manifest_has_the_command_interactivity_home_event_and_socket_mode():
    commands = MANIFEST["features"]["slash_commands"]
    assert [c["command"] for c in commands] == ["/mentoring"]
    assert commands[0]["should_escape"] is True
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True
    assert MANIFEST["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert MANIFEST["settings"]["socket_mode_enabled"] is True
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is True


def test_every_web_api_method_the_code_calls_has_its_scope_declared():
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    source = "\n".join(p.read_text() for p in (ROOT / "bot").rglob("*.py"))
    called = set(re.findall(r'"((?:chat|conversations|users|views)\.[A-Za-z]+)"', source))
    called |= {"users.info"} if "users_info(" in source else set()
    called |= {"files.upload"} if "files_upload_v2(" in source else set()
    assert called, "expected the gateway to call Web API methods"
    for method in called:
        if method in SCOPE_OF_METHOD:
            assert SCOPE_OF_METHOD[method] in scopes, f"{method} needs {SCOPE_OF_METHOD[method]}"
    # group DMs need the mpim twins of the im scopes
    assert {"mpim:write", "mpim:history", "commands"} <= scopes


@pytest.mark.parametrize("command", [c["command"] for c in MANIFEST["features"]["slash_commands"]])
def test_every_declared_command_is_answered_by_the_app(command, runtime, fake_slack):
    from slack_bolt import BoltRequest

    from tests.slack_requests import command_body, signed_headers

    body = command_body("help", user_id="UMENTEE1", response_url=fake_slack.response_url + "m1").replace(
        "command=%2Fmentoring", "command=" + command.replace("/", "%2F")
    )
    response = runtime.app.dispatch(BoltRequest(body=body, headers=signed_headers(body)))
    assert response.status == 200, f"{command} was not handled"
    assert fake_slack.responses, f"{command} got no reply"
