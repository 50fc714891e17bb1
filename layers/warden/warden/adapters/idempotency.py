"""Enforcement at most once per CloudTrail event: Powertools Idempotency on the idempotency table."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient


class PowertoolsIdempotency:
    """Runs an action once per key and replays its result to a re-delivery of the same event.

    Powertools Idempotency (about 200 ms of imports) loads on the first enforcement: the allowed path never
    needs it. The Lambda context a handler registers reaches the ``IdempotencyConfig`` as soon as it exists,
    so an in-progress record expires with the invocation that wrote it.
    """

    def __init__(self, dynamodb: DynamoDBClient, table: str, *, expires_after_seconds: int) -> None:
        self._dynamodb = dynamodb
        self._table = table
        self._expires_after_seconds = expires_after_seconds
        self._lambda_context: LambdaContext | None = None
        self._config: IdempotencyConfig | None = None
        self._persistence: DynamoDBPersistenceLayer | None = None

    def register_lambda_context(self, lambda_context: LambdaContext) -> None:
        """This invocation's context, for ``IdempotencyConfig.register_lambda_context``."""
        self._lambda_context = lambda_context
        if self._config is not None:
            self._config.register_lambda_context(lambda_context)

    def __call__(self, key: str, action: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        from aws_lambda_powertools.utilities.idempotency import (
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
            idempotent_function,
        )

        if self._config is None or self._persistence is None:
            self._persistence = DynamoDBPersistenceLayer(table_name=self._table, boto3_client=self._dynamodb)
            self._config = IdempotencyConfig(
                event_key_jmespath="event_id", expires_after_seconds=self._expires_after_seconds
            )
            if self._lambda_context is not None:
                self._config.register_lambda_context(self._lambda_context)

        def enforce(request: dict[str, str]) -> dict[str, Any]:
            return action()

        guarded = idempotent_function(
            enforce, data_keyword_argument="request", persistence_store=self._persistence, config=self._config
        )
        result: dict[str, Any] = guarded(request={"event_id": key})
        return result
