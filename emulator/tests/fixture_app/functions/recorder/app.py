"""Records every event it receives in the table named by TABLE_NAME."""

import os

import boto3
from fixture_shared import MyCustomError, log

_table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def handler(event: dict, context: object) -> dict:
    detail = event.get("detail", event)
    pk = event.get("id") or detail.get("pk") or context.aws_request_id
    log("recording", pk=pk, request_id=context.aws_request_id, stage=os.environ["STAGE"])
    if detail.get("fail"):
        raise MyCustomError(f"asked to fail for {pk}")
    count = _table.update_item(
        Key={"pk": pk},
        UpdateExpression="ADD deliveries :one SET greeting = :g, fn = :fn",
        ExpressionAttributeValues={
            ":one": 1,
            ":g": os.environ["GREETING"],
            ":fn": context.function_name,
        },
        ReturnValues="UPDATED_NEW",
    )["Attributes"]["deliveries"]
    remaining = context.get_remaining_time_in_millis()
    return {"pk": pk, "deliveries": int(count), "remaining_ms": remaining}
