"""SageMaker Pipelines blueprints of mlops-control-plane.

``mlopscp.pipelines.retrain`` builds the reference retraining pipeline and needs the SageMaker
SDK (``.venv-sdk``); everything importable from here does not, so the control plane's demo and
``mlopscp pipeline upsert`` work with plain boto3.
"""

from __future__ import annotations

from mlopscp.pipelines.deploy import (
    bind_defaults,
    load_definition,
    upload_code,
    upsert_pipeline,
)
from mlopscp.pipelines.layout import CODE_DIR, DEFINITION_PATH

__all__ = [
    "CODE_DIR",
    "DEFINITION_PATH",
    "bind_defaults",
    "load_definition",
    "upload_code",
    "upsert_pipeline",
]
