"""DynamoDB's conditional writes are atomic in the local cloud, as on AWS, also under concurrent callers."""

from __future__ import annotations

import threading

from warden_local import LocalCloud


def test_concurrent_compare_and_set_updates_never_both_win_on_one_version(bare_cloud: LocalCloud) -> None:
    # GIVEN a counter item and 8 callers that each read it and then write value+1 only if it is still the value read
    dynamodb = bare_cloud.client("dynamodb")
    dynamodb.create_table(
        TableName="race",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    key = {"pk": {"S": "counter"}}
    dynamodb.put_item(TableName="race", Item={**key, "version": {"N": "0"}})
    won_on: list[str] = []

    def compare_and_set() -> None:
        client = bare_cloud.client("dynamodb")
        for _ in range(30):
            seen = client.get_item(TableName="race", Key=key)["Item"]["version"]["N"]
            try:
                client.update_item(
                    TableName="race",
                    Key=key,
                    UpdateExpression="SET version = :next",
                    ConditionExpression="version = :seen",
                    ExpressionAttributeValues={":seen": {"N": seen}, ":next": {"N": str(int(seen) + 1)}},
                )
                won_on.append(seen)
            except client.exceptions.ConditionalCheckFailedException:
                pass

    # WHEN they all run at once
    threads = [threading.Thread(target=compare_and_set) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    # THEN no two callers won on the same version, and every win is counted (as DynamoDB guarantees)
    assert len(won_on) == len(set(won_on))
    final = dynamodb.get_item(TableName="race", Key=key)["Item"]["version"]["N"]
    assert int(final) == len(won_on)
