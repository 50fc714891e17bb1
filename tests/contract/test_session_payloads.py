"""Every recorded payload in events/ parses to the SessionApiCall the rest of the warden codes against."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any, NamedTuple

import pytest

from tests.contract.conftest import EVENTS_DIR, load_event
from warden.event_errors import MalformedEvent
from warden.events import SessionApiCall, describe_failure, parse_session_event
from warden.policy import Principal, principal_from_identity

RUN_SHELL = "SSM-SessionManagerRunShell"
EU, US = "eu-central-1", "us-east-1"


class Expect(NamedTuple):
    event_name: str
    user: str | None
    role: str | None
    target: str | None
    document: str
    session_id: str | None
    failed: bool = False
    console: bool = False
    region: str = EU
    remote_host: str | None = None
    parameters_hidden: bool = False


EXPECTED: dict[str, Expect] = {
    "start-session-iam-user.json": Expect(
        "StartSession", "alice", None, "i-0a1b2c3d4e5f60718", RUN_SHELL, "alice-nnzv8ua8ma98x8p93wqco3z5h5"
    ),
    "start-session-assumed-role.json": Expect(
        "StartSession", "bob", "OpsAdmin", "i-0b2c3d4e5f6071829", RUN_SHELL, "bob-kmippzhkfn4n7a2hlus3pyyh5h"
    ),
    "start-session-identity-center.json": Expect(
        "StartSession",
        "carol@example.com",
        "AWSReservedSSO_AnalystAccess_4f8a2b7c9d1e3f56",
        "i-0c3d4e5f607182930",
        RUN_SHELL,
        "carol@example.com-daezoblbpuunxdzty3hatace9h",
    ),
    "start-session-federated-user.json": Expect(
        "StartSession", "frank", None, "i-0d4e5f60718293a4b", RUN_SHELL, "frank-26p8uewdxrcng5owic8m7pqf92", region=US
    ),
    "start-session-root.json": Expect(
        "StartSession", "root", None, "i-0a1b2c3d4e5f60718", RUN_SHELL, "root-vaktdbjsd48ygdyyvopj2kow7z"
    ),
    "start-session-console.json": Expect(
        "StartSession",
        "grace",
        "Admin",
        "i-0e5f60718293a4b5c",
        RUN_SHELL,
        "grace-wsosxb3oboaktbdr24vm9thisk",
        console=True,
        region=US,
    ),
    "start-session-port-forwarding.json": Expect(
        "StartSession",
        "erin@example.com",
        "AWSReservedSSO_DatabaseAdmin_9a8b7c6d5e4f3a2b",
        "i-0f60718293a4b5c6d",
        "AWS-StartPortForwardingSession",
        "erin@example.com-qdcr3izt62zjwex7a62zagnngm",
    ),
    "start-session-document-arn.json": Expect(
        "StartSession",
        "henry",
        "SupportEngineer",
        "i-0a1b2c3d4e5f60718",
        # Kept whole: the account in the ARN tells another account's document apart (spec section 2).
        "arn:aws:ssm:eu-central-1:123456789012:document/SessionWarden-ReadOnlyShell",
        "henry-zgxzfdmwltqu7ywcy96bjzfdry",
    ),
    "start-session-cross-account-document.json": Expect(
        "StartSession",
        "henry",
        "SupportEngineer",
        "i-0a1b2c3d4e5f60718",
        "arn:aws:ssm:us-east-1:999988887777:document/Shared-Shell",
        "henry-glbacn9a4wz443ra5qr2ye5uht",
        region=US,
    ),
    "start-session-aws-document-arn.json": Expect(
        "StartSession",
        "alice",
        None,
        "i-0a1b2c3d4e5f60718",
        "arn:aws:ssm:eu-central-1::document/AWS-StartSSHSession",
        "alice-26vxhww7xpd9raxlfcejyhnaom",
    ),
    "start-session-parameters-hidden.json": Expect(
        "StartSession",
        "erin@example.com",
        "AWSReservedSSO_DatabaseAdmin_9a8b7c6d5e4f3a2b",
        "i-0f60718293a4b5c6d",
        "AWS-StartPortForwardingSessionToRemoteHost",
        "erin@example.com-b995vhdkvq95xlytlfmkxxglfv",
        parameters_hidden=True,
    ),
    "start-session-remote-host.json": Expect(
        "StartSession",
        "dave@example.com",
        "AWSReservedSSO_Developer_7e6f5a4b3c2d1e0f",
        "i-0b2c3d4e5f6071829",
        "AWS-StartPortForwardingSessionToRemoteHost",
        "dave@example.com-zdvb9sdkt2t29zhgyn55dygjmk",
        remote_host="orders-db.dev.internal",
    ),
    "resume-session-remote-host.json": Expect(
        "ResumeSession",
        "dave@example.com",
        "AWSReservedSSO_Developer_7e6f5a4b3c2d1e0f",
        None,
        RUN_SHELL,
        "dave@example.com-zdvb9sdkt2t29zhgyn55dygjmk",
    ),
    "start-session-email-session-name.json": Expect(
        "StartSession",
        "alice@example.com",
        "OktaEngineers",
        "i-0c3d4e5f607182930",
        RUN_SHELL,
        "alice@example.com-62hakaa4ken2s9m23yzrkza7zp",
    ),
    "start-session-web-identity-role.json": Expect(
        "StartSession",
        "GitHubActions",
        "GitHubDeploy",
        "i-0d4e5f60718293a4b",
        "AWS-StartInteractiveCommand",
        "GitHubActions-ml5p4vwkzgahtawi4o27vwakca",
    ),
    "start-session-identity-center-user-type.json": Expect(
        "StartSession", None, None, "i-0e5f60718293a4b5c", RUN_SHELL, "ic-user-s4hva47hvmmwlh9e7d26h9tv68"
    ),
    "start-session-web-identity-user-type.json": Expect(
        "StartSession", None, None, "i-0e5f60718293a4b5c", RUN_SHELL, "web-user-92jtivnce3enxmmmxz5lgleq8d"
    ),
    "start-session-managed-node.json": Expect(
        "StartSession", "ivan", None, "mi-0a1b2c3d4e5f60718", RUN_SHELL, "ivan-72mkq76g85hudksc9eblryjx7s"
    ),
    "start-session-ecs.json": Expect(
        "StartSession",
        "judy",
        "PlatformDeveloper",
        "ecs:payments-prod_8f2a4c6e0b1d43f5a7c9e1b3d5f7a9c1_8f2a4c6e0b1d43f5a7c9e1b3d5f7a9c1-1527056392",
        RUN_SHELL,
        "judy-ebdtn3yjl2cncwydhx5yglg5zh",
    ),
    "start-session-legacy-1.05.json": Expect(
        "StartSession", "mallory", None, "i-0a1b2c3d4e5f60718", RUN_SHELL, "mallory-0a1b2c3d4e5f67890", region=US
    ),
    "start-session-failed.json": Expect(
        "StartSession", "bob", "OpsAdmin", "i-0718293a4b5c6d7e8", RUN_SHELL, None, failed=True
    ),
    "start-session-access-denied.json": Expect(
        "StartSession", "oscar", "ReadOnly", "i-0a1b2c3d4e5f60718", "AWS-StartInteractiveCommand", None, failed=True
    ),
    "start-session-ssh.json": Expect(
        "StartSession",
        "bob",
        "OpsAdmin",
        "i-0b2c3d4e5f6071829",
        "AWS-StartSSHSession",
        "bob-ycfkuqpox6dc2b2nfyo47e9cqw",
    ),
    "start-session-fleet-manager-rdp.json": Expect(
        "StartSession",
        "peggy@example.com",
        "AWSReservedSSO_WindowsAdmin_1c2d3e4f5a6b7c8d",
        "i-093a4b5c6d7e8f901",
        "AWS-StartPortForwardingSession",
        "peggy@example.com-ond3ytb9c8ts98g7e4sh7ixf8l",
        console=True,
    ),
    "resume-session.json": Expect("ResumeSession", "alice", None, None, RUN_SHELL, "alice-nnzv8ua8ma98x8p93wqco3z5h5"),
    "terminate-session.json": Expect(
        "TerminateSession", "alice", None, None, RUN_SHELL, "alice-nnzv8ua8ma98x8p93wqco3z5h5"
    ),
    "terminate-session-by-warden.json": Expect(
        "TerminateSession",
        "session-warden-SessionStartedFunction-XYZ789",
        "session-warden-SessionStartedFunctionRole-ABC123",
        None,
        RUN_SHELL,
        "bob-kmippzhkfn4n7a2hlus3pyyh5h",
    ),
}

# Principal.kind is the CloudTrail userIdentity.type; every file not listed here is an AssumedRole.
EXPECTED_KIND: dict[str, str] = {
    "start-session-iam-user.json": "IAMUser",
    "start-session-managed-node.json": "IAMUser",
    "start-session-legacy-1.05.json": "IAMUser",
    "resume-session.json": "IAMUser",
    "terminate-session.json": "IAMUser",
    "start-session-federated-user.json": "FederatedUser",
    "start-session-root.json": "Root",
    "start-session-aws-document-arn.json": "IAMUser",
}

# userIdentity types CloudTrail documents for other calls (the Identity Center portal, AssumeRoleWithWebIdentity),
# here on a StartSession: they parse, as a principal of that kind or an Unknown one, never as a user or role.
UNMODELLED_KIND: dict[str, str] = {
    "start-session-identity-center-user-type.json": "IdentityCenterUser",
    "start-session-web-identity-user-type.json": "WebIdentityUser",
}

PAYLOADS = sorted(EXPECTED)


def parse_file(name: str) -> SessionApiCall:
    return parse_session_event(load_event(EVENTS_DIR / name))


def test_every_payload_in_events_has_an_expectation() -> None:
    # GIVEN the payload directory WHEN listed THEN the table above covers exactly its files
    assert {path.name for path in EVENTS_DIR.glob("*.json")} == set(EXPECTED)


@pytest.mark.parametrize("name", PAYLOADS)
def test_payload_parses_to_the_expected_call(name: str) -> None:
    expected = EXPECTED[name]
    event = load_event(EVENTS_DIR / name)
    detail = event["detail"]

    call = parse_session_event(event)

    assert call.event_name == expected.event_name
    assert call.event_id == detail["eventID"]
    assert call.event_version == detail["eventVersion"]
    assert call.event_time == datetime.fromisoformat(detail["eventTime"])
    assert call.event_time.tzinfo is UTC
    assert call.region == expected.region
    assert call.account == "123456789012"
    assert call.principal == principal_from_identity(detail["userIdentity"])
    if name in UNMODELLED_KIND:
        assert call.principal.kind in {UNMODELLED_KIND[name], "Unknown"}
        assert call.principal.role is None
        assert call.principal.account == detail["userIdentity"].get("accountId")
    else:
        assert call.principal.kind == EXPECTED_KIND.get(name, "AssumedRole")
        assert (call.principal.user, call.principal.role) == (expected.user, expected.role)
        assert call.principal.account == "123456789012"
        assert call.principal.arn == detail["userIdentity"]["arn"]
    assert call.target == expected.target
    assert call.document == expected.document
    assert call.session_id == expected.session_id
    assert call.failed is expected.failed
    assert call.console is expected.console
    assert call.source_ip == detail["sourceIPAddress"]
    assert call.user_agent == detail["userAgent"]
    assert call.is_start is (expected.event_name != "TerminateSession")
    assert call.remote_host == expected.remote_host
    assert call.parameters_hidden is expected.parameters_hidden
    parameters = detail.get("requestParameters") or {}
    assert call.document_parameters == (None if expected.parameters_hidden else parameters.get("parameters"))


@pytest.mark.parametrize("name", PAYLOADS)
def test_bare_cloudtrail_record_parses_the_same_as_its_envelope(name: str) -> None:
    # GIVEN a record as copied from CloudTrail Event history (no EventBridge envelope)
    event = load_event(EVENTS_DIR / name)

    # WHEN both shapes are parsed THEN they give the same call
    assert parse_session_event(event["detail"]) == parse_session_event(event)


@pytest.mark.parametrize("name", PAYLOADS)
def test_optional_cloudtrail_fields_may_all_be_missing(name: str) -> None:
    # GIVEN a record stripped of every field that older or newer CloudTrail versions leave out
    event = load_event(EVENTS_DIR / name)
    optional: tuple[str, ...] = (
        "managementEvent",
        "eventCategory",
        "tlsDetails",
        "sessionCredentialFromConsole",
        "eventVersion",
    )
    optional += ("readOnly", "requestID", "eventType", "resources", "recipientAccountId")
    for key in optional:
        event["detail"].pop(key, None)

    # WHEN parsed THEN nothing the warden uses changes (the account comes from the envelope)
    call = parse_session_event(event)
    assert call.model_copy(update={"event_version": None}) == parse_file(name).model_copy(
        update={"event_version": None}
    )


@pytest.mark.parametrize("name", PAYLOADS)
def test_unknown_fields_are_ignored(name: str) -> None:
    # GIVEN a record from a future CloudTrail version with fields nobody has seen yet
    event = load_event(EVENTS_DIR / name)
    event["futureEnvelopeField"] = {"x": 1}
    event["detail"]["eventVersion"] = "1.99"
    event["detail"]["someNewField"] = [1, 2, 3]
    event["detail"]["userIdentity"]["newIdentityField"] = "value"
    if isinstance(event["detail"].get("requestParameters"), dict):
        event["detail"]["requestParameters"]["newRequestField"] = True

    # WHEN parsed THEN it parses as before
    assert parse_session_event(event).model_copy(update={"event_version": "x"}) == parse_file(name).model_copy(
        update={"event_version": "x"}
    )


@pytest.mark.parametrize("name", ["start-session-failed.json", "start-session-access-denied.json"])
def test_failed_call_is_never_a_started_session(name: str) -> None:
    event = load_event(EVENTS_DIR / name)

    call = parse_session_event(event)

    assert call.failed
    assert call.session_id is None
    assert call.error_code == event["detail"]["errorCode"]
    assert call.error_message == event["detail"]["errorMessage"]
    assert event["detail"]["errorCode"] in describe_failure(call)


def test_describe_failure_names_code_and_message() -> None:
    call = parse_file("start-session-failed.json")

    assert describe_failure(call) == "StartSession failed: TargetNotConnected (i-0718293a4b5c6d7e8 is not connected.)"


def test_describe_failure_keeps_a_long_message_on_one_bounded_line() -> None:
    event = load_event(EVENTS_DIR / "start-session-access-denied.json")
    event["detail"]["errorMessage"] = "line one\nline two " + "x" * 1000

    text = describe_failure(parse_session_event(event))

    assert text.startswith("StartSession failed: AccessDenied (line one line two x")
    assert "\n" not in text
    assert len(text) < 400


def test_describe_failure_of_a_successful_call_says_so() -> None:
    assert describe_failure(parse_file("start-session-iam-user.json")) == "StartSession succeeded"


def test_failed_resume_without_session_id_still_parses() -> None:
    event = load_event(EVENTS_DIR / "resume-session.json")
    detail = event["detail"]
    detail.update(errorCode="InvalidParameters", errorMessage="Session is not resumable.", responseElements=None)
    detail["requestParameters"] = None

    call = parse_session_event(event)

    assert call.failed
    assert call.session_id is None
    assert describe_failure(call) == "ResumeSession failed: InvalidParameters (Session is not resumable.)"


def test_port_forwarding_parameters_are_kept_but_not_shown_in_repr() -> None:
    call = parse_file("start-session-port-forwarding.json")

    assert call.document_parameters == {"localPortNumber": ["15432"], "portNumber": ["5432"]}
    assert "5432" not in repr(call)


def test_access_denied_command_is_not_in_repr() -> None:
    call = parse_file("start-session-access-denied.json")

    assert call.document_parameters == {"command": ["sudo cat /etc/shadow"]}
    assert "shadow" not in repr(call)


@pytest.mark.parametrize("document_name", [None, ""])
def test_null_document_name_and_null_parameters_mean_the_default_shell(document_name: str | None) -> None:
    event = load_event(EVENTS_DIR / "start-session-assumed-role.json")
    event["detail"]["requestParameters"].update(documentName=document_name, parameters=None)

    call = parse_session_event(event)

    assert call.document == RUN_SHELL
    assert call.document_parameters is None


def test_reason_is_taken_from_the_request() -> None:
    assert parse_file("start-session-iam-user.json").reason == "OPS-1234 rotate application logs"
    assert parse_file("start-session-assumed-role.json").reason is None


def test_assumed_role_with_a_path_keeps_the_path_in_the_issuer_arn_only() -> None:
    principal = parse_file("start-session-assumed-role.json").principal

    assert principal.role == "OpsAdmin"
    assert principal.role_arn == "arn:aws:iam::123456789012:role/ops/platform/OpsAdmin"
    assert principal.arn == "arn:aws:sts::123456789012:assumed-role/OpsAdmin/bob"


def test_identity_center_user_is_the_email_session_name() -> None:
    principal = parse_file("start-session-identity-center.json").principal

    assert principal.user == "carol@example.com"
    assert principal.role is not None
    assert principal.role_arn is not None
    assert principal.role_arn.endswith("/aws-reserved/sso.amazonaws.com/eu-central-1/" + principal.role)


def test_the_wardens_own_termination_is_recognisable_by_its_role() -> None:
    call = parse_file("terminate-session-by-warden.json")

    assert call.principal.role is not None
    assert call.principal.role.startswith("session-warden-")
    assert call.session_id == parse_file("start-session-assumed-role.json").session_id
    assert call.console is False


def test_account_falls_back_to_the_envelope_then_to_the_caller() -> None:
    # GIVEN the 1.05 record, which carries no recipientAccountId
    event = load_event(EVENTS_DIR / "start-session-legacy-1.05.json")
    assert "recipientAccountId" not in event["detail"]

    # WHEN parsed with and without its envelope THEN the account is still known
    assert parse_session_event(event).account == "123456789012"
    assert parse_session_event(event["detail"]).account == "123456789012"

    event["account"] = "111122223333"
    assert parse_session_event(event).account == "111122223333"
    event["detail"]["recipientAccountId"] = "123456789012"
    assert parse_session_event(event).account == "123456789012"


def test_region_falls_back_to_the_envelope() -> None:
    event = load_event(EVENTS_DIR / "start-session-iam-user.json")
    del event["detail"]["awsRegion"]
    event["region"] = "eu-west-1"

    assert parse_session_event(event).region == "eu-west-1"


def test_a_bare_record_without_a_region_is_malformed() -> None:
    record = load_event(EVENTS_DIR / "start-session-iam-user.json")["detail"]
    del record["awsRegion"]

    with pytest.raises(MalformedEvent, match=r"^awsRegion: missing$"):
        parse_session_event(record)


@pytest.mark.parametrize(
    ("event_time", "expected"),
    [
        ("2026-11-16T08:14:03Z", datetime(2026, 11, 16, 8, 14, 3, tzinfo=UTC)),
        ("2026-11-16T08:14:03.250Z", datetime(2026, 11, 16, 8, 14, 3, 250000, tzinfo=UTC)),
        ("2026-11-16T09:14:03+01:00", datetime(2026, 11, 16, 8, 14, 3, tzinfo=UTC)),
        ("2026-11-16T08:14:03", datetime(2026, 11, 16, 8, 14, 3, tzinfo=UTC)),
    ],
)
def test_event_time_is_aware_utc(event_time: str, expected: datetime) -> None:
    event = load_event(EVENTS_DIR / "start-session-iam-user.json")
    event["detail"]["eventTime"] = event_time

    call = parse_session_event(event)

    assert call.event_time == expected
    offset = call.event_time.utcoffset()
    assert offset is not None
    assert offset.total_seconds() == 0


def test_session_ids_are_opaque() -> None:
    # GIVEN a session id in a format nobody has seen yet WHEN parsed THEN it is kept verbatim
    event = load_event(EVENTS_DIR / "terminate-session.json")
    event["detail"]["requestParameters"]["sessionId"] = "Some.Name_With-Odd@chars-ABC/123"

    assert parse_session_event(event).session_id == "Some.Name_With-Odd@chars-ABC/123"


def test_call_serialises_to_json_without_losing_the_principal() -> None:
    call = parse_file("start-session-identity-center.json")

    dumped: dict[str, Any] = json.loads(call.model_dump_json())

    assert dumped["principal"]["user"] == "carol@example.com"
    assert dumped["event_time"] == "2026-11-16T09:02:31Z"
    assert SessionApiCall.model_validate_json(call.model_dump_json()) == call


def test_call_is_immutable() -> None:
    call = parse_file("start-session-iam-user.json")

    with pytest.raises(ValueError, match="frozen"):
        call.target = "i-0ffffffffffffffff"  # type: ignore[misc]


def test_parsing_does_not_mutate_the_input() -> None:
    event = load_event(EVENTS_DIR / "start-session-port-forwarding.json")
    before = copy.deepcopy(event)

    parse_session_event(event)

    assert event == before


def test_parameters_hidden_by_cloudtrail_parse_as_unknown() -> None:
    # GIVEN a remote-host tunnel whose parameters CloudTrail recorded as HIDDEN_DUE_TO_SECURITY_REASONS
    event = load_event(EVENTS_DIR / "start-session-parameters-hidden.json")
    assert event["detail"]["requestParameters"]["parameters"] == "HIDDEN_DUE_TO_SECURITY_REASONS"

    # WHEN parsed, with or without its envelope
    for shape in (event, event["detail"]):
        call = parse_session_event(shape)

        # THEN the session is known, its parameters and remote host are not
        assert call.session_id == "erin@example.com-b995vhdkvq95xlytlfmkxxglfv"
        assert call.document == "AWS-StartPortForwardingSessionToRemoteHost"
        assert call.parameters_hidden is True
        assert call.document_parameters is None
        assert call.remote_host is None


def test_absent_parameters_are_not_hidden_ones() -> None:
    call = parse_file("start-session-iam-user.json")

    assert call.document_parameters is None
    assert call.parameters_hidden is False


@pytest.mark.parametrize(
    "document",
    [
        "arn:aws:ssm:us-east-1:999988887777:document/Shared-Shell",
        "arn:aws:ssm:eu-central-1::document/AWS-StartPortForwardingSession",
        "arn:aws:ssm:eu-central-1:123456789012:document/SSM-SessionManagerRunShell",
        "Shared-Shell",
    ],
)
def test_document_is_kept_exactly_as_given(document: str) -> None:
    # GIVEN a StartSession naming its document by name or by ARN (another account's, AWS's, our own)
    event = load_event(EVENTS_DIR / "start-session-assumed-role.json")
    event["detail"]["requestParameters"]["documentName"] = document

    # WHEN parsed THEN the document is the text given, never shortened to the name after "document/"
    assert parse_session_event(event).document == document


def test_whitespace_document_name_means_the_default_shell() -> None:
    event = load_event(EVENTS_DIR / "start-session-assumed-role.json")
    event["detail"]["requestParameters"]["documentName"] = "  "

    assert parse_session_event(event).document == RUN_SHELL


def test_remote_host_is_the_host_parameter_and_stays_out_of_repr() -> None:
    call = parse_file("start-session-remote-host.json")

    assert call.remote_host == "orders-db.dev.internal"
    assert call.document_parameters is not None
    assert call.document_parameters["host"] == ["orders-db.dev.internal"]
    assert "orders-db" not in repr(call)


@pytest.mark.parametrize(
    "host",
    [
        ["a.dev.internal", "evil.example.net"],  # two hosts: which one the agent would use is not ours to guess
        [],
        [""],
        [5432],
        "orders-db.dev.internal",  # not the list the API takes
        "HIDDEN_DUE_TO_SECURITY_REASONS",
        None,
        {"name": "orders-db.dev.internal"},
    ],
    ids=["two", "empty-list", "empty-string", "number", "bare-string", "hidden", "null", "object"],
)
def test_a_host_parameter_that_is_not_exactly_one_name_is_unknown(host: object) -> None:
    # GIVEN a remote-host tunnel whose host parameter is odd
    event = load_event(EVENTS_DIR / "start-session-remote-host.json")
    event["detail"]["requestParameters"]["parameters"]["host"] = host

    # WHEN parsed THEN it parses, and the remote host is unknown (None), not a guess
    call = parse_session_event(event)
    assert call.remote_host is None
    assert call.parameters_hidden is False


@pytest.mark.parametrize(
    ("host", "seen"),
    [
        ("orders-db.dev.internal", "orders-db.dev.internal"),
        ("ORDERS-DB.Dev.Internal", "orders-db.dev.internal"),  # DNS is case-insensitive; globs are not
        ("orders-db.dev.internal.", "orders-db.dev.internal"),  # the same name, fully qualified
        ("localhost", "localhost"),
        ("10.0.12.7", "10.0.12.7"),
        ("FD00::1", "fd00::1"),
        ("fd00:0:0:0:0:0:0:1", "fd00::1"),
        ("::ffff:10.0.12.7", "10.0.12.7"),  # an IPv4-mapped IPv6 address reaches the IPv4 host
        ("010.000.012.007", None),  # read as octal by some resolvers
        ("0x0a000c07", None),  # inet_aton reads this as 10.0.12.7
        ("10.3079", None),
        ("167775239", None),
        ("[fd00::1]", None),
        ("db.dev.internal:5432", None),
        ("db .dev.internal", None),
        ("evil.example.net/.dev.internal", None),
        ("-db.dev.internal", None),
        ("db..dev.internal", None),
        ("", None),
        ("a" * 64 + ".dev.internal", None),
    ],
)
def test_remote_host_is_read_as_a_resolver_reads_it_or_is_unknown(host: str, seen: str | None) -> None:
    # GIVEN a remote-host tunnel to a host spelled one way or another
    event = load_event(EVENTS_DIR / "start-session-remote-host.json")
    event["detail"]["requestParameters"]["parameters"]["host"] = [host]

    # WHEN parsed THEN the remote host is the one name or address it reaches, or unknown; the raw text is kept
    call = parse_session_event(event)
    assert call.remote_host == seen
    assert call.document_parameters is not None
    assert call.document_parameters["host"] == [host]


def test_a_session_without_host_parameter_has_no_remote_host() -> None:
    assert parse_file("start-session-port-forwarding.json").remote_host is None


def test_resume_names_only_its_session() -> None:
    # GIVEN the plugin reconnecting a remote-host tunnel WHEN parsed
    call = parse_file("resume-session-remote-host.json")
    started = parse_file("start-session-remote-host.json")

    # THEN it names the tunnel's session and nothing else: target, document and parameters come from the session
    assert call.session_id == started.session_id
    assert call.principal == started.principal
    assert (call.target, call.document_parameters, call.remote_host, call.reason) == (None, None, None, None)


def test_an_email_like_session_name_of_an_ordinary_role_is_not_an_identity_center_session() -> None:
    principal = parse_file("start-session-email-session-name.json").principal

    assert principal.role == "OktaEngineers"
    assert principal.role_arn == "arn:aws:iam::123456789012:role/OktaEngineers"
    assert "/aws-reserved/" not in principal.role_arn


def test_identity_center_role_at_the_region_less_path_keeps_its_path() -> None:
    principal = parse_file("start-session-remote-host.json").principal

    assert principal.role_arn == (
        "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Developer_7e6f5a4b3c2d1e0f"
    )


def test_a_web_identity_user_is_never_reachable_by_a_user_or_role_pattern() -> None:
    # A web identity's user name is chosen by its identity provider, not vouched for by AWS (SPEC section 2)
    principal = parse_file("start-session-web-identity-user-type.json").principal

    assert not principal.matches("user:*")
    assert not principal.matches("role:*")
    assert principal.account is None


IDENTITY_TYPES = [
    "IAMUser",
    "AssumedRole",
    "FederatedUser",
    "Root",
    "AWSService",
    "AWSAccount",
    "IdentityCenterUser",
    "WebIdentityUser",
    "SAMLUser",
    "Directory",
    "Unknown",
    "SomeTypeFromTheFuture",
]

ODD_FIELDS: list[dict[str, Any]] = [
    {},
    {"arn": 42, "accountId": ["123456789012"], "userName": {"x": 1}, "principalId": None},
    {"arn": "", "accountId": "", "userName": ""},
    {"arn": "not-an-arn", "sessionContext": "none", "invokedBy": 7},
    {"arn": "arn:aws:sts::123456789012:assumed-role/", "sessionContext": {"sessionIssuer": []}},
    {"arn": "arn:aws:sts::123456789012:federated-user/", "principalId": "123456789012:"},
    {"onBehalfOf": "someone", "identityProvider": ["accounts.google.com"], "credentialId": 1},
]


@pytest.mark.parametrize("identity_type", [*IDENTITY_TYPES, None, 7])
@pytest.mark.parametrize("fields", ODD_FIELDS, ids=[f"odd{index}" for index in range(len(ODD_FIELDS))])
def test_every_user_identity_type_parses_or_is_malformed_never_a_crash(
    identity_type: object, fields: dict[str, Any]
) -> None:
    # GIVEN a StartSession whose userIdentity is of any type, with fields missing or of odd types
    event = load_event(EVENTS_DIR / "start-session-iam-user.json")
    event["detail"]["userIdentity"] = {"type": identity_type, **fields}

    # WHEN parsed THEN it is a call with the principal principal_from_identity builds, or, if that cannot build
    # one, a MalformedEvent naming userIdentity: never another exception
    identity = event["detail"]["userIdentity"]
    try:
        expected: Principal | None = principal_from_identity(identity)
    except (ValueError, TypeError):
        expected = None
    if expected is None:
        with pytest.raises(MalformedEvent, match=r"^detail\.userIdentity: "):
            parse_session_event(event)
    else:
        call = parse_session_event(event)
        assert call.principal == expected
        assert call.session_id == "alice-nnzv8ua8ma98x8p93wqco3z5h5"


@pytest.mark.parametrize("identity_type", ["SomeTypeFromTheFuture", None, 7])
def test_an_unknown_identity_type_is_an_unknown_principal_no_user_or_role_pattern_matches(
    identity_type: object,
) -> None:
    # GIVEN an identity of a type nobody models, which still names a user and a role ARN
    event = load_event(EVENTS_DIR / "start-session-assumed-role.json")
    event["detail"]["userIdentity"]["type"] = identity_type

    # WHEN parsed THEN it fails closed: an Unknown principal that only arn:/account:/* patterns can match
    principal = parse_session_event(event).principal
    assert principal.kind == "Unknown"
    assert not principal.matches("user:*")
    assert not principal.matches("role:*")
    assert principal.matches("account:123456789012")
