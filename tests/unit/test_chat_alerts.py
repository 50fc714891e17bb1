"""Golden tests: the chat card (Amazon Q Developer in chat applications custom notification) of three alerts, and the
one SNS message that carries both the e-mail and the card (SPEC section 4)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.unit.test_alerts import CONTEXT, ENTRY, TERMINATED
from warden.alerts.lifecycle import grant_alert, policy_rejected_alert
from warden.alerts.session import session_alert
from warden.alerts.text import AlertContext
from warden.chat_cards import SNS_MESSAGE_LIMIT, chat_notification, sns_message
from warden.policy import Grant
from warden.records import Alert, ChatCard

GRANT = Grant(
    id="g-7h3k9m2p4q8r",
    principal="user:alice@example.com",
    targets={"tags": {"Environment": "prod"}},  # type: ignore[arg-type]
    starts_at=datetime(2026, 11, 24, 8, 0, tzinfo=UTC),
    expires_at=datetime(2026, 11, 24, 10, 0, tzinfo=UTC),
    reason="INC-4711 replica lag",
    created_by="arn:aws:iam::123456789012:user/oncall-lead",
)
CONSOLE = (
    "https://eu-central-1.console.aws.amazon.com/systems-manager/session-manager/session-history?region=eu-central-1"
)
SESSION = "alice@example.com-4f2kx7p9qz3m8n6r5t2v7w9y3b"

TERMINATED_CARD: dict[str, Any] = {
    "version": "1.0",
    "source": "custom",
    "content": {
        "textType": "client-markdown",
        "title": ":rotating_light: TERMINATED alice@example.com on i-0a1b2c3d4e5f60718 (prod-db-1)",
        "description": (
            "Session Warden terminated a Session Manager session.\n"
            "Decision: deny (grant expired)\n"
            "• grant g-7h3k9m2p4q8r for user:alice@example.com expired at 2026-11-24 10:00:00 UTC\n"
            "• no rule or grant allows alice@example.com on i-0a1b2c3d4e5f60718; default is deny\n"
            "Action: terminated at 2026-11-24 10:00:31 UTC; DescribeSessions confirms it is no longer active.\n"
            "\n"
            "*Who:* `alice@example.com`\n"
            "*Target:* `i-0a1b2c3d4e5f60718 (prod-db-1)`\n"
            "*Document:* `SSM-SessionManagerRunShell`\n"
            "*Started:* `2026-11-24 09:12:03 UTC`\n"
            "*Reason given:* `INC-4711 replica lag`\n"
            f"*Session:* `{SESSION}`\n"
            f"<{CONSOLE}|Session history (AWS console)>"
        ),
        "nextSteps": [
            "See the open sessions: `warden sessions --active`",
            "If the access is needed, grant it: "
            "`warden grant create --principal PATTERN --target i-0a1b2c3d4e5f60718 --for 1h --reason R`",
        ],
        "keywords": ["Session Warden", "HIGH", "session-terminated"],
    },
    "metadata": {
        "summary": "[Session Warden] TERMINATED alice@example.com on i-0a1b2c3d4e5f60718 (prod-db-1)",
        "eventType": "session-terminated",
        "additionalContext": {"severity": "HIGH", "kind": "session-terminated"},
        "threadId": SESSION,
        "relatedResources": ["i-0a1b2c3d4e5f60718", SESSION],
    },
}

GRANT_CREATED_CARD: dict[str, Any] = {
    "version": "1.0",
    "source": "custom",
    "content": {
        "textType": "client-markdown",
        "title": ":information_source: GRANT CREATED user:alice@example.com on Environment=prod",
        "description": (
            "A just-in-time grant was created.\n"
            "\n"
            "*Grant:* `g-7h3k9m2p4q8r`\n"
            "*Who:* `user:alice@example.com`\n"
            "*Targets:* `Environment=prod`\n"
            "*From:* `2026-11-24 08:00:00 UTC`\n"
            "*Until:* `2026-11-24 10:00:00 UTC`\n"
            "*Duration:* `2h`\n"
            "*Reason:* `INC-4711 replica lag`\n"
            "*Created by:* `arn:aws:iam::123456789012:user/oncall-lead`"
        ),
        "nextSteps": [
            "Give it more time: `warden grant extend g-7h3k9m2p4q8r --for 30m --reason R`",
            "End it now: `warden grant revoke g-7h3k9m2p4q8r`",
            "See the grants in force: `warden grant list --active`",
        ],
        "keywords": ["Session Warden", "INFO", "grant-created"],
    },
    "metadata": {
        "summary": "[Session Warden] GRANT CREATED user:alice@example.com on Environment=prod",
        "eventType": "grant-created",
        "additionalContext": {"severity": "INFO", "kind": "grant-created"},
        "threadId": "g-7h3k9m2p4q8r",
        "relatedResources": ["g-7h3k9m2p4q8r"],
    },
}

POLICY_REJECTED_CARD: dict[str, Any] = {
    "version": "1.0",
    "source": "custom",
    "content": {
        "textType": "client-markdown",
        "title": ":warning: POLICY REJECTED /session-warden/session-warden/policy",
        "description": (
            "The policy document stored in Parameter Store is invalid and was NOT put in force.\n"
            "\n"
            "*Parameter:* `/session-warden/session-warden/policy`\n"
            "*Problem:* `policy: line 7: rules[0].windows[0]: unknown window 'busness-hours'`\n"
            "*In force:* `the previous valid version (parameter version 3)`"
        ),
        "nextSteps": [
            "Check the fixed document: `warden policy validate FILE`",
            "Store it: `warden policy push FILE`",
            "See the one in force: `warden policy show`",
        ],
        "keywords": ["Session Warden", "MEDIUM", "policy-rejected"],
    },
    "metadata": {
        "summary": "[Session Warden] POLICY REJECTED /session-warden/session-warden/policy",
        "eventType": "policy-rejected",
        "additionalContext": {"severity": "MEDIUM", "kind": "policy-rejected"},
        "threadId": "/session-warden/session-warden/policy",
        "relatedResources": ["/session-warden/session-warden/policy"],
    },
}


def terminated() -> Alert:
    return session_alert(
        "session-terminated",
        CONTEXT,
        ENTRY,
        cause="grant expired",
        why=[
            "grant g-7h3k9m2p4q8r for user:alice@example.com expired at 2026-11-24 10:00:00 UTC",
            "no rule or grant allows alice@example.com on i-0a1b2c3d4e5f60718; default is deny",
        ],
        action="terminated at 2026-11-24 10:00:31 UTC; DescribeSessions confirms it is no longer active.",
    )


def policy_rejected() -> Alert:
    return policy_rejected_alert(
        CONTEXT,
        parameter="/session-warden/session-warden/policy",
        error="policy: line 7: rules[0].windows[0]: unknown window 'busness-hours'",
        in_force="the previous valid version (parameter version 3)",
    )


def structured(alert: Alert) -> dict[str, str]:
    message: dict[str, str] = json.loads(sns_message(alert))
    return message


# --- golden cards ----------------------------------------------------------------------------------------------------


def test_terminated_card_has_title_facts_console_link_and_next_steps() -> None:
    assert chat_notification(terminated()) == TERMINATED_CARD


def test_grant_created_card_says_how_to_extend_or_revoke_it() -> None:
    assert chat_notification(grant_alert("grant-created", CONTEXT, GRANT)) == GRANT_CREATED_CARD


def test_policy_rejected_card_names_the_problem_and_the_commands_that_fix_it() -> None:
    assert chat_notification(policy_rejected()) == POLICY_REJECTED_CARD


# --- the SNS message -------------------------------------------------------------------------------------------------


def test_one_message_carries_the_email_text_for_email_and_default_and_the_card_for_https() -> None:
    # GIVEN the termination alert WHEN it is rendered for SNS (MessageStructure=json)
    message = structured(terminated())
    # THEN e-mail and every protocol without a key of its own (SQS, e-mail-json, Lambda) get the unchanged text
    assert set(message) == {"default", "email", "https"}
    assert message["default"] == message["email"] == TERMINATED
    # AND HTTPS subscribers (Amazon Q Developer in chat applications) get the custom notification, as a string
    assert json.loads(message["https"]) == TERMINATED_CARD


def test_every_alert_kind_is_chat_ready_even_one_without_a_card_of_its_own() -> None:
    # GIVEN an alert built without a card (as any new kind might be)
    alert = Alert(
        kind="enforcer-unhealthy",
        severity="MEDIUM",
        subject="[Session Warden] ENFORCER UNHEALTHY errors alarm",
        body="The session-start function failed 3 times.\n\nMore detail.\n",
    )
    # WHEN it is rendered for chat THEN the subject is the title and the first paragraph the description
    card = chat_notification(alert)
    assert card["content"]["title"] == ":warning: ENFORCER UNHEALTHY errors alarm"
    assert card["content"]["description"] == "The session-start function failed 3 times."
    assert structured(alert)["default"] == alert.body


def test_hostile_values_cannot_mention_a_channel_link_or_break_the_card() -> None:
    # GIVEN a target whose Name tag and a session reason were written to abuse chat markdown
    entry = replace(
        ENTRY,
        target_name="<!channel> `x` <https://evil.example|click> & more",
        reason="ok`\n*bold* <@U123>",
    )
    alert = session_alert("session-terminated", CONTEXT, entry, cause="c", why=[], action="a")
    # WHEN it is rendered for chat
    content = chat_notification(alert)["content"]
    # THEN no angle bracket the attacker wrote survives (Slack's mention and link syntax), nor a backtick of theirs
    description = content["description"]
    assert "<!channel>" not in description and "<@U123>" not in description and "<https://evil" not in description
    assert "*Target:* `i-0a1b2c3d4e5f60718 (&lt;!channel&gt; 'x' &lt;https://evil.example|click&gt; &amp; more)`" in (
        description
    )
    assert "*Reason given:* `ok' *bold* &lt;@U123&gt;`" in description
    assert "&lt;!channel&gt;" in content["title"]
    # AND the e-mail still shows the values as written
    assert "<!channel> `x`" in alert.body


@pytest.mark.parametrize("character", ["é", "\x01", "a"])
def test_a_huge_alert_still_fits_in_one_sns_message_and_says_it_was_cut(character: str) -> None:
    # GIVEN a policy error of 200,000 characters that JSON escapes to 1, 2 or 6 bytes each
    alert = policy_rejected_alert(CONTEXT, parameter="/p", error=character * 200_000, in_force="version 3")
    # WHEN it is rendered for SNS
    message = sns_message(alert)
    # THEN the whole message is under SNS's 256 KiB, the e-mail says it was cut, and the card stays short
    assert len(message.encode()) < SNS_MESSAGE_LIMIT - 1000
    parts = json.loads(message)
    assert parts["default"].endswith("[This alert was cut to fit SNS's 256 KiB message limit.]\n")
    assert parts["default"].startswith("The policy document stored in Parameter Store is invalid")
    assert len(json.loads(parts["https"])["content"]["description"]) < 2000


def test_next_steps_name_the_stack_when_it_is_not_the_default() -> None:
    other = AlertContext(stack="warden-eu", region="eu-central-1")
    steps = chat_notification(grant_alert("grant-created", other, GRANT))["content"]["nextSteps"]
    assert "End it now: `warden grant revoke g-7h3k9m2p4q8r --stack warden-eu`" in steps


def test_grant_extended_email_says_until_when_it_was_and_who_extended_it_why() -> None:
    extended = GRANT.model_copy(update={"expires_at": datetime(2026, 11, 24, 10, 30, tzinfo=UTC)})
    alert = grant_alert(
        "grant-extended",
        CONTEXT,
        extended,
        by="arn:aws:iam::123456789012:user/oncall-lead",
        previous_until=GRANT.expires_at,
        why="INC-4711 still failing over",
    )
    assert alert.subject == "[Session Warden] GRANT EXTENDED user:alice@example.com on Environment=prod"
    assert alert.attributes == {"severity": "INFO", "kind": "grant-extended"}
    assert alert.body == (
        "A just-in-time grant was extended. Open sessions it allows get the new end at the next sweep.\n"
        "\n"
        "  Grant:         g-7h3k9m2p4q8r\n"
        "  Who:           user:alice@example.com\n"
        "  Targets:       Environment=prod\n"
        "  From:          2026-11-24 08:00:00 UTC\n"
        "  Until:         2026-11-24 10:30:00 UTC\n"
        "  Was until:     2026-11-24 10:00:00 UTC\n"
        "  Duration:      2h30m\n"
        "  Reason:        INC-4711 replica lag\n"
        "  Created by:    arn:aws:iam::123456789012:user/oncall-lead\n"
        "  Extended by:   arn:aws:iam::123456789012:user/oncall-lead\n"
        "  Extended for:  INC-4711 still failing over\n"
        "\n"
        "--\n"
        "Session Warden (stack session-warden, account 123456789012, eu-central-1)\n"
        "severity INFO, kind grant-extended\n"
    )


def test_a_card_kept_in_the_outbox_comes_back_the_same_so_a_resent_alert_shows_the_same_card() -> None:
    # GIVEN a session alert with its own card (facts, steps, thread, link)
    alert = terminated()
    card = alert.card
    assert card is not None and card.facts and card.next_steps
    # WHEN the outbox keeps it as JSON text and reads it back
    kept = json.loads(json.dumps(card.to_json()))
    # THEN the card is the same, so the chat message of the re-sent alert is byte-identical
    assert ChatCard.from_json(kept) == card
    assert sns_message(replace(alert, card=ChatCard.from_json(kept))) == sns_message(alert)


def test_a_kept_card_of_another_shape_is_refused_not_half_read() -> None:
    with pytest.raises(ValueError, match="not a kept chat card"):
        ChatCard.from_json({"title": "t"})
