"""`warden local up|advance|clock|end-session`: run the embedded local cloud and drive its clock."""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from warden_cli.errors import EXIT_BAD_INPUT, EXIT_DENIED, EXIT_OK, CliError

DEFAULT_PORT = 4566
PORT_VARIABLE = "WARDEN_LOCAL_PORT"  # the default for --port
ADVANCE_STEP = timedelta(minutes=10)  # `warden local advance` reports progress at least this often
EXAMPLE_POLICY = Path(__file__).resolve().parents[2] / "policies" / "example.yaml"
_ENV = "AWS_ENDPOINT_URL"
_HOW_TO_START = "start it with `warden local up` and export AWS_ENDPOINT_URL=http://127.0.0.1:4566"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("local", help="run the embedded local cloud and move its emulated clock")
    commands = parser.add_subparsers(dest="local_command", metavar="COMMAND", required=True)

    up = commands.add_parser(
        "up",
        help="run the local cloud in the foreground (stack created, policy in force) until Ctrl-C",
        description="Serve moto on 127.0.0.1 with the Session Manager APIs, the stack from template.yaml and its "
        "handlers. Prints `ready http://127.0.0.1:PORT` once it serves.",
    )
    up.add_argument(
        "--port",
        type=int,
        help=f"TCP port on 127.0.0.1, 0 for any free one (default: {PORT_VARIABLE}, else {DEFAULT_PORT})",
    )
    up.add_argument(
        "--background",
        action="store_true",
        help="start it detached; once it serves, print the environment to use it (eval-able) and how to stop it",
    )
    up.add_argument("--policy", metavar="FILE", help="policy to put in force (default: policies/example.yaml)")
    up.add_argument("--at", metavar="ISO", help="where the clock starts, e.g. 2026-11-24T08:00:00Z (default: now)")
    up.add_argument("-v", "--verbose", action="store_true", help="print a line on stderr for each handler run")
    up.add_argument(
        "--org",
        action="store_true",
        help="emulate an AWS Organization: a management, a central and three member accounts in OUs, in us-east-1 "
        "and eu-west-1; the stack deploys in organization mode in the central account",
    )
    up.set_defaults(handler=up_command)

    advance = commands.add_parser(
        "advance", help="move the emulated clock forward, firing every scheduled rule that falls due"
    )
    advance.add_argument("duration", metavar="DURATION", help="how far: 30s, 10m, 2h, 1h30m, 1d")
    # `-1h` is a (negative) duration, not an option: refused by advance_command with a clear reason.
    advance._negative_number_matcher = re.compile(r"^-\d")
    advance.add_argument("--json", action="store_true", help='print {"now", "fired"} as JSON')
    advance.set_defaults(handler=advance_command)

    clock = commands.add_parser("clock", help="print the emulated clock")
    clock.set_defaults(handler=clock_command)

    end = commands.add_parser(
        "end-session", help="end a session the way `exit` or an idle timeout does: no API call, no event"
    )
    end.add_argument("session_id", metavar="ID", help="the session id")
    end.add_argument("--account", metavar="ID", help="the account of the session (`local up --org`; default: central)")
    end.add_argument("--region", metavar="REGION", help="the region of the session (with --account; default: home)")
    end.set_defaults(handler=end_session_command)

    from warden_cli import local_try

    local_try.register(commands)


# --- warden local up -------------------------------------------------------------------------------------------------


def up_command(args: argparse.Namespace) -> int:
    start_at = _parse_at(args.at) if args.at else None
    policy = _read_policy(args.policy)
    args.port = _port(args.port)
    _check_port_free(args.port)
    if args.background:
        return _up_in_background(args)

    from warden_cli.local_try import ALERTS_QUEUE
    from warden_local import LocalCloud, LocalCloudError
    from warden_local.inbox import Inbox

    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    cloud = LocalCloud(port=args.port, start_at=start_at, frozen=False, policy=policy, organization=args.org)
    try:
        try:
            cloud.start()
        except OSError as error:
            raise CliError(_port_in_use(args.port, error), code=EXIT_DENIED) from None
        except LocalCloudError as error:
            raise CliError(f"the local cloud did not start: {error}", code=EXIT_DENIED) from None
        Inbox(cloud, queue_name=ALERTS_QUEUE)  # what `warden local alerts` reads
        print(f"ready {cloud.endpoint}", flush=True)
        print(
            f"export AWS_ENDPOINT_URL={cloud.endpoint} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing "
            f"AWS_DEFAULT_REGION={cloud.region}",
            flush=True,
        )
        if cloud.org is not None:
            accounts = ", ".join(f"{a.id} {a.name} ({a.ou_path or 'root'})" for a in cloud.org.accounts())
            print(
                f"organization {cloud.org.organization_id}, regions {', '.join(cloud.org.regions)}: {accounts}",
                file=sys.stderr,
                flush=True,
            )
        print(
            f"stack {cloud.stack_name} created in {cloud.start_seconds or 0:.1f}s; clock {_iso(cloud.clock.now())} "
            "(ticking); Ctrl-C stops",
            file=sys.stderr,
            flush=True,
        )
        shown = 0
        while not stop.wait(0.5):
            if args.verbose:
                shown = _print_invocations(cloud.invocations, shown)
    finally:
        cloud.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("stopped", file=sys.stderr, flush=True)
    return EXIT_OK


def _port(value: int | None) -> int:
    if value is None:
        text = os.environ.get(PORT_VARIABLE, "").strip()
        if not text:
            return DEFAULT_PORT
        try:
            value = int(text)
        except ValueError:
            raise CliError(f"{PORT_VARIABLE}={text!r} is not a TCP port") from None
    if not 0 <= value < 65536:
        raise CliError(f"--port: {value} is not a TCP port")
    return value


def _check_port_free(port: int) -> None:
    """Refuse a port in use before the server tries it (the server would print its own lines and exit)."""
    import socket

    if port == 0:
        return
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            raise CliError(_port_in_use(port, error), code=EXIT_DENIED) from None


def _port_in_use(port: int, error: OSError) -> str:
    return (
        f"--port: cannot serve on 127.0.0.1:{port} ({error.strerror or error}); is another local cloud running? "
        f"Pick another port: --port {port + 1} (or --port 0 for any free one)"
    )


def _up_in_background(args: argparse.Namespace) -> int:
    """Run `warden local up` detached, its output in a log file; print the environment once it serves."""
    command = [sys.executable, "-m", "warden_cli.main", "local", "up", "--port", str(args.port)]
    for option, value in (("--policy", args.policy), ("--at", args.at)):
        if value:
            command += [option, value]
    if args.verbose:
        command.append("--verbose")
    if args.org:
        command.append("--org")
    handle, log = tempfile.mkstemp(prefix="warden-local-", suffix=".log")
    with os.fdopen(handle, "w") as output:
        process = subprocess.Popen(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C in this shell does not stop it
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        lines = Path(log).read_text(encoding="utf-8", errors="replace").splitlines()
        export = next((line for line in lines if line.startswith("export AWS_ENDPOINT_URL=")), None)
        if export is not None:
            print(f"{export} WARDEN_LOCAL_PID={process.pid}")
            print(
                f"local cloud running in the background (pid {process.pid}, log {log}); "
                'stop it with: kill "$WARDEN_LOCAL_PID"',
                file=sys.stderr,
            )
            return EXIT_OK
        if process.poll() is not None:
            problem = next((line for line in reversed(lines) if line.startswith("warden: error: ")), None)
            raise CliError(
                problem.removeprefix("warden: error: ") if problem else f"the local cloud stopped; see {log}",
                code=EXIT_DENIED,
            )
        time.sleep(0.2)
    process.terminate()
    raise CliError(f"the local cloud did not serve within 300 s; see {log}", code=EXIT_DENIED)


def _print_invocations(invocations: list[Any], shown: int) -> int:
    for record in invocations[shown:]:
        outcome = "ok" if record.ok else f"error {record.error_type}: {record.error}"
        print(f"{_iso(record.at)}  {record.function_name}  {record.detail_type or '-'}  {outcome}", file=sys.stderr)
    return len(invocations)


def _parse_at(text: str) -> datetime:
    from warden_cli.inputs import parse_time

    return parse_time(text, option="--at")


def _read_policy(path: str | None) -> str | None:
    if path is None:
        return EXAMPLE_POLICY.read_text(encoding="utf-8") if EXAMPLE_POLICY.is_file() else None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise CliError(f"--policy: cannot read {path}: {error.strerror or error}") from None
    issues = _policy_issues(path)
    if issues:
        raise CliError(f"--policy: {path} is not a valid policy: {issues[0]}")
    return text


def _policy_issues(path: str) -> tuple[str, ...]:
    # The same checks as `warden policy validate`, when that command is installed.
    try:
        from warden_cli.policy import load_file
    except ImportError:
        return ()
    _, _, issues = load_file(path)
    return tuple(str(issue) for issue in issues)


# --- commands against a running local cloud ---------------------------------------------------------------------------


def advance_command(args: argparse.Namespace) -> int:
    from warden.policy import parse_duration

    if args.duration.strip().startswith("-"):
        raise CliError(f"DURATION: {args.duration!r}: a duration cannot be negative (the clock only moves forward)")
    try:
        parse_duration(args.duration)
    except ValueError as error:
        raise CliError(f"DURATION: {error}") from None
    total = parse_duration(args.duration)
    fired, ended = 0, 0
    open_sessions = _open_sessions(args)
    left = total
    result: dict[str, Any] = {}
    while True:
        step = min(left, ADVANCE_STEP)
        left -= step
        result = control(args, "POST", "advance", {"duration": f"{int(step.total_seconds())}s"})
        fired += int(result["fired"])
        still_open = _open_sessions(args)
        just_ended = sorted(open_sessions - still_open) if open_sessions is not None and still_open is not None else []
        ended += len(just_ended)
        open_sessions = still_open
        if not args.json and total > ADVANCE_STEP:
            gone = f": {', '.join(just_ended)}" if just_ended else ""
            print(
                f"  {result['now']}  {_count(fired, 'sweep')} so far, {_count(len(just_ended), 'session')} ended{gone}",
                file=sys.stderr,
                flush=True,
            )
        if left <= timedelta(0):
            break
    if args.json:
        print(json.dumps({"now": result["now"], "fired": fired, "sessions_ended": ended}))
    else:
        print(f"{result['now']}  fired {_count(fired, 'scheduled run')}")
        if open_sessions is not None:
            print(f"{_count(ended, 'session')} ended, {len(open_sessions)} open", file=sys.stderr)
    return EXIT_OK


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _open_sessions(args: argparse.Namespace) -> set[str] | None:
    """The ids of the sessions the local cloud has open, or None when they cannot be read (no credentials)."""
    from warden_cli.aws import Aws, connection_of

    try:
        ssm = Aws(profile=None, region=None, stack="-", connection=connection_of(args)).client("ssm")
        found: set[str] = set()
        request: dict[str, Any] = {"State": "Active", "MaxResults": 200}
        while True:
            page = ssm.describe_sessions(**request)
            found.update(str(session["SessionId"]) for session in page.get("Sessions", []))
            if not page.get("NextToken"):
                return found
            request["NextToken"] = page["NextToken"]
    except Exception:  # progress is a courtesy: the clock moves whether or not sessions can be counted
        return None


def clock_command(args: argparse.Namespace) -> int:
    print(control(args, "GET", "clock")["now"])
    return EXIT_OK


def end_session_command(args: argparse.Namespace) -> int:
    if args.region and not args.account:
        raise CliError("--region needs --account: the central account's sessions are in the home region")
    body = {"session_id": args.session_id}
    if args.account:
        body |= {"account": args.account, "region": args.region or "us-east-1"}
    result = control(args, "POST", "end-session", body)
    print(f"ended {result['session_id']} at {result['end']}")
    return EXIT_OK


def local_endpoint_of(args: argparse.Namespace) -> str:
    """The local cloud's endpoint (AWS_ENDPOINT_URL), or a CliError saying how to start one."""
    from warden_cli.aws import connection_of
    from warden_cli.clock import local_endpoint

    endpoint = (connection_of(args).endpoint_url or "").strip().rstrip("/")
    if not endpoint:
        raise CliError(f"{_ENV} is not set, so there is no local cloud to talk to: {_HOW_TO_START}")
    local = local_endpoint(endpoint)
    if local is None:
        raise CliError(f"{_ENV}={endpoint} is not the local cloud (it must be on 127.0.0.1): {_HOW_TO_START}")
    return local


def control(args: argparse.Namespace, method: str, route: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """Call the local cloud's control API (``/_warden/ROUTE``); errors as one-line CliErrors."""
    endpoint = local_endpoint_of(args)
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - loopback only, checked above
        f"{endpoint}/_warden/{route}", data=data, method=method, headers={"Content-Type": "application/json"}
    )
    # No proxy: the local cloud is on loopback whatever HTTP_PROXY says.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=600) as response:
            payload: dict[str, Any] = json.loads(response.read())
            return payload
    except urllib.error.HTTPError as error:
        message = _error_message(error)
        code = EXIT_BAD_INPUT if error.code in (400, 404) else EXIT_DENIED
        raise CliError(message, code=code) from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise CliError(
            f"cannot reach the local cloud at {endpoint} ({_ENV}): {reason}; is `warden local up` running?",
            code=EXIT_DENIED,
        ) from None
    except json.JSONDecodeError:
        raise CliError(f"{endpoint} ({_ENV}) answered, but it is not the local cloud", code=EXIT_DENIED) from None


def _error_message(error: urllib.error.HTTPError) -> str:
    try:
        detail = json.loads(error.read()).get("error")
    except (ValueError, AttributeError):
        detail = None
    if error.code == 404 and not detail:
        return f"{error.url} is not a local cloud endpoint ({_ENV})"
    return str(detail or f"HTTP {error.code} from the local cloud")


def _iso(moment: datetime) -> str:
    from warden.timefmt import iso

    return iso(moment)
