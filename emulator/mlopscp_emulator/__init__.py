"""mlopscp-emulator: moto's server on loopback, populated from a SAM template, running the real
ASL, routing Lambda invokes to the real handlers and matching events with the template's real
EventBridge patterns. See emulator/README.md.

    from mlopscp_emulator import Emulator

    with Emulator(region="us-east-1") as emu:
        stack = emu.deploy("template.yaml", stack_name="my-app", parameters={...})
        emu.put_event(envelope)
        emu.wait_idle()

The public API is what this module exports: the :class:`Emulator` and what it returns, the
offline EventBridge matcher, and the service extensions (``sagemaker_ext`` holds the SageMaker
lifecycle hooks; each extension's ``install``/``uninstall`` serves in-process ``mock_aws`` tests).
"""

from mlopscp_emulator import autoscaling_ext, cloudwatch_ext, s3_ext, sagemaker_ext, sts_ext
from mlopscp_emulator.credentials import DEFAULT_ACCOUNT
from mlopscp_emulator.deploy import DeployError, RuleInfo, Stack
from mlopscp_emulator.emulator import Emulator, EmulatorError
from mlopscp_emulator.events import matches
from mlopscp_emulator.faults import Fault, Faults
from mlopscp_emulator.lambdas import FunctionInfo
from mlopscp_emulator.trace import Trace

__all__ = [
    "DEFAULT_ACCOUNT",
    "DeployError",
    "Emulator",
    "EmulatorError",
    "Fault",
    "Faults",
    "FunctionInfo",
    "RuleInfo",
    "Stack",
    "Trace",
    "autoscaling_ext",
    "cloudwatch_ext",
    "matches",
    "s3_ext",
    "sagemaker_ext",
    "sts_ext",
]
