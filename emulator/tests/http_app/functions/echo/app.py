"""Answers a Function URL request with what it received, or as the query asks."""

import base64
import json


def handler(event, context):
    query = event.get("queryStringParameters") or {}
    if query.get("mode") == "raise":
        raise RuntimeError("asked to fail")
    if query.get("mode") == "plain":
        return {"plain": True}
    if query.get("mode") == "binary":
        return {
            "statusCode": 201,
            "headers": {"content-type": "application/octet-stream", "x-extra": "1"},
            "cookies": ["a=1; Path=/", "b=2"],
            "body": base64.b64encode(b"\x00\x01raw").decode(),
            "isBase64Encoded": True,
        }
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(event),
    }


def ask(event, context):
    """A waitForTaskToken task: does nothing but return; someone answers later."""
    return {"asked": True}
