"""Issuer role paths through IAM GetRole: what makes an assumed-role session an IAM Identity Center one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from warden.adapters.aws import aws_call

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient


class IamIssuerRoles:
    """``role_arn(name)`` with the role's path, one GetRole per role name until :meth:`forget`.

    DescribeSessions names a session's owner ``arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION``, with no path;
    the path (``/aws-reserved/sso.amazonaws.com/`` for IAM Identity Center) is only in IAM. The sweeper calls
    :meth:`forget` at the start of each sweep, so a role deleted and re-created elsewhere is seen within a minute.
    """

    def __init__(self, iam: IAMClient) -> None:
        self._iam = iam
        self._arns: dict[str, str] = {}

    def role_arn(self, role_name: str) -> str:
        known = self._arns.get(role_name)
        if known is None:
            with aws_call("GetRole"):
                known = str(self._iam.get_role(RoleName=role_name)["Role"]["Arn"])
            self._arns[role_name] = known
        return known

    def forget(self) -> None:
        self._arns.clear()
