"""The emailed links' HMAC keys: versions of one Secrets Manager secret.

The version labelled ``AWSCURRENT`` signs new links, and each link names it by its version id
(``kid``); rotating is putting a new secret value (``mlopscp approvals rotate-link-key``), which
Secrets Manager labels ``AWSCURRENT`` while the old one becomes ``AWSPREVIOUS``. Links signed
with the previous key keep working for LINK_KEY_GRACE after the rotation
(:func:`mlops_core.approvals.accepted_link_keys`); a key two rotations old is refused.

Keys are cached for a minute; a link naming a key id not in the cache reads the secret again
(at most every 10 seconds), so a fresh rotation is seen at once.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime

from botocore.exceptions import ClientError
from mlops_core.approvals import LinkKey, accepted_link_keys
from mlops_core.errors import ApprovalDeliveryError

from mlops_runtime.aws import client, error_code, translated_errors
from mlops_runtime.cache import TtlCache

CACHE_SECONDS = 60
REFRESH_AT_MOST_EVERY_SECONDS = 10


class LinkKeys:
    def __init__(self, secret_arn: str) -> None:
        self.secret_arn = secret_arn
        self._cache: TtlCache[tuple[LinkKey, LinkKey | None]] = TtlCache(CACHE_SECONDS)
        self._refreshed = 0.0
        self._lock = threading.Lock()

    @property
    def configured(self) -> bool:
        return bool(self.secret_arn)

    def signing(self) -> LinkKey:
        """The key new links are signed with."""
        return self._versions()[0]

    def accepted(self, now: datetime, key_id: str = "") -> dict[str, bytes]:
        """Keys a link may be signed with now, by id; ``key_id``: the one a link names."""
        current, previous = self._versions()
        known = {current.key_id} | ({previous.key_id} if previous else set())
        if key_id and key_id not in known and self._may_refresh():
            self._cache.clear()
            current, previous = self._versions()
        return accepted_link_keys(current, previous, now)

    def _may_refresh(self) -> bool:
        with self._lock:
            if time.monotonic() - self._refreshed < REFRESH_AT_MOST_EVERY_SECONDS:
                return False
            self._refreshed = time.monotonic()
            return True

    def _versions(self) -> tuple[LinkKey, LinkKey | None]:
        return self._cache.get("versions", self._read)

    def _read(self) -> tuple[LinkKey, LinkKey | None]:
        current = self._version("AWSCURRENT")
        if current is None:  # Secrets Manager always labels one version AWSCURRENT
            raise ApprovalDeliveryError(f"link key secret {self.secret_arn} has no current version")
        return current, self._version("AWSPREVIOUS")

    def _version(self, stage: str) -> LinkKey | None:
        try:
            with translated_errors():
                response = client("secretsmanager").get_secret_value(
                    SecretId=self.secret_arn, VersionStage=stage
                )
        except ClientError as error:
            if stage != "AWSCURRENT" and error_code(error) == "ResourceNotFoundException":
                return None  # never rotated
            raise
        created = response.get("CreatedDate") or datetime.now(UTC)
        return LinkKey(
            key_id=str(response["VersionId"]),
            secret=plain_secret(str(response["SecretString"])).encode(),
            since=created if created.tzinfo else created.replace(tzinfo=UTC),
        )


def plain_secret(text: str) -> str:
    """A secret's value: a plain string, or the single value of a one-key JSON object."""
    if text.lstrip().startswith("{"):
        document = json.loads(text)
        if isinstance(document, dict) and len(document) == 1:
            return str(next(iter(document.values())))
    return text.strip()
