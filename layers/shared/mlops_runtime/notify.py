"""Deliver notifications: SNS always, Slack through an incoming webhook when one is configured.

The webhook URL is a secret: it is read from Secrets Manager (cached by Powertools Parameters)
and never logged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from mlops_core import slack_text
from mlops_core.ledger import Action, LedgerEntry
from mlops_core.notification import Notification

from mlops_runtime.aws import client, translated_errors
from mlops_runtime.store import Ledger

logger = Logger(child=True)


@dataclass(frozen=True)
class Delivery:
    delivered: list[str]
    failed: list[str]


def send(
    notification: Notification, topic_arn: str, slack_webhook_secret_arn: str | None
) -> Delivery:
    """Every configured channel is tried; the call fails only if no channel took it (so the
    step is retried, then fails where a human sees it), with the SNS error."""
    delivered, failed = [], []
    sns_error: Exception | None = None
    try:
        with translated_errors():
            client("sns").publish(
                TopicArn=topic_arn,
                Subject=notification.short_title,
                Message=notification.as_text(),
                MessageAttributes={
                    "kind": {"DataType": "String", "StringValue": notification.kind},
                    "model_id": {"DataType": "String", "StringValue": notification.model_id},
                    "severity": {"DataType": "String", "StringValue": notification.severity},
                },
            )
        delivered.append("sns")
    except Exception as error:  # any SNS failure: Slack may still reach someone
        logger.warning("SNS delivery failed", extra={"error": type(error).__name__})
        sns_error = error
        failed.append("sns")
    if slack_webhook_secret_arn:
        # Slack is a second channel: its failure is recorded, it does not undo the SNS page.
        try:
            _post_to_slack(notification, slack_webhook_secret_arn)
            delivered.append("slack")
        except Exception as error:
            logger.warning("Slack webhook delivery failed", extra={"error": type(error).__name__})
            failed.append("slack")
    if sns_error is not None and not delivered:
        raise sns_error
    return Delivery(delivered, failed)


def send_and_record(
    notification: Notification,
    ledger: Ledger,
    topic_arn: str,
    slack_webhook_secret_arn: str | None,
) -> Delivery:
    """Deliver, then write ``notification_sent`` with the channels that took it."""
    delivery = send(notification, topic_arn, slack_webhook_secret_arn)
    ledger.record(
        LedgerEntry(
            action=Action.NOTIFICATION_SENT,
            model_id=notification.model_id,
            subject=f"{notification.subject_id}#{notification.kind}",
            summary=notification.title,
            evidence={
                "delivered": delivery.delivered,
                "failed": delivery.failed,
                "about": notification.subject_id,
                "severity": notification.severity,
            },
        )
    )
    return delivery


def _post_to_slack(notification: Notification, secret_arn: str) -> None:
    from aws_lambda_powertools.utilities.parameters import get_secret
    from slack_sdk.webhook import WebhookClient

    url = _webhook_url(get_secret(secret_arn, max_age=300))
    response = WebhookClient(url, timeout=5).send_dict(webhook_message(notification))
    if response.status_code != 200:
        raise RuntimeError(f"Slack answered {response.status_code}")


def _webhook_url(secret: str | bytes) -> str:
    text = secret.decode() if isinstance(secret, bytes) else secret
    if text.lstrip().startswith("{"):
        return str(json.loads(text)["url"])
    return text.strip()


def webhook_message(notification: Notification) -> dict[str, Any]:
    """The incoming-webhook payload: the fallback text is not mrkdwn, nothing unfurls."""
    return {
        "text": slack_text.fallback(notification.title),
        "mrkdwn": False,
        "blocks": [block.to_dict() for block in slack_blocks(notification)],
        "unfurl_links": False,
        "unfurl_media": False,
    }


def slack_blocks(notification: Notification, now: datetime | None = None) -> list[Any]:
    """Block Kit; every value a notification carries is plain_text (mlops_core.slack_text).
    mrkdwn carries only labels, validated mentions, dates and https links."""
    from slack_sdk.models.blocks import ContextBlock, DividerBlock, HeaderBlock, SectionBlock

    from mlops_runtime import slack_blocks as kit

    now = now or datetime.now(UTC)
    facts: list[tuple[str, object]] = [("severity", notification.severity)]
    facts += list(notification.facts.items())
    facts += [(k, kit.date(when, now)) for k, when in notification.times.items()]
    facts.append(("trend", notification.trend))
    blocks: list[Any] = [HeaderBlock(text=kit.plain(notification.title, 150))]
    blocks += kit.links(notification.links)
    blocks += kit.owners(notification.owners)
    blocks += kit.facts(facts)
    blocks.append(DividerBlock())
    details = kit.plain_lines(notification.lines) if notification.lines else kit.plain("-")
    blocks.append(SectionBlock(text=details))
    about = f"mlops-control-plane · {notification.kind} · {notification.subject_id}"
    blocks.append(ContextBlock(elements=[kit.plain(about, 300)]))
    return blocks
