"""`warden local ...` failing as a newcomer meets it: a port in use, a time without an offset, no local cloud."""

from __future__ import annotations

import socket

from tests.cli.conftest import run_warden


def test_a_port_in_use_is_one_error_line_that_suggests_another_port() -> None:
    # GIVEN something already listens on a loopback port
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # WHEN the local cloud is asked to serve there
        result = run_warden("local", "up", "--port", str(port))
    # THEN one line says so and names --port
    assert result.code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"warden: error: --port: cannot serve on 127.0.0.1:{port}")
    assert f"--port {port + 1}" in lines[0] and "--port 0" in lines[0]


def test_at_without_an_offset_is_refused_before_anything_starts() -> None:
    result = run_warden("local", "up", "--at", "2026-11-24T09:00:00")
    assert result.code == 2
    assert result.stderr.startswith("warden: error: --at")
    assert len(result.stderr.splitlines()) == 1


def test_a_bad_port_variable_is_named() -> None:
    result = run_warden("local", "up", extra_env={"WARDEN_LOCAL_PORT": "http"})
    assert (result.code, result.stderr) == (2, "warden: error: WARDEN_LOCAL_PORT='http' is not a TCP port\n")


def test_people_commands_need_a_running_local_cloud() -> None:
    for args in (["user", "bob"], ["sso", "alice@example.com", "--permission-set", "Analyst"], ["alerts"]):
        result = run_warden("local", *args)
        assert result.code == 2, args
        assert result.stderr.startswith("warden: error: AWS_ENDPOINT_URL is not set"), result.stderr
