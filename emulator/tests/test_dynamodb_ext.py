"""moto's DynamoDB under concurrent requests: a transaction and the writes beside it never fail
for the emulator's sake (moto alone answered 500 when a transaction's rollback copy met a write
to the same table), and conditions still hold exactly once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config
from mlopscp_emulator import Emulator

WRITERS = 4
ROUNDS = 60


def _client(emulator: Emulator) -> Any:
    # No retries: a 500 from the emulator must show, not be retried away as botocore would.
    return boto3.client(
        "dynamodb",
        endpoint_url=emulator.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # moto's fake credentials
        config=Config(retries={"max_attempts": 0}, max_pool_connections=2 * WRITERS),
    )


def _table(emulator: Emulator, name: str) -> Any:
    dynamodb = _client(emulator)
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    # A table big enough that copying it for a transaction takes a while.
    for start in range(0, 500, 25):
        dynamodb.batch_write_item(
            RequestItems={
                name: [
                    {"PutRequest": {"Item": {"pk": {"S": f"seed-{i}"}, "n": {"N": str(i)}}}}
                    for i in range(start, start + 25)
                ]
            }
        )
    return dynamodb


def test_transactions_beside_writes_never_fail(emulator: Emulator, unique: str) -> None:
    name = f"concurrent-{unique}"
    dynamodb = _table(emulator, name)

    def transact(writer: int) -> None:
        for i in range(ROUNDS):
            dynamodb.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": name, "Item": {"pk": {"S": f"t{writer}-{i}-a"}}}},
                    {"Put": {"TableName": name, "Item": {"pk": {"S": f"t{writer}-{i}-b"}}}},
                ]
            )

    def put(writer: int) -> None:
        for i in range(ROUNDS):
            dynamodb.put_item(TableName=name, Item={"pk": {"S": f"p{writer}-{i}"}})

    with ThreadPoolExecutor(WRITERS) as pool:
        jobs = [pool.submit(transact if w % 2 else put, w) for w in range(WRITERS)]
        for job in jobs:
            job.result()  # re-raises a ClientError (InternalServerError) from any writer

    count = dynamodb.scan(TableName=name, Select="COUNT")["Count"]
    assert count == 500 + (WRITERS // 2) * ROUNDS * 2 + (WRITERS // 2) * ROUNDS


def test_a_conditional_claim_raced_by_many_is_won_once(emulator: Emulator, unique: str) -> None:
    name = f"claims-{unique}"
    dynamodb = _table(emulator, name)

    def claim(writer: int) -> bool:
        try:
            dynamodb.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": name,
                            "Item": {"pk": {"S": "the-claim"}, "by": {"N": str(writer)}},
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {"Put": {"TableName": name, "Item": {"pk": {"S": f"ledger-{writer}"}}}},
                ]
            )
        except dynamodb.exceptions.TransactionCanceledException:
            return False
        return True

    with ThreadPoolExecutor(WRITERS) as pool:
        won = list(pool.map(claim, range(4 * WRITERS)))

    assert won.count(True) == 1
    winner = won.index(True)
    item = dynamodb.get_item(TableName=name, Key={"pk": {"S": "the-claim"}})["Item"]
    assert item["by"] == {"N": str(winner)}
    ledger = [
        i
        for i in range(4 * WRITERS)
        if dynamodb.get_item(TableName=name, Key={"pk": {"S": f"ledger-{i}"}}).get("Item")
    ]
    assert ledger == [winner]  # the losers' second write was rolled back with the first


def test_a_cancelled_transaction_leaves_every_item_as_it_was(
    emulator: Emulator, unique: str
) -> None:
    dynamodb = _client(emulator)
    name = f"sorted-{unique}"
    dynamodb.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    kept = {"pk": {"S": "model"}, "sk": {"S": "1"}, "n": {"N": "1"}}
    gone = {"pk": {"S": "model"}, "sk": {"S": "2"}, "n": {"N": "2"}}
    for item in (kept, gone):
        dynamodb.put_item(TableName=name, Item=item)

    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": name, "Item": {**kept, "n": {"N": "10"}}}},  # overwrite
                {"Put": {"TableName": name, "Item": {"pk": {"S": "new"}, "sk": {"S": "1"}}}},
                {"Delete": {"TableName": name, "Key": {"pk": gone["pk"], "sk": gone["sk"]}}},
                {
                    "Update": {
                        "TableName": name,
                        "Key": {"pk": {"S": "model"}, "sk": {"S": "3"}},
                        "UpdateExpression": "SET n = :n",
                        "ExpressionAttributeValues": {":n": {"N": "3"}},
                    }
                },
                {
                    "ConditionCheck": {
                        "TableName": name,
                        "Key": {"pk": {"S": "absent"}, "sk": {"S": "1"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )

    items = dynamodb.scan(TableName=name)["Items"]
    assert sorted(items, key=lambda i: i["sk"]["S"]) == [kept, gone]
    model = dynamodb.query(
        TableName=name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "model"}},
    )["Items"]
    assert [i["sk"]["S"] for i in model] == ["1", "2"]
