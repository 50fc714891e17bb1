"""SNS subscriptions as AWS lists them: e-mail and HTTP(S) endpoints stay ``PendingConfirmation`` until confirmed.

moto lists every subscription with its ARN, as if each were confirmed. On AWS a subscription to an e-mail address
or a URL delivers nothing until its owner follows the confirmation link, and ListSubscriptions(ByTopic) shows
``PendingConfirmation`` instead of the ARN meanwhile; `warden status` reads exactly that.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

NEEDS_CONFIRMATION = frozenset({"email", "email-json", "http", "https"})
PENDING = "PendingConfirmation"


def install(active_hooks: Callable[[], Any]) -> None:
    """Patch moto's SNS listings (once per process); without an active local cloud they stay moto's."""
    from moto.core.responses import ActionResult
    from moto.sns.responses import SNSResponse

    original_by_topic = SNSResponse.list_subscriptions_by_topic
    original_all = SNSResponse.list_subscriptions

    def list_subscriptions_by_topic(self: Any) -> Any:
        if active_hooks() is None:
            return original_by_topic(self)
        found, next_token = self.backend.list_subscriptions_by_topic(
            self._get_param("TopicArn"), next_token=self._get_param("NextToken")
        )
        return ActionResult({"Subscriptions": [_listed(item) for item in found], "NextToken": next_token})

    def list_subscriptions(self: Any) -> Any:
        if active_hooks() is None:
            return original_all(self)
        found, next_token = self.backend.list_subscriptions(next_token=self._get_param("NextToken"))
        return ActionResult({"Subscriptions": [_listed(item) for item in found], "NextToken": next_token})

    setattr(SNSResponse, "list_subscriptions_by_topic", list_subscriptions_by_topic)  # noqa: B010
    setattr(SNSResponse, "list_subscriptions", list_subscriptions)  # noqa: B010


def confirm(account_id: str, region: str, topic_arn: str) -> int:
    """Confirm every subscription of ``topic_arn``, as their owners following the link would; how many were."""
    from moto.sns.models import sns_backends

    confirmed = 0
    for subscription in sns_backends[account_id][region].subscriptions.values():
        if subscription.topic.arn == topic_arn and not subscription.confirmed:
            subscription.confirmed = True
            confirmed += 1
    return confirmed


def pending(subscription: Any) -> bool:
    return subscription.protocol in NEEDS_CONFIRMATION and not subscription.confirmed


def _listed(subscription: Any) -> dict[str, Any]:
    return {
        "SubscriptionArn": PENDING if pending(subscription) else subscription.arn,
        "Owner": subscription.owner,
        "Protocol": subscription.protocol,
        "Endpoint": subscription.endpoint,
        "TopicArn": subscription.topic.arn,
    }
