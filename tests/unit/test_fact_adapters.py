"""The adapters that read what AWS vouches for: issuer role paths (GetRole) and document session types (GetDocument)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.fakes import FakeClock
from warden.adapters.documents import SsmSessionDocuments
from warden.adapters.roles import IamIssuerRoles
from warden.errors import AwsCallFailed

PORT = json.dumps({"schemaVersion": "1.0", "sessionType": "Port", "parameters": {"portNumber": {"type": "String"}}})
REMOTE = json.dumps(
    {
        "schemaVersion": "1.0",
        "sessionType": "Port",
        "parameters": {"host": {"type": "String"}, "portNumber": {"type": "String"}},
        "properties": {"host": "{{ host }}", "portNumber": "{{ portNumber }}", "type": "LocalPortForwarding"},
    }
)
# A decoy `host` parameter; the agent dials properties.host, which is filled from `realHost`.
DECOY = json.dumps(
    {
        "schemaVersion": "1.0",
        "sessionType": "Port",
        "parameters": {"host": {"type": "String"}, "realHost": {"type": "String"}},
        "properties": {"host": "{{ realHost }}", "portNumber": "5432", "type": "LocalPortForwarding"},
    }
)


def client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, operation)


class FakeSsm:
    """GetDocument over a dict of name -> content; names in ``failing`` answer with that error code."""

    def __init__(self, documents: dict[str, str]) -> None:
        self.documents = documents
        self.failing: dict[str, str] = {}
        self.calls: list[str] = []

    def get_document(self, *, Name: str, DocumentFormat: str) -> dict[str, Any]:
        self.calls.append(Name)
        if Name in self.failing:
            raise client_error(self.failing[Name], "GetDocument")
        if Name not in self.documents:
            raise client_error("InvalidDocument", "GetDocument")
        return {"Name": Name, "Content": self.documents[Name], "DocumentFormat": DocumentFormat}


class FakeIam:
    def __init__(self, arns: dict[str, str]) -> None:
        self.arns = arns
        self.calls: list[str] = []

    def get_role(self, *, RoleName: str) -> dict[str, Any]:
        self.calls.append(RoleName)
        if RoleName not in self.arns:
            raise client_error("NoSuchEntity", "GetRole")
        return {"Role": {"RoleName": RoleName, "Arn": self.arns[RoleName]}}


def documents(ssm: FakeSsm, **kwargs: Any) -> SsmSessionDocuments:
    return SsmSessionDocuments(ssm, account="123456789012", **kwargs)  # type: ignore[arg-type]


def test_a_copied_document_is_judged_by_its_content_and_read_once() -> None:
    ssm = FakeSsm({"Team-Tunnel": REMOTE, "Team-Port": PORT})
    reader = documents(ssm)
    assert [reader.session_type("Team-Tunnel"), reader.session_type("Team-Port")] == ["remote-port", "port"]
    assert reader.session_type("Team-Tunnel") == "remote-port"
    assert ssm.calls == ["Team-Tunnel", "Team-Port"]


def test_aws_provided_documents_need_no_call() -> None:
    ssm = FakeSsm({})
    reader = documents(ssm)
    assert reader.session_type("AWS-StartPortForwardingSessionToRemoteHost") == "remote-port"
    # SSH over Session Manager gives a shell: a `port` rule must not grant one (SPEC section 2, session_types)
    assert reader.session_type("arn:aws:ssm:us-east-1::document/AWS-StartSSHSession") == "shell"
    assert ssm.calls == []


def test_unreadable_documents_are_unknown_and_read_again_next_time() -> None:
    ssm = FakeSsm({"Team-Tunnel": REMOTE, "Broken": "not json"})
    ssm.failing["Team-Tunnel"] = "ThrottlingException"
    reader = documents(ssm)
    assert [reader.session_type("Team-Tunnel"), reader.session_type("Broken"), reader.session_type("Gone")] == [
        None,
        None,
        None,
    ]
    del ssm.failing["Team-Tunnel"]
    assert reader.session_type("Team-Tunnel") == "remote-port"


def test_another_accounts_document_is_never_read() -> None:
    ssm = FakeSsm({"Team-Tunnel": REMOTE})
    reader = documents(ssm)
    assert reader.session_type("arn:aws:ssm:us-east-1:999999999999:document/Team-Tunnel") is None
    assert reader.session_type("arn:aws:ssm:us-east-1:123456789012:document/Team-Tunnel") is None  # not in the fake
    assert ssm.calls == ["arn:aws:ssm:us-east-1:123456789012:document/Team-Tunnel"]


def test_the_default_shell_document_is_a_shell_when_the_account_never_saved_preferences() -> None:
    ssm = FakeSsm({})
    assert documents(ssm).session_type("SSM-SessionManagerRunShell") == "shell"
    ssm = FakeSsm({"SSM-SessionManagerRunShell": PORT})  # what the account's own document says wins
    assert documents(ssm).session_type("SSM-SessionManagerRunShell") == "port"


def test_the_document_cache_is_bounded() -> None:
    ssm = FakeSsm({f"Doc-{n}": PORT for n in range(5)})
    reader = documents(ssm, limit=2)
    for n in range(5):
        reader.session_type(f"Doc-{n}")
    reader.session_type("Doc-0")
    assert ssm.calls.count("Doc-0") == 2


def test_issuer_role_paths_are_asked_once_per_role_until_forgotten() -> None:
    sso = "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Analyst_abc"
    iam = FakeIam({"AWSReservedSSO_Analyst_abc": sso})
    roles = IamIssuerRoles(iam)  # type: ignore[arg-type]
    assert roles.role_arn("AWSReservedSSO_Analyst_abc") == sso
    assert roles.role_arn("AWSReservedSSO_Analyst_abc") == sso
    roles.forget()
    roles.role_arn("AWSReservedSSO_Analyst_abc")
    assert iam.calls == ["AWSReservedSSO_Analyst_abc", "AWSReservedSSO_Analyst_abc"]
    with pytest.raises(AwsCallFailed):
        roles.role_arn("Deleted")


def test_the_host_of_a_tunnel_is_the_one_the_agent_dials_not_a_parameter_named_host() -> None:
    # GIVEN a copied tunnel document whose properties.host is filled from another parameter than `host`
    reader = documents(FakeSsm({"Team-Tunnel": REMOTE, "Sneaky-Tunnel": DECOY}))
    parameters = {"host": ["db.dev.internal"], "realHost": ["db.prod.internal"]}
    # WHEN the session's target is read THEN the host is what properties.host resolves to
    assert reader.session_target(
        "Sneaky-Tunnel", parameters, parameters_hidden=False, named_host="db.dev.internal"
    ) == ("remote-port", "db.prod.internal")
    assert reader.session_target(
        "Team-Tunnel", {"host": ["db.dev.internal"]}, parameters_hidden=False, named_host="db.dev.internal"
    ) == ("remote-port", "db.dev.internal")
    # AND hidden parameters make the host unknown, never the document's default or the event's `host`
    assert reader.session_target("Sneaky-Tunnel", None, parameters_hidden=True, named_host="db.dev.internal") == (
        "remote-port",
        None,
    )


def test_aws_remote_host_document_dials_its_host_parameter_without_a_read() -> None:
    ssm = FakeSsm({})
    reader = documents(ssm)
    assert reader.session_target(
        "AWS-StartPortForwardingSessionToRemoteHost",
        {"host": ["db.dev.internal"]},
        parameters_hidden=False,
        named_host="db.dev.internal",
    ) == ("remote-port", "db.dev.internal")
    assert reader.session_target(
        "AWS-StartPortForwardingSession", {"portNumber": ["22"]}, parameters_hidden=False, named_host=None
    ) == ("port", None)
    assert ssm.calls == []


# --- session logging (GetDocument read afresh per event / sweep) ----------------------------------------------


def preferences(**inputs: str) -> str:
    return json.dumps({"schemaVersion": "1.0", "sessionType": "Standard_Stream", "inputs": inputs})


def test_a_shell_session_is_logged_where_the_preferences_say() -> None:
    ssm = FakeSsm({"SSM-SessionManagerRunShell": preferences(s3BucketName="audit", s3KeyPrefix="ssm")})
    found = documents(ssm).session_logging("SSM-SessionManagerRunShell")
    assert (found.state, found.s3_bucket, found.s3_prefix) == ("logged", "audit", "ssm")


def test_a_custom_shell_document_is_logged_by_its_own_inputs_not_the_preferences() -> None:
    ssm = FakeSsm(
        {
            "SSM-SessionManagerRunShell": preferences(s3BucketName="audit"),
            "Team-Shell": preferences(cloudWatchLogGroupName="/team"),
        }
    )
    found = documents(ssm).session_logging("Team-Shell")
    assert (found.s3_bucket, found.log_group, found.source) == (None, "/team", "Team-Shell")
    assert ssm.calls == ["Team-Shell"]


def test_a_command_document_is_logged_by_the_accounts_preferences() -> None:
    command = json.dumps({"schemaVersion": "1.0", "sessionType": "InteractiveCommands"})
    ssm = FakeSsm({"SSM-SessionManagerRunShell": preferences(s3BucketName="audit"), "Team-Top": command})
    reader = documents(ssm)
    assert reader.session_logging("Team-Top").s3_bucket == "audit"
    assert reader.session_logging("AWS-StartInteractiveCommand").s3_bucket == "audit"


def test_port_documents_are_never_logged_and_need_no_call_when_aws_provides_them() -> None:
    ssm = FakeSsm({"Team-Port": PORT, "SSM-SessionManagerRunShell": preferences(s3BucketName="audit")})
    reader = documents(ssm)
    assert reader.session_logging("AWS-StartSSHSession").port
    assert reader.session_logging("Team-Port").port
    assert ssm.calls == ["Team-Port"]


def test_an_account_without_preferences_logs_nowhere() -> None:
    found = documents(FakeSsm({})).session_logging("SSM-SessionManagerRunShell")
    assert (found.state, "never saved" in found.why) == ("unlogged", True)


def test_unreadable_preferences_are_unknown_and_say_why() -> None:
    ssm = FakeSsm({"SSM-SessionManagerRunShell": preferences(s3BucketName="audit")})
    ssm.failing["SSM-SessionManagerRunShell"] = "AccessDeniedException"
    found = documents(ssm).session_logging("SSM-SessionManagerRunShell")
    assert found.state == "unknown"
    assert found.why == (
        "cannot tell whether Session Manager logs the session "
        "(SSM-SessionManagerRunShell: GetDocument failed: AccessDeniedException)"
    )


def test_another_accounts_session_document_is_not_read_for_logging() -> None:
    ssm = FakeSsm({})
    found = documents(ssm).session_logging("arn:aws:ssm:us-east-1:999999999999:document/Team-Shell")
    assert found.state == "unknown" and ssm.calls == []


def test_logging_settings_are_read_again_after_forget_preferences_only() -> None:
    ssm = FakeSsm({"SSM-SessionManagerRunShell": preferences(s3BucketName="audit")})
    reader = documents(ssm)
    assert reader.session_logging("SSM-SessionManagerRunShell").logged
    ssm.documents["SSM-SessionManagerRunShell"] = preferences()
    assert reader.session_logging("SSM-SessionManagerRunShell").logged  # same event / sweep: read once
    reader.forget_preferences()
    assert reader.session_logging("SSM-SessionManagerRunShell").state == "unlogged"
    assert ssm.calls == ["SSM-SessionManagerRunShell", "SSM-SessionManagerRunShell"]


def test_a_document_read_for_its_session_type_is_not_read_again_for_logging_in_the_same_event() -> None:
    ssm = FakeSsm({"SSM-SessionManagerRunShell": preferences(s3BucketName="audit")})
    reader = documents(ssm)
    reader.forget_preferences()
    assert reader.session_type("SSM-SessionManagerRunShell") == "shell"
    assert reader.session_logging("SSM-SessionManagerRunShell").s3_bucket == "audit"
    assert ssm.calls == ["SSM-SessionManagerRunShell"]


def test_a_documents_new_default_version_is_read_once_the_kept_copy_is_a_minute_old() -> None:
    # GIVEN a document read as a port tunnel
    clock = FakeClock(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    ssm = FakeSsm({"Team-Tunnel": PORT})
    reader = documents(ssm, clock=clock)
    assert reader.session_type("Team-Tunnel") == "port"
    # WHEN its owner makes a shell its new default version
    ssm.documents["Team-Tunnel"] = json.dumps({"schemaVersion": "1.0", "sessionType": "Standard_Stream"})
    # THEN within the minute the kept copy is used; after it, the new content decides
    clock.advance(seconds=59)
    assert reader.session_type("Team-Tunnel") == "port"
    clock.advance(seconds=1)
    assert reader.session_type("Team-Tunnel") == "shell"
    assert ssm.calls == ["Team-Tunnel", "Team-Tunnel"]


def test_an_event_or_sweep_judges_kept_documents_at_the_moment_it_decides_without_reading_the_clock() -> None:
    # GIVEN a document read as a port tunnel at 09:00, whose owner then makes a shell its default version
    clock = FakeClock(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    ssm = FakeSsm({"Team-Tunnel": PORT})
    reader = documents(ssm, clock=clock)
    assert reader.session_type("Team-Tunnel") == "port"
    ssm.documents["Team-Tunnel"] = json.dumps({"schemaVersion": "1.0", "sessionType": "Standard_Stream"})
    clock.moment = datetime(1999, 1, 1, tzinfo=UTC)  # a clock read from here on would make every copy young

    # WHEN a sweep deciding at 09:00:59 and then one deciding at 09:01:00 look at it
    reader.forget_preferences(datetime(2026, 11, 24, 9, 0, 59, tzinfo=UTC))
    within_the_minute = reader.session_type("Team-Tunnel")
    reader.forget_preferences(datetime(2026, 11, 24, 9, 1, tzinfo=UTC))
    after_it = reader.session_type("Team-Tunnel")

    # THEN each judges the kept copy's age at its own moment: kept within the minute, read again after it
    assert (within_the_minute, after_it) == ("port", "shell")
    assert ssm.calls == ["Team-Tunnel", "Team-Tunnel"]
