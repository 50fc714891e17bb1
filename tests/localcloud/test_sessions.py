"""Session Manager session APIs: AWS's shapes, session ids, owners, states, errors, filters and pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.localcloud.conftest import START
from tests.localcloud.shapes import capture_raw, problems
from warden_local import LocalCloud

pytestmark = pytest.mark.functional

SUFFIX = r"[a-z2-9]{26}"


def session_error(error: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return error.value.response["Error"]["Code"], error.value.response["Error"]["Message"]


def test_an_iam_user_session_carries_the_user_name_and_moves_from_active_to_history(bare_cloud: LocalCloud) -> None:
    # GIVEN an IAM user and a running instance
    ssm = bare_cloud.client("ssm", credentials=bare_cloud.user_credentials("alice"))
    instance = bare_cloud.add_instance({"Name": "web-1"})

    # WHEN alice starts a session, then terminates it a little later
    started = ssm.start_session(Target=instance, Reason="OPS-1234 rotate logs")
    active = ssm.describe_sessions(State="Active")["Sessions"]
    bare_cloud.advance(timedelta(minutes=7))
    ssm.terminate_session(SessionId=started["SessionId"])

    # THEN the id is the user name and 26 characters; the session went from Active to History
    assert re.fullmatch(rf"alice-{SUFFIX}", started["SessionId"])
    assert started["StreamUrl"].startswith(
        f"wss://ssmmessages.us-east-1.amazonaws.com/v1/data-channel/{started['SessionId']}?role=publish_subscribe"
        "&cell-number="
    )
    assert started["TokenValue"]
    assert [(s["SessionId"], s["Status"], s["Owner"], s["Target"]) for s in active] == [
        (started["SessionId"], "Connected", "arn:aws:iam::123456789012:user/alice", instance)
    ]
    assert active[0]["StartDate"] == START
    assert active[0]["DocumentName"] == "SSM-SessionManagerRunShell"
    assert active[0]["Reason"] == "OPS-1234 rotate logs"
    assert "EndDate" not in active[0]
    assert ssm.describe_sessions(State="Active")["Sessions"] == []
    [ended] = ssm.describe_sessions(State="History")["Sessions"]
    assert (ended["Status"], ended["StartDate"], ended["EndDate"]) == (
        "Terminated",
        START,
        START + timedelta(minutes=7),
    )


def test_an_assumed_role_session_carries_the_role_session_name_and_the_assumed_role_arn(bare_cloud: LocalCloud) -> None:
    ssm = bare_cloud.client("ssm", credentials=bare_cloud.role_credentials("OpsAdmin", "bob", path="/ops/platform/"))
    instance = bare_cloud.add_instance({})

    started = ssm.start_session(Target=instance, DocumentName="SSM-SessionManagerRunShell")

    assert re.fullmatch(rf"bob-{SUFFIX}", started["SessionId"])
    [session] = ssm.describe_sessions(State="Active")["Sessions"]
    # The assumed-role ARN names the role without its path, like STS does.
    assert session["Owner"] == "arn:aws:sts::123456789012:assumed-role/OpsAdmin/bob"


def test_keys_moto_never_issued_belong_to_the_default_local_user(bare_cloud: LocalCloud) -> None:
    ssm = bare_cloud.client("ssm")
    started = ssm.start_session(Target=bare_cloud.add_instance({}))
    assert started["SessionId"].startswith("local-user-")
    [session] = ssm.describe_sessions(State="Active")["Sessions"]
    assert session["Owner"] == "arn:aws:iam::123456789012:user/local-user"


def test_every_answer_has_the_shape_of_the_ssm_service_model(bare_cloud: LocalCloud) -> None:
    ssm = bare_cloud.client("ssm", credentials=bare_cloud.user_credentials("alice"))
    raw = capture_raw(ssm)
    instance = bare_cloud.add_instance({"Team": "data"})
    node = bare_cloud.add_managed_node({"Team": "data"})

    started = ssm.start_session(Target=instance, Reason="OPS-1")
    ssm.resume_session(SessionId=started["SessionId"])
    ssm.describe_sessions(State="Active", MaxResults=5)
    ssm.terminate_session(SessionId=started["SessionId"])
    ssm.describe_instance_information()
    ssm.list_tags_for_resource(ResourceType="ManagedInstance", ResourceId=node)

    for operation in ("StartSession", "ResumeSession", "DescribeSessions", "TerminateSession"):
        assert problems("ssm", operation, raw[operation]) == [], operation
    assert problems("ssm", "DescribeInstanceInformation", raw["DescribeInstanceInformation"]) == []
    ssm.describe_sessions(State="History")
    assert problems("ssm", "DescribeSessions", raw["DescribeSessions"]) == []
    assert set(raw["DescribeSessions"]["Sessions"][0]) == {
        "SessionId",
        "Target",
        "Status",
        "StartDate",
        "EndDate",
        "DocumentName",
        "Owner",
        "Reason",
    }


def test_resume_answers_a_new_token_for_the_same_session(bare_cloud: LocalCloud) -> None:
    ssm = bare_cloud.client("ssm", credentials=bare_cloud.user_credentials("alice"))
    started = ssm.start_session(Target=bare_cloud.add_instance({}))

    resumed = ssm.resume_session(SessionId=started["SessionId"])

    assert resumed["SessionId"] == started["SessionId"]
    assert resumed["TokenValue"] != started["TokenValue"]
    assert f"/data-channel/{started['SessionId']}?" in resumed["StreamUrl"]


def test_resume_of_an_ended_or_unknown_session_does_not_exist(bare_cloud: LocalCloud) -> None:
    ssm = bare_cloud.client("ssm")
    started = ssm.start_session(Target=bare_cloud.add_instance({}))
    bare_cloud.end_session(started["SessionId"])

    for session_id in (started["SessionId"], "nobody-abcdefghijklmnopqrstuvwxyz"):
        with pytest.raises(ClientError) as error:
            ssm.resume_session(SessionId=session_id)
        assert session_error(error)[0] == "DoesNotExistException"


def test_resume_of_someone_elses_session_is_denied(bare_cloud: LocalCloud) -> None:
    alice = bare_cloud.client("ssm", credentials=bare_cloud.user_credentials("alice"))
    mallory = bare_cloud.client("ssm", credentials=bare_cloud.user_credentials("mallory"))
    started = alice.start_session(Target=bare_cloud.add_instance({}))

    with pytest.raises(ClientError) as error:
        mallory.resume_session(SessionId=started["SessionId"])

    code, message = session_error(error)
    assert code == "AccessDeniedException"
    assert "arn:aws:iam::123456789012:user/mallory is not authorized to perform: ssm:ResumeSession" in message


def test_terminating_an_ended_session_fails_and_an_unknown_id_succeeds(bare_cloud: LocalCloud) -> None:
    ssm = bare_cloud.client("ssm")
    started = ssm.start_session(Target=bare_cloud.add_instance({}))
    ssm.terminate_session(SessionId=started["SessionId"])

    # AWS has answered ValidationException for a session that already ended ...
    with pytest.raises(ClientError) as error:
        ssm.terminate_session(SessionId=started["SessionId"])
    assert session_error(error) == ("ValidationException", "Session is not in a valid state")
    # ... and success for an id it never issued.
    assert ssm.terminate_session(SessionId="ghost-aaaaaaaaaaaaaaaaaaaaaaaaaa")["SessionId"] == (
        "ghost-aaaaaaaaaaaaaaaaaaaaaaaaaa"
    )


def test_a_target_that_is_not_a_running_instance_or_registered_node_is_not_connected(bare_cloud: LocalCloud) -> None:
    ssm = bare_cloud.client("ssm")
    stopped = bare_cloud.add_instance({})
    bare_cloud.client("ec2").stop_instances(InstanceIds=[stopped])

    for target in ("i-0718293a4b5c6d7e8", stopped, "mi-0123456789abcdef0"):
        with pytest.raises(ClientError) as error:
            ssm.start_session(Target=target)
        assert session_error(error) == ("TargetNotConnected", f"{target} is not connected.")
    assert ssm.describe_sessions(State="Active")["Sessions"] == []


def test_a_registered_managed_node_is_a_session_target_with_tags(bare_cloud: LocalCloud) -> None:
    ssm = bare_cloud.client("ssm")
    node = bare_cloud.add_managed_node({"Department": "Analytics"}, name="onprem-db-1")

    started = ssm.start_session(Target=node)
    ssm.add_tags_to_resource(ResourceType="ManagedInstance", ResourceId=node, Tags=[{"Key": "Env", "Value": "prod"}])
    tags = ssm.list_tags_for_resource(ResourceType="ManagedInstance", ResourceId=node)["TagList"]

    assert re.fullmatch(r"mi-[0-9a-f]{17}", node)
    assert started["SessionId"].startswith("local-user-")
    assert {tag["Key"]: tag["Value"] for tag in tags} == {"Department": "Analytics", "Env": "prod"}
    with pytest.raises(ClientError) as error:
        ssm.list_tags_for_resource(ResourceType="ManagedInstance", ResourceId="mi-00000000000000000")
    assert session_error(error)[0] == "InvalidResourceId"


def test_instance_information_lists_running_instances_and_managed_nodes(bare_cloud: LocalCloud) -> None:
    ssm = bare_cloud.client("ssm")
    instance = bare_cloud.add_instance({"Team": "data"})
    node = bare_cloud.add_managed_node({"Team": "ops"}, name="onprem-1")

    everything = ssm.describe_instance_information()["InstanceInformationList"]
    nodes_only = ssm.describe_instance_information(Filters=[{"Key": "ResourceType", "Values": ["ManagedInstance"]}])
    by_tag = ssm.describe_instance_information(Filters=[{"Key": "tag:Team", "Values": ["data"]}])

    assert {(item["InstanceId"], item["ResourceType"]) for item in everything} == {
        (instance, "EC2Instance"),
        (node, "ManagedInstance"),
    }
    assert [item["Name"] for item in nodes_only["InstanceInformationList"]] == ["onprem-1"]
    assert [item["InstanceId"] for item in by_tag["InstanceInformationList"]] == [instance]


def test_documents_must_be_session_documents_by_name_or_arn(bare_cloud: LocalCloud) -> None:
    ssm = bare_cloud.client("ssm")
    instance = bare_cloud.add_instance({})
    ssm.create_document(
        Name="SessionWarden-ReadOnlyShell",
        DocumentType="Session",
        Content='{"schemaVersion": "1.0", "description": "read-only", "sessionType": "Standard_Stream", "inputs": {}}',
    )
    ssm.create_document(
        Name="Not-A-Session",
        DocumentType="Command",
        Content='{"schemaVersion": "2.2", "description": "x", "mainSteps": [{"action": "aws:runShellScript", '
        '"name": "x", "inputs": {"runCommand": ["true"]}}]}',
    )

    ssm.start_session(Target=instance, DocumentName="AWS-StartPortForwardingSession", Parameters={"portNumber": ["22"]})
    ssm.start_session(Target=instance, DocumentName="arn:aws:ssm:us-east-1::document/AWS-StartSSHSession")
    ssm.start_session(
        Target=instance, DocumentName="arn:aws:ssm:us-east-1:123456789012:document/SessionWarden-ReadOnlyShell"
    )
    for bad in ("Not-A-Session", "No-Such-Document"):
        with pytest.raises(ClientError) as error:
            ssm.start_session(Target=instance, DocumentName=bad)
        assert session_error(error)[0] == "InvalidDocument"

    documents = sorted(session["DocumentName"] for session in ssm.describe_sessions(State="Active")["Sessions"])
    assert documents == ["AWS-StartPortForwardingSession", "AWS-StartSSHSession", "SessionWarden-ReadOnlyShell"]


def test_describe_sessions_filters_by_target_owner_status_id_and_start_time(bare_cloud: LocalCloud) -> None:
    alice = bare_cloud.client("ssm", credentials=bare_cloud.user_credentials("alice"))
    bob = bare_cloud.client("ssm", credentials=bare_cloud.user_credentials("bob"))
    web, db = bare_cloud.add_instance({}), bare_cloud.add_instance({})
    first = alice.start_session(Target=web)["SessionId"]
    bare_cloud.advance(timedelta(minutes=10))
    second = bob.start_session(Target=db)["SessionId"]
    third = alice.start_session(Target=db)["SessionId"]

    def ids(*filters: tuple[str, str]) -> list[str]:
        found = alice.describe_sessions(State="Active", Filters=[{"key": k, "value": v} for k, v in filters])
        return [session["SessionId"] for session in found["Sessions"]]

    assert ids(("Target", db)) == [third, second] or ids(("Target", db)) == [second, third]
    assert sorted(ids(("Owner", "arn:aws:iam::123456789012:user/alice"))) == sorted([first, third])
    assert ids(("SessionId", second)) == [second]
    assert ids(("Status", "Terminated")) == []
    assert sorted(ids(("InvokedAfter", "2026-11-24T08:05:00Z"))) == sorted([second, third])
    assert ids(("InvokedBefore", "2026-11-24T08:05:00Z")) == [first]
    assert ids(("Target", db), ("Owner", "arn:aws:iam::123456789012:user/bob")) == [second]
    with pytest.raises(ClientError) as error:
        ids(("Colour", "blue"))
    assert session_error(error)[0] == "InvalidFilterKey"


def test_describe_sessions_pages_with_next_token_newest_first(bare_cloud: LocalCloud) -> None:
    ssm = bare_cloud.client("ssm")
    instance = bare_cloud.add_instance({})
    started = []
    for _ in range(7):
        started.append(ssm.start_session(Target=instance)["SessionId"])
        bare_cloud.advance(timedelta(minutes=1))

    pages, token = [], None
    while True:
        kwargs = {"NextToken": token} if token else {}
        page = ssm.describe_sessions(State="Active", MaxResults=3, **kwargs)
        pages.append([session["SessionId"] for session in page["Sessions"]])
        token = page.get("NextToken")
        if not token:
            break
    paginated = [
        session["SessionId"]
        for page in ssm.get_paginator("describe_sessions").paginate(State="Active", PaginationConfig={"PageSize": 2})
        for session in page["Sessions"]
    ]

    assert [len(page) for page in pages] == [3, 3, 1]
    assert [session for page in pages for session in page] == list(reversed(started))
    assert paginated == list(reversed(started))


def test_describe_sessions_rejects_bad_state_page_size_and_token(bare_cloud: LocalCloud) -> None:
    # Raw requests: botocore would refuse some of these before sending them.
    ssm = bare_cloud.client("ssm", config=Config(parameter_validation=False, retries={"total_max_attempts": 1}))
    for kwargs, code in (
        ({"State": "Open"}, "ValidationException"),
        ({"State": "Active", "MaxResults": 500}, "ValidationException"),
        ({"State": "Active", "MaxResults": 0}, "ValidationException"),
        ({"State": "Active", "NextToken": "not-a-token"}, "InvalidNextToken"),
    ):
        with pytest.raises(ClientError) as error:
            ssm.describe_sessions(**kwargs)
        assert session_error(error)[0] == code, kwargs


def test_a_reset_of_moto_clears_the_sessions(bare_cloud: LocalCloud) -> None:
    import urllib.request

    ssm = bare_cloud.client("ssm")
    ssm.start_session(Target=bare_cloud.add_instance({}))

    request = urllib.request.Request(f"{bare_cloud.endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(request).close()

    assert ssm.describe_sessions(State="Active")["Sessions"] == []
