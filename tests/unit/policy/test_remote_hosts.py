"""The host a tunnel reaches: the one the agent dials, matched by hosts that stay within DNS labels or CIDR blocks."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from warden.policy import (
    PolicyError,
    SessionType,
    aws_document_session_type,
    decide,
    session_target_from_content,
    session_type_from_content,
)

from .support import policy, request

# AWS-StartPortForwardingSessionToRemoteHost as GetDocument returns it (the parameters' descriptions and
# allowed patterns left out): the agent dials properties.host, which is the session's host parameter.
AWS_REMOTE_HOST = {
    "schemaVersion": "1.0",
    "description": "Document to start port forwarding session over Session Manager to a remote host",
    "sessionType": "Port",
    "parameters": {
        "portNumber": {"type": "String", "default": "80"},
        "localPortNumber": {"type": "String", "default": "0"},
        "host": {"type": "String", "description": "(Required) The IP address or DNS name of the remote host"},
    },
    "properties": {
        "portNumber": "{{ portNumber }}",
        "type": "LocalPortForwarding",
        "localPortNumber": "{{ localPortNumber }}",
        "host": "{{ host }}",
    },
}
# A document with a decoy: a "host" parameter the warden used to read, and the host the agent really dials.
DECOY = {
    "schemaVersion": "1.0",
    "sessionType": "Port",
    "parameters": {"host": {"type": "String"}, "realHost": {"type": "String"}, "portNumber": {"type": "String"}},
    "properties": {"host": "{{ realHost }}", "portNumber": "{{ portNumber }}", "type": "LocalPortForwarding"},
}
DEV_TUNNELS = """\
rules:
  - name: dev-tunnels
    session_types: [remote-port]
    hosts: ["*.dev.internal"]
"""


def port_document(properties: dict[str, Any], parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Port session document with these properties (and declared parameters)."""
    return {"schemaVersion": "1.0", "sessionType": "Port", "parameters": parameters or {}, "properties": properties}


def allowed(body: str, session_type: SessionType | None, host: str | None) -> bool:
    """Whether a session of that type to that host is allowed by the policy ``body``."""
    session = replace(request(document="Custom-Tunnel"), session_type=session_type, host=host)
    return decide(policy(body), session, [], session.started).allowed


def test_the_aws_remote_host_document_dials_the_host_parameter() -> None:
    # GIVEN AWS's remote-host document and a session naming a host WHEN read THEN that host, canonical
    target = session_target_from_content(AWS_REMOTE_HOST, {"host": ["Orders-DB.dev.internal."], "portNumber": ["5432"]})
    assert target == ("remote-port", "orders-db.dev.internal")


def test_a_decoy_host_parameter_is_not_the_host_the_agent_dials() -> None:
    # GIVEN a document whose properties.host is {{ realHost }} and a session with a harmless "host" parameter
    parameters = {"host": ["db.dev.internal"], "realHost": ["prod-db.internal"], "portNumber": ["5432"]}

    # WHEN read THEN the host is realHost's value, and a rule limited to dev hosts does not allow the tunnel
    session_type, host = session_target_from_content(DECOY, parameters)
    assert (session_type, host) == ("remote-port", "prod-db.internal")
    assert allowed(DEV_TUNNELS, session_type, host) is False


@pytest.mark.parametrize("key", ["Host", "HOST", "hOsT", "ho\u017ft"])
def test_a_host_property_in_any_case_is_a_remote_tunnel(key: str) -> None:
    # GIVEN a Port document whose host property is spelled as Go's encoding/json still reads as "host"
    content = port_document(
        {key: "{{ dest }}", "portNumber": "{{ portNumber }}", "type": "LocalPortForwarding"},
        {"dest": {"type": "String"}, "portNumber": {"type": "String"}},
    )

    # WHEN read THEN it is a tunnel to the host it names, never a local port session
    assert session_target_from_content(content, {"dest": ["db.prod.internal"]}) == ("remote-port", "db.prod.internal")
    assert session_type_from_content(content) == "remote-port"
    assert (
        allowed("rules:\n  - {name: local-only, session_types: [port]}\n", "remote-port", "db.prod.internal") is False
    )


def test_two_host_properties_make_the_type_unknown() -> None:
    # GIVEN "host" and "Host" (which one the agent takes depends on the order it decodes them)
    content = port_document({"host": "db.dev.internal", "Host": "db.prod.internal"})

    # WHEN read THEN the session type is unknown: allow rules naming types do not hold
    assert session_target_from_content(content, None) == (None, None)
    assert session_type_from_content(content) is None


def test_a_host_parameter_without_a_host_property_is_a_local_port_session() -> None:
    # GIVEN a Port document with a "host" parameter that its properties never use
    content = port_document({"portNumber": "{{ portNumber }}"}, {"host": {"type": "String"}})

    # WHEN read THEN it forwards to a port on the target itself
    assert session_target_from_content(content, {"host": ["db.prod.internal"]}) == ("port", None)


@pytest.mark.parametrize(
    ("host_property", "declared", "parameters", "expected"),
    [
        pytest.param("db.prod.internal", {}, None, "db.prod.internal", id="a literal"),
        pytest.param("DB.Prod.Internal.", {}, None, "db.prod.internal", id="a literal, canonical"),
        pytest.param("10.0.1.5", {}, None, "10.0.1.5", id="a literal address"),
        pytest.param(
            "{{host}}", {"host": {"type": "String"}}, {"host": ["a.dev.internal"]}, "a.dev.internal", id="tight"
        ),
        pytest.param(
            "{{ host }}",
            {"host": {"type": "String", "default": "db.dev.internal"}},
            None,
            "db.dev.internal",
            id="the declared default when the session gives no parameters",
        ),
        pytest.param(
            "{{ host }}",
            {"host": {"type": "String", "default": "db.dev.internal"}},
            {"portNumber": ["5432"]},
            "db.dev.internal",
            id="the declared default when the session gives other parameters",
        ),
        pytest.param(
            "{{ host }}",
            {"host": {"type": "String", "default": "db.dev.internal"}},
            {"host": ["db.prod.internal"]},
            "db.prod.internal",
            id="the session's value before the default",
        ),
        pytest.param("{{ host }}", {"host": {"type": "String"}}, None, None, id="no value, no default"),
        pytest.param("{{ host }}", {"host": {"type": "String"}}, {"host": ["a", "b"]}, None, id="two values"),
        pytest.param("{{ host }}", {"host": {"type": "String"}}, {"host": []}, None, id="no value in the list"),
        pytest.param("{{ host }}", {"host": {"type": "String"}}, {"host": [5]}, None, id="not a string"),
        pytest.param("{{ host }}", {"host": {"type": "String"}}, {"host": ["0x0a000105"]}, None, id="not canonical"),
        pytest.param("db-{{ n }}.dev.internal", {"n": {"type": "String"}}, {"n": ["1"]}, None, id="partial template"),
        pytest.param("{{ a }}{{ b }}", {}, {"a": ["x"], "b": ["y"]}, None, id="several placeholders"),
        pytest.param("{{ssm:/tunnels/host}}", {}, None, None, id="a parameter store reference"),
        pytest.param("", {}, None, None, id="empty"),
        pytest.param(["db.dev.internal"], {}, None, None, id="not a string property"),
    ],
)
def test_the_host_is_a_literal_or_one_parameter_else_unknown(
    host_property: Any, declared: dict[str, Any], parameters: dict[str, Any] | None, expected: str | None
) -> None:
    content = port_document({"host": host_property, "portNumber": "5432"}, declared)
    assert session_target_from_content(content, parameters) == ("remote-port", expected)


def test_hidden_parameters_leave_the_host_unknown_never_the_default() -> None:
    # GIVEN a document whose host defaults to a dev host, and a session whose parameters CloudTrail hid
    content = port_document({"host": "{{ host }}"}, {"host": {"type": "String", "default": "db.dev.internal"}})

    # WHEN read THEN the host is unknown: the session may have named any host
    assert session_target_from_content(content, None, parameters_hidden=True) == ("remote-port", None)
    assert session_target_from_content(content, "HIDDEN_DUE_TO_SECURITY_REASONS") == ("remote-port", None)  # type: ignore[arg-type]
    # AND a literal host stays known: it does not come from the parameters
    literal = port_document({"host": "db.dev.internal"})
    assert session_target_from_content(literal, None, parameters_hidden=True) == ("remote-port", "db.dev.internal")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ({"sessionType": "Standard_Stream"}, ("shell", None)),
        ({"sessionType": "InteractiveCommands", "properties": {"host": "x.dev.internal"}}, ("command", None)),
        ({"sessionType": "Teleport"}, (None, None)),
        ({"sessionType": "Port", "properties": ["host"]}, ("port", None)),
        ("not a mapping", (None, None)),
    ],
)
def test_other_documents_have_no_host(content: Any, expected: tuple[SessionType | None, str | None]) -> None:
    assert session_target_from_content(content, {"host": ["db.dev.internal"]}) == expected


def test_the_aws_ssh_document_is_a_shell_so_a_port_rule_does_not_allow_it() -> None:
    # GIVEN a rule that allows local port tunnels only
    body = "rules:\n  - {name: tunnels, session_types: [port]}\n"

    # WHEN AWS-StartSSHSession is judged THEN it is a shell (SSH gives one), not allowed by the port rule
    assert aws_document_session_type("AWS-StartSSHSession") == "shell"
    session = request(document="AWS-StartSSHSession")
    assert decide(policy(body), session, [], session.started).allowed is False


@pytest.mark.parametrize(
    ("entry", "host", "matches"),
    [
        ("*.dev.internal", "a.dev.internal", True),
        ("*.dev.internal", "a.b.dev.internal", True),  # a leading "*." is one or more labels
        ("*.dev.internal", "dev.internal", False),
        ("*.dev.internal", "a.dev.internal.attacker.example", False),
        ("db-*", "db-1", True),
        ("db-*", "db-x.attacker.example", False),
        ("db-?.dev.internal", "db-1.dev.internal", True),
        ("db-?.dev.internal", "db-.x.dev.internal", False),
        ("db*.dev.internal", "db.dev.internal", True),
        ("db.*.internal", "db.dev.internal", True),
        ("db.*.internal", "db.a.b.internal", False),
        ("DB.Dev.Internal", "db.dev.internal", True),
        ("db.dev.internal.", "db.dev.internal", True),
        ("*", "db.dev.internal", True),
        ("*", "10.9.9.9", True),
        ("*.internal", "fd00::1", False),
        ("10.0.1.0/24", "10.0.1.7", True),
        ("10.0.1.0/24", "10.0.2.7", False),
        ("10.0.1.0/24", "10.0.1.7.nip.io", False),
        ("10.0.1.0/24", "::ffff:10.0.1.7", True),  # canonical: the IPv4 host it reaches
        ("10.0.1.5", "10.0.1.5", True),
        ("10.0.1.5", "10.0.1.6", False),
        ("fd00::/64", "FD00::1", True),
        ("fd00::/64", "fd01::1", False),
        ("fd00::/64", "10.0.1.7", False),
        ("fd00::1", "fd00:0:0:0:0:0:0:1", True),
    ],
)
def test_hosts_globs_stay_within_labels_and_cidr_matches_addresses(entry: str, host: str, matches: bool) -> None:
    body = f"rules:\n  - {{name: r, session_types: [remote-port], hosts: ['{entry}']}}\n"
    assert allowed(body, "remote-port", host) is matches


@pytest.mark.parametrize("host", ["10.0.1.x.10.9.9.9.nip.io", "db-x.attacker.example", "0x0a000105", "10.0.1.5:22"])
def test_an_attacker_name_never_passes_an_allow_list_and_is_denied_by_a_deny_list(host: str) -> None:
    # GIVEN an allow list of a subnet and a name prefix (as it must now be written), and a deny list
    allow = "rules:\n  - {name: r, session_types: [remote-port], hosts: ['10.0.1.0/24', 'db-*']}\n"
    deny = "rules:\n  - {name: d, effect: deny, session_types: [remote-port], hosts: ['10.0.1.0/24']}\n  - {name: a}\n"

    # WHEN a tunnel names a host an attacker controls or no resolver reads one way THEN no allow rule holds
    assert allowed(allow, "remote-port", host) is False
    # AND a deny rule with hosts still applies to a host that is unknown (fails closed); a real name it does not list passes
    assert allowed(deny, "remote-port", host) is (host in ("10.0.1.x.10.9.9.9.nip.io", "db-x.attacker.example"))


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("10.0.1.*", "write an address block such as 10.0.1.0/24"),
        ("10.*", "write an address block"),
        ("1?.0.0.1", "write an address block"),
        ("10.0.1.5/24", "is not an address block"),
        ("10.0.1.0/33", "is not an address block"),
        ("fd00::*", "is not an address block"),
        ("db.dev.internal:5432", "is not an address block"),
        ("db_1.dev.internal", "is no DNS name glob"),
        ("[fd00::1]", "is not an address block"),
    ],
)
def test_policy_validation_rejects_address_globs_and_bad_hosts(entry: str, message: str) -> None:
    with pytest.raises(PolicyError) as raised:
        policy(f"rules:\n  - {{name: r, session_types: [remote-port], hosts: ['{entry}']}}\n")
    assert any(message in issue.message for issue in raised.value.issues), raised.value.issues
    assert any(issue.path == "rules[0].hosts[0]" for issue in raised.value.issues), raised.value.issues


@pytest.mark.parametrize("entry", ["10.0.1.0/24", "fd00::/64", "10.0.1.5", "*", "*.dev.internal", "db-?", "localhost"])
def test_policy_validation_accepts_cidr_addresses_and_name_globs(entry: str) -> None:
    loaded = policy(f"rules:\n  - {{name: r, session_types: [remote-port], hosts: ['{entry}']}}\n")
    assert loaded.rules[0].hosts == (entry,)


def test_a_hosts_glob_of_many_stars_against_the_longest_host_is_decided() -> None:
    # GIVEN a hosts glob that a backtracking translation would take long on, and the longest names a host can be
    body = "rules:\n  - {name: r, session_types: [remote-port], hosts: ['*.*a*a*a*a*a*a*a*a*b.internal']}\n"
    longest = ".".join(["a" * 61] * 3 + ["a" * 50]) + ".internal"
    assert len(longest) <= 253

    # WHEN decided THEN no match without a 'b', a match once the last label before .internal ends with one
    assert allowed(body, "remote-port", longest) is False
    assert allowed(body, "remote-port", longest.replace("a.internal", "b.internal")) is True
