"""Find a deployed stack's tables and queues from its CloudFormation outputs."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from mlopscp.output import CliError


def add_stack_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stack",
        default=os.environ.get("MLOPSCP_STACK", "mlops-control-plane-dev"),
        help="CloudFormation stack name (env MLOPSCP_STACK)",
    )
    parser.add_argument("--region", default=None, help="AWS region (default: your profile's)")
    parser.add_argument("--endpoint-url", default=None, help="AWS endpoint, e.g. a local emulator")


class _Outputs(dict[str, str]):
    """A stack's outputs; a missing one means the stack is not (this version of) ours."""

    def __init__(self, stack: str, outputs: dict[str, str]) -> None:
        super().__init__(outputs)
        self.stack = stack

    def __missing__(self, key: str) -> str:
        raise CliError(
            f"stack {self.stack} has no output {key}",
            hint="is --stack an mlops-control-plane stack of this version? (sam deploy updates it)",
        )


@dataclass
class StackArgs:
    stack: str
    region: str | None = None
    endpoint_url: str | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> StackArgs:
        return cls(args.stack, args.region, args.endpoint_url)

    def session(self) -> Any:
        import boto3

        return boto3.session.Session(region_name=self.region)

    def client(self, service: str) -> Any:
        return self.session().client(service, endpoint_url=self.endpoint_url)

    @cached_property
    def outputs(self) -> dict[str, str]:
        stack = self.client("cloudformation").describe_stacks(StackName=self.stack)["Stacks"][0]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        return _Outputs(self.stack, outputs)

    def _point_sdk_here(self) -> None:
        # The runtime adapters build their clients from the environment.
        if self.endpoint_url:
            os.environ["AWS_ENDPOINT_URL"] = self.endpoint_url
        if self.region:
            os.environ["AWS_DEFAULT_REGION"] = self.region

    def model_config_store(self) -> Any:
        from mlops_runtime.model_config import ModelConfigStore

        self._point_sdk_here()
        return ModelConfigStore(self.outputs["ModelConfigTableName"], max_age=0)

    def ledger(self) -> Any:
        from mlops_runtime.store import Ledger

        self._point_sdk_here()
        return Ledger(self.outputs["LedgerTableName"])

    def promotion_store(self) -> Any:
        from mlops_runtime.promotions import PromotionStore

        self._point_sdk_here()
        return PromotionStore(self.outputs["StateTableName"])

    def fleet(self) -> Any:
        from mlops_runtime.fleet import FleetReader

        self._point_sdk_here()
        o = self.outputs
        return FleetReader(
            o["LedgerTableName"],
            o["StateTableName"],
            o["ModelConfigTableName"],
            o["ApprovalTableName"],
        )
