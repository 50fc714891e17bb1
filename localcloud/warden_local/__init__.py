"""The local cloud: moto on loopback with Session Manager, CloudTrail events, the stack's handlers and a clock."""

from .clock import EmulatedClock
from .cloud import ACCOUNT_ID, DEFAULT_TEMPLATE, TEST_CREDENTIALS, LocalCloud, LocalCloudError
from .dispatch import SettleTimeout
from .faults import Faults
from .fidelity import Fidelity
from .iam import Decision
from .identity import Credentials
from .invocations import FunctionCode, Invocation
from .routing import FailedDelivery

__all__ = [
    "ACCOUNT_ID",
    "DEFAULT_TEMPLATE",
    "TEST_CREDENTIALS",
    "Credentials",
    "Decision",
    "EmulatedClock",
    "FailedDelivery",
    "Faults",
    "Fidelity",
    "FunctionCode",
    "Invocation",
    "LocalCloud",
    "LocalCloudError",
    "SettleTimeout",
]
