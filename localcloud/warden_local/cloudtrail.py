"""The "AWS API Call via CloudTrail" events EventBridge delivers: Session Manager and control-plane calls."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from warden.timefmt import cloudtrail_time

from .identity import Caller

EVENT_VERSION = "1.09"
HIDDEN_TOKEN = "Value hidden due to security reasons."  # noqa: S105 - CloudTrail's own placeholder


@dataclass(frozen=True)
class RequestInfo:
    """What CloudTrail records about the HTTP request itself."""

    request_id: str
    access_key_id: str | None
    source_ip: str
    user_agent: str
    region: str | None = None  # the SigV4 credential scope's region: where the call acts


def api_call_event(
    *,
    event_name: str,
    caller: Caller,
    request: RequestInfo,
    region: str,
    account_id: str,
    when: datetime,
    request_parameters: dict[str, Any] | None,
    response_elements: dict[str, Any] | None = None,
    error_code: str | None = None,
    error_message: str | None = None,
    service: str = "ssm",
    invoked_by: str | None = None,
) -> dict[str, Any]:
    """The EventBridge envelope with the CloudTrail record of one API call of ``service``, as AWS lays it out.

    ``invoked_by``: the AWS service that made the call on the caller's behalf (``cloudformation.amazonaws.com``
    for a stack's resources): CloudTrail names it in ``userIdentity.invokedBy``, ``sourceIPAddress`` and
    ``userAgent``, and keeps the caller's identity.
    """
    identity = caller.user_identity()
    if invoked_by:
        identity["invokedBy"] = invoked_by
    detail: dict[str, Any] = {
        "eventVersion": EVENT_VERSION,
        "userIdentity": identity,
        "eventTime": cloudtrail_time(when),
        "eventSource": f"{service}.amazonaws.com",
        "eventName": event_name,
        "awsRegion": region,
        "sourceIPAddress": invoked_by or request.source_ip,
        "userAgent": invoked_by or request.user_agent,
    }
    if error_code is not None:
        # CloudTrail places the error between userAgent and requestParameters, and nulls the response.
        detail["errorCode"] = error_code
        detail["errorMessage"] = error_message or ""
        response_elements = None
    detail.update(
        {
            "requestParameters": request_parameters,
            "responseElements": response_elements,
            "requestID": request.request_id,
            "eventID": str(uuid.uuid4()),
            "readOnly": False,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": account_id,
            "eventCategory": "Management",
            "tlsDetails": {
                "tlsVersion": "TLSv1.3",
                "cipherSuite": "TLS_AES_128_GCM_SHA256",
                "clientProvidedHostHeader": f"{service}.{region}.amazonaws.com",
            },
        }
    )
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "AWS API Call via CloudTrail",
        "source": f"aws.{service}",
        "account": account_id,
        "time": cloudtrail_time(when),
        "region": region,
        "resources": [],
        "detail": detail,
    }
