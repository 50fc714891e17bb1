"""What the grant commands share: grant ids (new ones, and checking one typed), and publishing a grant's alert."""

from __future__ import annotations

import re
import secrets
import string
import sys
from collections.abc import Callable

from warden_cli.errors import CliError

ID_PREFIX = "g-"
ID_ALPHABET = string.ascii_lowercase + string.digits
ID_LENGTH = 12
GRANT_ID = re.compile(rf"{re.escape(ID_PREFIX)}[a-z0-9]{{{ID_LENGTH}}}")


def _grant_id(value: str) -> str:
    grant_id = value.strip()
    if not GRANT_ID.fullmatch(grant_id):
        raise CliError(
            f"ID: {value!r} is not a grant id: ids are {ID_PREFIX} and {ID_LENGTH} lowercase letters or digits, "
            "as `warden grant list` shows them"
        )
    return grant_id


def new_grant_id() -> str:
    return ID_PREFIX + "".join(secrets.choice(ID_ALPHABET) for _ in range(ID_LENGTH))


def _publish(send: Callable[[], None], grant_id: str) -> None:
    """Publish an alert; a failure is reported loudly but does not undo the grant change, which has been made."""
    from warden.errors import AwsCallFailed

    try:
        send()
    except AwsCallFailed as error:  # the alerts adapter raises only this for a failed Publish
        print(
            f"warden: warning: {grant_id} was changed, but its alert could not be published: {error}",
            file=sys.stderr,
        )
