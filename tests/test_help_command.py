from tests.conftest import COORDINATOR, MENTEE


def test_help_for_a_member_lists_member_commands_only(slack, fake_slack):
    response = slack.command("help", user_id=MENTEE)
    assert response.status == 200
    reply = fake_slack.responses[-1].params
    assert reply["response_type"] == "ephemeral"
    assert "/mentoring checkin" in str(reply["blocks"])
    assert "/mentoring pair @mentor" not in str(reply["blocks"])


def test_help_for_a_coordinator_includes_pair_and_summary(slack, fake_slack):
    slack.command("", user_id=COORDINATOR)
    blocks = str(fake_slack.responses[-1].params["blocks"])
    assert "/mentoring pair @mentor @mentee" in blocks
    assert "/mentoring summary" in blocks


def test_workspace_admin_counts_as_coordinator(slack, fake_slack):
    slack.command("HELP", user_id="UADMIN1")
    assert "/mentoring pair @mentor" in str(fake_slack.responses[-1].params["blocks"])
