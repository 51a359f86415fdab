"""Which accounts the serving sweep reads, and which model owns each endpoint there.

The accounts come only from the model configurations (each model's ``account`` section), never
from an event: a workload account is swept through the reader role its models name, with the
ExternalId their secret holds. The tooling account is always swept with the function's own
clients. Every endpoint an account lists is checked, claimed or not: an endpoint no model
configures still costs money, and is reported as unowned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Claim:
    """What one model configuration says about where its endpoint runs."""

    model_id: str
    endpoint: str
    account_id: str | None = None  # None: the tooling account
    reader_role_arn: str | None = None
    external_id_secret_arn: str | None = None


@dataclass(frozen=True, slots=True)
class AccountSweep:
    """One account to sweep: how to read in it, and who owns which of its endpoints."""

    account_id: str
    reader_role_arn: str | None  # None: the tooling account's own clients
    external_id_secret_arn: str | None
    owners: Mapping[str, str] = field(default_factory=dict)  # endpoint name -> model id
    notes: tuple[str, ...] = ()  # disagreements among the models' configurations

    @property
    def tooling(self) -> bool:
        return self.reader_role_arn is None

    @property
    def label(self) -> str:
        if self.tooling:
            return f"account {self.account_id} (the tooling account)"
        return f"account {self.account_id} (role {self.reader_role_arn})"


def plan(claims: Iterable[Claim], tooling_account: str) -> list[AccountSweep]:
    """The tooling account first, then every workload account the claims name, by id.

    Where two models of one account name different reader roles or secrets, the first by model
    id is used and the disagreement is noted; where two claim the same endpoint of an account,
    the first by model id owns it (the other is noted). A workload account no claim names a
    reader role for is not in the plan: it has no way in."""
    by_account: dict[str, list[Claim]] = {tooling_account: []}
    for claim in sorted(claims, key=lambda c: c.model_id):
        account = claim.account_id or tooling_account
        by_account.setdefault(account, []).append(claim)
    sweeps = []
    for account in sorted(by_account, key=lambda a: (a != tooling_account, a)):
        found = by_account[account]
        role, secret, notes = None, None, []
        if account != tooling_account:
            readers = [c for c in found if c.reader_role_arn and c.external_id_secret_arn]
            if not readers:
                continue
            first = readers[0]
            role, secret = first.reader_role_arn, first.external_id_secret_arn
            notes += [
                f"model {c.model_id} names another reader role or secret for account {account} "
                f"than model {first.model_id}; swept with {first.model_id}'s"
                for c in readers[1:]
                if (c.reader_role_arn, c.external_id_secret_arn) != (role, secret)
            ]
        owners: dict[str, str] = {}
        for claim in found:
            if claim.endpoint in owners:
                notes.append(
                    f"endpoint {claim.endpoint} in account {account} is configured by models "
                    f"{owners[claim.endpoint]} and {claim.model_id}; listed under "
                    f"{owners[claim.endpoint]}"
                )
                continue
            owners[claim.endpoint] = claim.model_id
        sweeps.append(AccountSweep(account, role, secret, owners, tuple(notes)))
    return sweeps
