"""accounts/target-account.yaml on the emulator: deployed into an account of its own, its
deployer role trusts only the tooling account, and only with the ExternalId (the emulator's STS
checks trust policies of roles that exist)."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from mlopscp_emulator import Emulator

ROOT = Path(__file__).resolve().parents[3]
TARGET = ROOT / "accounts" / "target-account.yaml"


@pytest.fixture(scope="module")
def target_account(emulator: Emulator) -> str:
    """accounts/target-account.yaml deployed into a production account of its own."""
    account = "444455556666"
    emulator.client("s3", account=account).create_bucket(Bucket="capture-444455556666")
    emulator.deploy(
        TARGET,
        stack_name="mlopscp-target",
        account=account,
        parameters={
            "AccountPurpose": "production",
            "ToolingAccountId": emulator.account,
            "ExternalId": "the-external-id-of-this-test",
            "ModelArtifactsBucket": "models-bucket",
            "DataCaptureBucket": "capture-444455556666",
        },
    )
    return account


def test_a_template_deploys_into_another_account(emulator: Emulator, target_account: str) -> None:
    there = emulator.client("iam", account=target_account).get_role(RoleName="mlopscp-deployer")
    assert there["Role"]["Arn"] == f"arn:aws:iam::{target_account}:role/mlopscp-deployer"
    here = [r["RoleName"] for r in emulator.client("iam").list_roles()["Roles"]]
    assert "mlopscp-deployer" not in here
    policies = emulator.client("iam", account=target_account).list_role_policies(
        RoleName="mlopscp-deployer"
    )["PolicyNames"]
    assert policies == ["deploy-candidates", "shadow-test-and-promote"]


def test_the_deployer_role_needs_its_external_id(emulator: Emulator, target_account: str) -> None:
    sts = emulator.client("sts")
    role = f"arn:aws:iam::{target_account}:role/mlopscp-deployer"
    assumed = sts.assume_role(
        RoleArn=role, RoleSessionName="promotion", ExternalId="the-external-id-of-this-test"
    )
    assert assumed["AssumedRoleUser"]["Arn"].startswith(f"arn:aws:sts::{target_account}:")
    for external_id in ({"ExternalId": "a-guess-at-the-external-id"}, {}):
        with pytest.raises(ClientError, match="AccessDenied"):
            sts.assume_role(RoleArn=role, RoleSessionName="promotion", **external_id)


def test_only_the_trusted_account_may_assume_the_deployer(
    emulator: Emulator, target_account: str
) -> None:
    elsewhere = emulator.client("sts", account="999988887777")
    with pytest.raises(ClientError, match="not authorized to perform: sts:AssumeRole"):
        elsewhere.assume_role(
            RoleArn=f"arn:aws:iam::{target_account}:role/mlopscp-deployer",
            RoleSessionName="promotion",
            ExternalId="the-external-id-of-this-test",
        )
