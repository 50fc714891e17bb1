"""Notices in a session's terminal: SSM SendCommand with the stack's own warning document, and what the node said."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from warden.adapters.aws import aws_call, error_code
from warden.errors import DocumentNotTrusted
from warden.policy.notices import MESSAGE_PATTERN, SESSION_ID_PATTERN

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

# The document script's exit codes (functions/sweeper/session_notice.sh).
_EXIT_CODES = {
    2: "the node refused the parameters (an SSM Agent older than 3.3.2746.0 cannot pass them as data)",
    3: "no session worker of this session on the node",
    4: "the session has no terminal",
    5: "the session's terminal could not be written",
}
# GetCommandInvocation statuses of a command that has not finished.
_RUNNING = {"Pending", "InProgress", "Delayed"}
_FAILED = {
    "Cancelled": "the command was cancelled",
    "TimedOut": "the node did not answer in time (SSM Agent not running or not reachable)",
    "Undeliverable": "the node could not be reached (SSM Agent not running, or the node is not managed)",
    "Terminated": "the command was stopped on the node",
    "InvalidPlatform": "the node is not Linux: the notice is written on Linux nodes only",
    "AccessDenied": "the node's agent was not allowed to run the command",
}
# A warning is worth nothing once the session has ended: the command gives up within minutes.
_TIMEOUT_SECONDS = 60
# The only version the sweeper runs. CloudFormation's AWS::SSM::Document (default UpdateMethod Replace) creates a new
# document, at version 1, on every change to it; a version someone adds later with UpdateDocument (and makes the
# default) is never run, so ssm:UpdateDocument on it cannot turn the sweeper into a root shell on every node.
DOCUMENT_VERSION = "1"
# Organization mode: the warning document of org/member.yaml, in every region of a member account and in the relay
# stacks of the central account's other regions. Named by convention, so the sweeper knows it without a lookup. The
# revision is part of the name because CloudFormation replaces a document on every change and cannot replace one with
# a fixed name in place: a changed session_notice.sh needs the next revision (tests/unit/test_notice_documents.py
# says so, and how).
MEMBER_DOCUMENT_REVISION = "1"
# SHA-256 of functions/sweeper/session_notice.sh, the only script the sweeper lets SSM run (a test keeps it in step).
NOTICE_SCRIPT_SHA256 = "155f8c5da80c164a313a8f06a2a19ed042907526b258a466008c6d6f58b2e61e"
_PATTERNS = {"SessionId": SESSION_ID_PATTERN, "Message": MESSAGE_PATTERN}


def document_problem(content: object) -> str | None:
    """Why a warning document (its content, parsed) is not the warden's script with its parameters; None when it is."""
    if not isinstance(content, dict):
        return "its content is not a document"
    parameters, steps = content.get("parameters"), content.get("mainSteps")
    if not isinstance(parameters, dict) or set(parameters) != set(_PATTERNS):
        return "its parameters are not SessionId and Message"
    for name, pattern in _PATTERNS.items():
        declared = parameters[name]
        if not isinstance(declared, dict) or declared.get("interpolationType") != "ENV_VAR":
            return f"its {name} is not passed as an environment variable"
        if declared.get("allowedPattern") != pattern:
            return f"its {name} pattern is not the warden's"
    if not isinstance(steps, list) or len(steps) != 1 or not isinstance(steps[0], dict):
        return "it does not have exactly one step"
    step = steps[0]
    inputs = step.get("inputs")
    commands = inputs.get("runCommand") if isinstance(inputs, dict) else None
    if step.get("action") != "aws:runShellScript" or not isinstance(commands, list) or len(commands) != 1:
        return "its step is not one shell script"
    script = commands[0]
    if not isinstance(script, str) or hashlib.sha256(script.encode()).hexdigest() != NOTICE_SCRIPT_SHA256:
        return "its script is not functions/sweeper/session_notice.sh of this version"
    return None


def member_document(stack: str) -> str:
    """The member stack's warning document of the central stack *stack*: ``<stack>-session-notice-<revision>``."""
    return f"{stack}-session-notice-{MEMBER_DOCUMENT_REVISION}"


class SsmSessionNotices:
    def __init__(self, ssm: SSMClient, document: str) -> None:
        self._ssm = ssm
        self._document = document

    @property
    def document(self) -> str:
        """The warning document's name (in the account and region of the client)."""
        return self._document

    def send(self, target: str, session_id: str, message: str) -> str:
        """SendCommand of the document's version 1, once it is checked to be the warden's script.

        Raises :class:`DocumentNotTrusted` when it is not, :class:`AwsCallFailed` when SSM refuses either call.
        """
        with aws_call("GetDocument"):
            stored = self._ssm.get_document(
                Name=self._document, DocumentVersion=DOCUMENT_VERSION, DocumentFormat="JSON"
            )
        try:
            content: object = json.loads(str(stored.get("Content") or ""))
        except (ValueError, RecursionError):
            content = None
        problem = document_problem(content)
        if problem is not None:
            raise DocumentNotTrusted(f"warning document {self._document} version {DOCUMENT_VERSION}: {problem}")
        with aws_call("SendCommand"):
            response = self._ssm.send_command(
                DocumentName=self._document,
                DocumentVersion=DOCUMENT_VERSION,
                InstanceIds=[target],
                Parameters={"SessionId": [session_id], "Message": [message]},
                TimeoutSeconds=_TIMEOUT_SECONDS,
                Comment="Session Warden: warning before the session's deadline",
            )
        return str(response["Command"]["CommandId"])

    def result(self, command_id: str, target: str) -> tuple[str, str] | None:
        with aws_call("GetCommandInvocation"):
            try:
                answer = self._ssm.get_command_invocation(CommandId=command_id, InstanceId=target)
            except ClientError as error:
                if error_code(error) == "InvocationDoesNotExist":  # not registered yet, right after SendCommand
                    return None
                raise
        status = str(answer.get("Status") or "")
        if status in _RUNNING or not status:
            return None
        if status == "Success":
            return "delivered", "the notice was written to the session's terminal"
        code = answer.get("ResponseCode")
        if status == "Failed" and isinstance(code, int) and code in _EXIT_CODES:
            return "failed", _EXIT_CODES[code]
        reason = _FAILED.get(status) or f"the command ended {status} (exit code {code})"
        return "failed", reason
