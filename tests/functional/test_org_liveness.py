"""Organization mode's per-scope liveness on the local cloud: an ordinary central user who disables the sweep worker's
event source mapping through the real Lambda API is reported at once (`enforcer-tampered`), every account and region
whose sweeps then stop is alerted once (`enforcer-unhealthy`), and each is RESTORED when the mapping is enabled
again; changes to the sweep queues are tampering too."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from tests.functional.org_stack import CENTRAL, DEV, MEMBERS, PROD_DATA, PROD_WEB, REGIONS, OrgStack, status_row
from warden_local.inbox import Mail

pytestmark = pytest.mark.functional

TAMPERED, UNHEALTHY = "enforcer-tampered", "enforcer-unhealthy"
NAMES = {PROD_WEB: ("prod-web", "Production/Web"), PROD_DATA: ("prod-data", "Production"), DEV: ("dev", "Development")}


def mallory(org: OrgStack, service: str) -> Any:
    """An ordinary IAM user of the central account (no role of the warden's)."""
    return org.cloud.client(service, credentials=org.cloud.user_credentials("mallory"))


def queue_arn(org: OrgStack, output: str = "SweepQueueUrl") -> str:
    attributes = org.cloud.client("sqs").get_queue_attributes(QueueUrl=org.outputs[output], AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])


def worker_mapping(org: OrgStack) -> str:
    [mapping] = org.cloud.client("lambda").list_event_source_mappings(EventSourceArn=queue_arn(org))[
        "EventSourceMappings"
    ]
    return str(mapping["UUID"])


def fields_of(mail: Mail) -> dict[str, str]:
    lines = [line.split(":", 1) for line in mail.body.splitlines() if ":" in line]
    return {label.strip(): value.strip() for label, value in lines}


def test_disabling_the_sweep_workers_mapping_is_tampering_then_each_scope_is_alerted_stopped_and_restored(
    org: OrgStack,
) -> None:
    # GIVEN every account and region swept every minute
    org.cloud.advance(timedelta(minutes=3))
    assert org.mails() == []
    mapping = worker_mapping(org)

    # WHEN an ordinary central user disables the sweep worker's event source mapping
    mallory(org, "lambda").update_event_source_mapping(UUID=mapping, Enabled=False)
    org.cloud.settle()

    # THEN one HIGH enforcer-tampered alert names who, the call, the mapping and what it means
    [tamper] = org.mails(TAMPERED)
    assert tamper.severity == "HIGH"
    fields = fields_of(tamper)
    assert "mallory" in fields["Who"]
    assert fields["Call"] == "UpdateEventSourceMapping20150331"
    assert mapping in fields["Resource"]
    assert "no sweep order is taken" in tamper.body and "an expired grant or a closed window" in tamper.body

    # WHEN no sweep completes for more than 3 minutes
    org.cloud.advance(timedelta(minutes=5))

    # THEN one HIGH enforcer-unhealthy alert per account and region names it (id, name, OU path) and what it means
    stopped = org.mails(UNHEALTHY)
    assert all(mail.severity == "HIGH" for mail in stopped), [mail.subject for mail in stopped]
    scopes = {(account, region) for account in (CENTRAL, *MEMBERS) for region in REGIONS}
    named = {(f["Account"], f["Region"]): (mail, f) for mail in stopped for f in [fields_of(mail)]}
    assert set(named) == scopes and len(stopped) == len(scopes)
    for account, (name, ou) in NAMES.items():
        for region in REGIONS:
            mail, found = named[(account, region)]
            assert (found["Name"], found["OU path"]) == (name, ou)
            assert "SWEEPS STOPPED" in mail.subject
            assert "an expired grant or a closed window does not end them" in mail.body
            assert found["Last completed sweep"].startswith("2026-")
    # AND `warden org status` shows every scope's sweeps stopped; more minutes send no second alert
    code, rows = org.org_status()
    assert code == 1
    assert all(status_row(rows, account, region)["sweeps_stopped_since"] for account, region in scopes)
    org.cloud.advance(timedelta(minutes=2))
    assert len(org.mails(UNHEALTHY)) == len(scopes)

    # WHEN the mapping is enabled again
    mallory(org, "lambda").update_event_source_mapping(UUID=mapping, Enabled=True)
    org.cloud.advance(timedelta(minutes=3))

    # THEN one INFO RESTORED alert per account and region, and every scope is swept again
    restored = [mail for mail in org.mails(UNHEALTHY) if mail.severity == "INFO"]
    assert {(fields_of(mail)["Account"], fields_of(mail)["Region"]) for mail in restored} == scopes
    assert len(restored) == len(scopes)
    assert all("RESTORED" in mail.subject for mail in restored)
    code, rows = org.org_status()
    assert code == 0, rows
    assert org.errors() == []


@pytest.mark.parametrize(
    ("call", "output", "says"),
    [
        ("set_queue_attributes", "SweepQueueUrl", "attributes changed (VisibilityTimeout)"),
        ("purge_queue", "SweepDeadLetterQueueUrl", "was purged"),
    ],
)
def test_changing_or_purging_the_sweep_queues_is_tampering(org: OrgStack, call: str, output: str, says: str) -> None:
    # GIVEN the sweep queues
    org.cloud.settle()
    url = org.outputs.get(output) or _dead_letter_url(org)
    # WHEN an ordinary central user changes one
    sqs = mallory(org, "sqs")
    if call == "set_queue_attributes":
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "5"})
    else:
        sqs.purge_queue(QueueUrl=url)
    org.cloud.settle()
    # THEN one HIGH enforcer-tampered alert names the call, the queue and what it means
    [mail] = org.mails(TAMPERED)
    fields = fields_of(mail)
    assert fields["Call"] == ("SetQueueAttributes" if call == "set_queue_attributes" else "PurgeQueue")
    assert fields["Resource"] == url.rsplit("/", 1)[1]
    assert says in mail.body


def _dead_letter_url(org: OrgStack) -> str:
    """The sweep dead-letter queue's URL (the queue the sweep queue's redrive policy names)."""
    sqs = org.cloud.client("sqs")
    redrive = sqs.get_queue_attributes(QueueUrl=org.outputs["SweepQueueUrl"], AttributeNames=["RedrivePolicy"])
    target = json.loads(redrive["Attributes"]["RedrivePolicy"])["deadLetterTargetArn"]
    return str(sqs.get_queue_url(QueueName=target.rsplit(":", 1)[1])["QueueUrl"])
