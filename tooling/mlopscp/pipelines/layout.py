"""Where the blueprints' files live and the names shared by render and upsert.

Free of the SageMaker SDK, so ``upsert`` (plain boto3) and the contract tests can use it.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
BLUEPRINT_DIR = REPO_ROOT / "pipelines" / "retrain"
DEFINITION_PATH = BLUEPRINT_DIR / "definition.json"
CODE_DIR = BLUEPRINT_DIR / "code"

# Parameters whose defaults belong to one account, bound by `mlopscp pipeline upsert`.
EXECUTION_ROLE_ARN = "ExecutionRoleArn"
INPUT_DATA_URI = "InputDataUri"
ARTIFACT_PREFIX = "ArtifactPrefix"
CODE_PREFIX = "CodePrefix"
ACCOUNT_PARAMETERS = (EXECUTION_ROLE_ARN, INPUT_DATA_URI, ARTIFACT_PREFIX, CODE_PREFIX)

# Until bound, the defaults name a bucket that cannot exist (upper case is invalid in bucket
# names), so a run with unbound defaults fails at once instead of reading code or data from a
# bucket someone else could create.
UNBOUND = "UNBOUND-run-mlopscp-pipeline-upsert"
UNBOUND_ROLE_ARN = f"arn:aws:iam::000000000000:role/{UNBOUND}"
BUCKET_LAYOUT = "mlopscp/retrain"


def unbound_s3_uri(kind: str) -> str:
    return f"s3://{UNBOUND}/{BUCKET_LAYOUT}/{kind}"


def bucket_defaults(bucket: str) -> dict[str, str]:
    """Defaults for the data and artifact locations when one bucket holds everything."""
    return {
        INPUT_DATA_URI: f"s3://{bucket}/{BUCKET_LAYOUT}/input",
        ARTIFACT_PREFIX: f"s3://{bucket}/{BUCKET_LAYOUT}/artifacts",
    }


# ---------------------------------------------------------------- the monitor (docs/monitor.md)

MONITOR_DIR = REPO_ROOT / "pipelines" / "monitor"
MONITOR_DEFINITION_PATH = MONITOR_DIR / "definition.json"
MONITOR_CODE_DIR = MONITOR_DIR / "code"
MONITOR_SCRIPT = MONITOR_CODE_DIR / "monitor.py"
MONITOR_SCHEDULE_TEMPLATE = MONITOR_DIR / "schedule.yaml"
MONITOR_BUCKET_LAYOUT = "mlopscp/monitor"
# The job's image (pipelines/monitor/Dockerfile), pushed to the account's ECR by its team.
MONITOR_IMAGE_URI = "MonitorImageUri"
# Per model: what the monitor watches and where it writes; bound by `mlopscp monitor upsert`.
MODEL_ID = "ModelId"
ENDPOINT_NAME = "EndpointName"
CAPTURE_URI = "CaptureUri"
BASELINE_URI = "BaselineUri"
OUTPUT_URI = "OutputUri"
GROUND_TRUTH_URI = "GroundTruthUri"
MONITOR_ACCOUNT_PARAMETERS = (
    EXECUTION_ROLE_ARN,
    CODE_PREFIX,
    MONITOR_IMAGE_URI,
    MODEL_ID,
    ENDPOINT_NAME,
    CAPTURE_URI,
    BASELINE_URI,
    OUTPUT_URI,
)
