"""Notices in a session's terminal: SSM SendCommand with the stack's own warning document, and what the node said."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from warden.adapters.aws import aws_call, error_code

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
