"""The demo's training world (issue 5): Spot and on-demand training jobs, a training pipeline,
and the SageMaker events they cause, built from SageMaker's own descriptions.

Everything is created through the emulator's SageMaker API; the events mirror what SageMaker
emits (the Training Job State Change detail is the DescribeTrainingJob response with times in
epoch milliseconds and tags as a map, as in the published samples).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from mlopscp.worlds.common import MONITORING_BUCKET, SAGEMAKER_ROLE, Plane, envelope

SPOT_JOB = "churn-train-spot"
ON_DEMAND_JOB = "churn-train-ondemand"
ENFORCED_JOB = "vision-train-ondemand"
TRAINING_PIPELINE = "churn-nightly-training"
CHECKPOINT = {
    "S3Uri": f"s3://{MONITORING_BUCKET}/training/churn/checkpoints",
    "LocalPath": "/opt/ml/checkpoints",
}
# A model whose owners opted in to enforcing the Spot guardrail on their training jobs.
ENFORCING_STORY = "its owners enforce the Spot guardrail: an on-demand training job is stopped"
ENFORCING_MODEL = {
    "model_id": "vision",
    "endpoint_name": "vision-prod",
    "guardrails": {"enforce": ["training.no_spot"]},
}


def seed(plane: Plane) -> None:
    """Training jobs for the Spot and guardrail scenarios, a training pipeline, and the model
    that enforces its guardrails."""
    from mlops_runtime.model_config import ModelConfig

    create_training_job(plane, SPOT_JOB, spot=True, model_id="churn")
    create_training_job(plane, ON_DEMAND_JOB, spot=False, model_id="churn")
    create_training_job(plane, ENFORCED_JOB, spot=False, model_id="vision")
    plane.emu.client("sagemaker").create_pipeline(
        PipelineName=TRAINING_PIPELINE,
        RoleArn=SAGEMAKER_ROLE,
        PipelineDefinition=json.dumps(
            {
                "Version": "2020-12-01",
                "Steps": [{"Name": "TrainModel", "Type": "Training", "Arguments": {}}],
            }
        ),
    )
    config = ModelConfig.model_validate(ENFORCING_MODEL)
    plane.emu.client("dynamodb").put_item(
        TableName=plane.outputs["ModelConfigTableName"],
        Item={"id": {"S": "model#vision"}, "value": {"S": config.model_dump_json()}},
    )


def create_training_job(
    plane: Plane,
    name: str,
    *,
    spot: bool,
    model_id: str,
    tags: dict[str, str] | None = None,
) -> None:
    request: dict[str, Any] = {
        "TrainingJobName": name,
        "RoleArn": SAGEMAKER_ROLE,
        "AlgorithmSpecification": {
            "TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
            "TrainingInputMode": "File",
        },
        "HyperParameters": {"max_depth": "5", "eta": "0.2", "num_round": "200"},
        "Environment": {"MODEL_ID": model_id},
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": f"s3://{MONITORING_BUCKET}/training/{model_id}/data",
                    }
                },
            }
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{MONITORING_BUCKET}/training/{model_id}/out"},
        "ResourceConfig": {
            "InstanceType": "ml.m5.xlarge",
            "InstanceCount": 1,
            "VolumeSizeInGB": 30,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "EnableManagedSpotTraining": spot,
        "Tags": [
            {"Key": k, "Value": v}
            for k, v in (
                {"mlopscp:model-id": model_id, "team": "ml-platform"} | (tags or {})
            ).items()
        ],
    }
    if spot:
        request["StoppingCondition"]["MaxWaitTimeInSeconds"] = 7200
        request["CheckpointConfig"] = CHECKPOINT
    plane.emu.client("sagemaker").create_training_job(**request)


def described_job(plane: Plane, name: str) -> dict[str, Any]:
    """DescribeTrainingJob with the job's tags as a dict (ListTags)."""
    sagemaker = plane.emu.client("sagemaker")
    job: dict[str, Any] = sagemaker.describe_training_job(TrainingJobName=name)
    job.pop("ResponseMetadata", None)
    tags = sagemaker.list_tags(ResourceArn=job["TrainingJobArn"])["Tags"]
    job["Tags"] = {t["Key"]: t["Value"] for t in tags}
    return job


def lineage_jobs(plane: Plane, lineage: str) -> dict[str, dict[str, Any]]:
    """Every training job of a lineage (the original and the copies that carry its tag)."""
    sagemaker = plane.emu.client("sagemaker")
    summaries = sagemaker.list_training_jobs(NameContains=lineage, MaxResults=100)[
        "TrainingJobSummaries"
    ]
    jobs = {s["TrainingJobName"]: described_job(plane, s["TrainingJobName"]) for s in summaries}
    return {
        name: job
        for name, job in jobs.items()
        if name == lineage or job["Tags"].get("mlopscp:lineage") == lineage
    }


def training_job_event(plane: Plane, name: str) -> dict[str, Any]:
    """The Training Job State Change SageMaker emits for the job's current status."""
    job = described_job(plane, name)
    detail = json.loads(json.dumps(job, default=_epoch_ms))
    return envelope(
        "aws.sagemaker", "SageMaker Training Job State Change", detail, [job["TrainingJobArn"]]
    )


def start_training_run(plane: Plane) -> tuple[str, str]:
    """A run of the training pipeline whose TrainModel step started a Spot training job (SageMaker
    Pipelines tags it with the execution); returns (execution ARN, job name)."""
    sagemaker = plane.emu.client("sagemaker")
    execution = sagemaker.start_pipeline_execution(
        PipelineName=TRAINING_PIPELINE, ClientRequestToken=uuid.uuid4().hex
    )["PipelineExecutionArn"]
    job = f"pipelines-{execution.rsplit('/', 1)[-1]}-TrainModel-{uuid.uuid4().hex[:10]}"
    create_training_job(
        plane,
        job,
        spot=True,
        model_id="churn",
        tags={"sagemaker:pipeline-execution-arn": execution},
    )
    return execution, job


def step_failed_event(plane: Plane, execution: str, job: str) -> dict[str, Any]:
    """The Pipeline Execution Step Status Change of the failed TrainModel step."""
    described = described_job(plane, job)
    pipeline = execution.split("/execution/")[0]
    detail = {
        "metadata": {"trainingJob": {"arn": described["TrainingJobArn"]}},
        "stepName": "TrainModel",
        "stepType": "Training",
        "previousStepStatus": "Executing",
        "currentStepStatus": "Failed",
        "failureReason": described.get("FailureReason") or str(described.get("SecondaryStatus")),
        "pipelineArn": pipeline,
        "pipelineExecutionArn": execution,
    }
    return envelope(
        "aws.sagemaker",
        "SageMaker Model Building Pipeline Execution Step Status Change",
        detail,
        [pipeline, execution],
    )


def endpoint_in_service_event(plane: Plane, endpoint: str) -> dict[str, Any]:
    described = plane.emu.client("sagemaker").describe_endpoint(EndpointName=endpoint)
    detail = {
        "EndpointName": endpoint,
        "EndpointArn": described["EndpointArn"],
        "EndpointConfigName": described["EndpointConfigName"],
        "EndpointStatus": "IN_SERVICE",  # the events' spelling of InService
        "Tags": {},
    }
    return envelope(
        "aws.sagemaker", "SageMaker Endpoint State Change", detail, [described["EndpointArn"]]
    )


def _epoch_ms(value: Any) -> Any:
    if hasattr(value, "timestamp"):
        return str(int(value.timestamp() * 1000))  # as SageMaker writes times in this event
    raise TypeError(type(value))
