"""The SageMaker operations moto lacks or answers too simply, added to moto's own classes.

This is the ONE place that extends moto's SageMaker: this module wires the operations in
(:func:`install`, :func:`uninstall`) and re-exports the hooks; each area has a module of its own
(:mod:`.monitoring`, :mod:`.pipelines`, :mod:`.endpoints`, :mod:`.experiments`, :mod:`.registry`,
:mod:`.training`, :mod:`.recommender`) on two shared ones (:mod:`.lifecycle`: transitional
statuses; :mod:`.state`: what the extension keeps on moto's objects). Requests and responses keep
AWS's shapes: each operation is a method on moto's ``SageMakerResponse`` returning an
``ActionResult`` that moto serialises against botocore's service model, and boto3 validates
every request. State lives
on moto's backend (``SageMakerModelBackend``), per account and region, so ``/moto-api/reset``
clears it. :func:`install` / :func:`uninstall` apply and remove every patch; the
:class:`~mlopscp_emulator.Emulator` does both, and an in-process ``mock_aws`` test can too.

Operations added or changed, and why:

- Monitoring (moto has none): CreateMonitoringSchedule, DescribeMonitoringSchedule,
  ListMonitoringSchedules (filters EndpointName, MonitoringTypeEquals, NameContains,
  StatusEquals), DeleteMonitoringSchedule, StopMonitoringSchedule, StartMonitoringSchedule,
  ListMonitoringExecutions (filters MonitoringScheduleName, EndpointName, MonitoringTypeEquals,
  StatusEquals; sorted by ScheduledTime, newest first, by default). Executions exist only through
  the :func:`record_monitoring_execution` hook, which also creates the backing processing job:
  DescribeProcessingJob then returns ``MonitoringScheduleArn``, ``ExitMessage`` and the
  ``ProcessingOutputConfig`` with the report's S3 URI, as AWS does.
- Pipelines: StartPipelineExecution honours ``ClientRequestToken`` (the same token returns the same
  execution) and starts in ``Executing`` instead of ``Succeeded``; DescribePipelineExecution and
  ListPipelineExecutions report the real status and ``FailureReason`` (moto hard-codes them);
  RetryPipelineExecution (Failed -> Executing, same ARN, idempotent on ClientRequestToken),
  StopPipelineExecution (-> Stopping -> Stopped), ListPipelineExecutionSteps (steps set by the
  :func:`set_pipeline_execution_steps` hook). :func:`set_pipeline_execution_status` ends one.
- Endpoints: CreateEndpoint goes Creating -> InService (or Failed with ``FailureReason`` after
  :func:`fail_next_create`); UpdateEndpoint (moto has none) goes Updating -> InService on the new
  EndpointConfigName, keeping ``DeploymentConfig`` as ``LastDeploymentConfig`` and honouring
  RetainAllVariantProperties. If :func:`fail_next_update` was called for the endpoint, or one of
  the ``AutoRollbackConfiguration`` alarms is in ALARM in moto's CloudWatch when the update
  settles, it rolls back as AWS does: RollingBack, then InService on the OLD config with
  ``FailureReason`` set. DescribeEndpoint's ``ProductionVariants`` carry Current/Desired
  InstanceCount and weight (the config's initial values, moto's) and its ``DataCaptureConfig``
  is AWS's summary (EnableCapture, CaptureStatus, CurrentSamplingPercentage, DestinationS3Uri).
  UpdateEndpointWeightsAndCapacities (what Application Auto Scaling calls to scale a variant)
  keeps what the request leaves out, refuses an endpoint that is not InService and goes
  Updating -> InService.
- Endpoint configs: CreateEndpointConfig keeps ``ShadowProductionVariants`` (moto drops them);
  DescribeEndpointConfig returns them and ``DataCaptureConfig``.
- Shadow tests (moto has none): CreateInferenceExperiment, DescribeInferenceExperiment,
  ListInferenceExperiments, StartInferenceExperiment, StopInferenceExperiment (ModelVariantActions
  Promote | Remove | Retain applied to the endpoint's variants, DesiredModelVariants, DesiredState),
  UpdateInferenceExperiment. Status: Creating -> Created -> (StartInferenceExperiment, or the
  schedule's StartTime passing) Starting -> Running -> (Stop) Stopping -> Completed | Cancelled;
  Update shows Updating, then the status it had.
- Model registry: Put/Get/DeleteModelPackageGroupPolicy (moto has none); CreateModel from a
  model package of ANOTHER account checks that package exists there and that its group's
  resource policy lets the caller's account ``sagemaker:DescribeModelPackage`` it (else
  AccessDeniedException, as AWS answers); AddTags / ListTags /
  DeleteTags on model-package ARNs (moto cannot parse ``model-package/<group>/<version>``),
  and CreateModelPackage keeps its Tags.
- Training: CreateTrainingJob starts InProgress (Starting) and settles to Completed; moto already
  keeps EnableManagedSpotTraining, CheckpointConfig, StoppingCondition (MaxWaitTimeInSeconds)
  and Tags; the extension keeps what moto drops (Environment, RetryStrategy, profiler, remote
  debug and infra-check settings, the request's own AlgorithmSpecification) and refuses a name
  twice with ResourceInUse, as AWS does (moto would replace the job). StopTrainingJob (moto has
  none): Stopping -> Stopped. :func:`set_training_job_status` sets any status (and cancels the
  automatic lifecycle).

- Inference Recommender (moto has none): CreateInferenceRecommendationsJob,
  DescribeInferenceRecommendationsJob, ListInferenceRecommendationsJobs (filters NameContains,
  StatusEquals, ModelNameEquals, ModelPackageVersionArnEquals; newest first; NextToken),
  StopInferenceRecommendationsJob. PENDING -> IN_PROGRESS -> COMPLETED (STOPPING -> STOPPED);
  the measurements are the :func:`set_recommendation_results` hook's, per model and instance
  type; a job about a model without any ends FAILED with the reason.

Lifecycles: a transitional status (Creating, Updating, RollingBack, Starting, Stopping, ...) is
shown by :data:`LIFECYCLE` ``.describes`` Describe calls (default 1), then the next Describe shows
the following status; with ``LIFECYCLE.seconds`` set, a status also settles once that long has
passed. ``configure(describes=0)`` makes every transition settle on the first Describe.
Waiters (``endpoint_in_service`` ...) work against it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionResult
from moto.sagemaker.models import FakeProcessingJob, SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse

from mlopscp_emulator._patching import Patches
from mlopscp_emulator.sagemaker_ext.endpoints import (
    create_endpoint,
    create_endpoint_config,
    describe_endpoint,
    fail_next_create,
    fail_next_update,
    forget_failures,
    update_endpoint,
    update_endpoint_weights_and_capacities,
)
from mlopscp_emulator.sagemaker_ext.experiments import (
    FakeInferenceExperiment,
    create_inference_experiment,
    describe_inference_experiment,
    list_inference_experiments,
    start_inference_experiment,
    stop_inference_experiment,
    update_inference_experiment,
)
from mlopscp_emulator.sagemaker_ext.lifecycle import LIFECYCLE, configure
from mlopscp_emulator.sagemaker_ext.monitoring import (
    FakeMonitoringSchedule,
    create_monitoring_schedule,
    delete_monitoring_schedule,
    describe_monitoring_schedule,
    list_monitoring_executions,
    list_monitoring_schedules,
    record_monitoring_execution,
    start_monitoring_schedule,
    stop_monitoring_schedule,
)
from mlopscp_emulator.sagemaker_ext.pipelines import (
    describe_pipeline_execution,
    list_pipeline_execution_steps,
    list_pipeline_executions,
    retry_pipeline_execution,
    set_pipeline_execution_status,
    set_pipeline_execution_steps,
    start_pipeline_execution,
    stop_pipeline_execution,
)
from mlopscp_emulator.sagemaker_ext.recommender import (
    create_inference_recommendations_job,
    describe_inference_recommendations_job,
    forget_results,
    list_inference_recommendations_jobs,
    set_recommendation_results,
    stop_inference_recommendations_job,
)
from mlopscp_emulator.sagemaker_ext.registry import (
    create_model,
    create_model_package,
    delete_model_package_group_policy,
    get_model_package_group_policy,
    get_resource_from_arn,
    put_model_package_group_policy,
    update_model_package,
)
from mlopscp_emulator.sagemaker_ext.state import Params
from mlopscp_emulator.sagemaker_ext.training import (
    create_training_job,
    create_training_job_request,
    describe_training_job,
    set_training_job_status,
    stop_training_job,
)

# Operations moto does not have: backend function taking the request, returning the response.
_NEW_OPERATIONS: dict[str, Callable[[SageMakerModelBackend, Params], dict[str, Any]]] = {
    "create_monitoring_schedule": create_monitoring_schedule,
    "describe_monitoring_schedule": describe_monitoring_schedule,
    "list_monitoring_schedules": list_monitoring_schedules,
    "delete_monitoring_schedule": delete_monitoring_schedule,
    "stop_monitoring_schedule": stop_monitoring_schedule,
    "start_monitoring_schedule": start_monitoring_schedule,
    "list_monitoring_executions": list_monitoring_executions,
    "retry_pipeline_execution": retry_pipeline_execution,
    "stop_pipeline_execution": stop_pipeline_execution,
    "list_pipeline_execution_steps": list_pipeline_execution_steps,
    "update_endpoint": update_endpoint,
    "create_inference_experiment": create_inference_experiment,
    "describe_inference_experiment": describe_inference_experiment,
    "list_inference_experiments": list_inference_experiments,
    "start_inference_experiment": start_inference_experiment,
    "stop_inference_experiment": stop_inference_experiment,
    "update_inference_experiment": update_inference_experiment,
    "put_model_package_group_policy": put_model_package_group_policy,
    "get_model_package_group_policy": get_model_package_group_policy,
    "delete_model_package_group_policy": delete_model_package_group_policy,
    "stop_training_job": stop_training_job,
    "create_inference_recommendations_job": create_inference_recommendations_job,
    "describe_inference_recommendations_job": describe_inference_recommendations_job,
    "list_inference_recommendations_jobs": list_inference_recommendations_jobs,
    "stop_inference_recommendations_job": stop_inference_recommendations_job,
}
# moto backend methods wrapped to change their behaviour.
_WRAPPED_BACKEND = {
    "start_pipeline_execution": start_pipeline_execution,
    "describe_pipeline_execution": describe_pipeline_execution,
    "list_pipeline_executions": list_pipeline_executions,
    "create_endpoint": create_endpoint,
    "describe_endpoint": describe_endpoint,
    "update_endpoint_weights_and_capacities": update_endpoint_weights_and_capacities,
    "_get_resource_from_arn": get_resource_from_arn,
    "create_model_package": create_model_package,
    "update_model_package": update_model_package,
    "create_model": create_model,
    "create_training_job": create_training_job,
    "describe_training_job": describe_training_job,
}
_patches = Patches()
_installed = False


def _respond(operation: Callable[[SageMakerModelBackend, Params], dict[str, Any]]) -> Any:
    def respond(response: SageMakerResponse) -> ActionResult:
        return ActionResult(operation(response.sagemaker_backend, dict(response.params)))

    return respond


def install() -> None:
    """Apply every patch (idempotent)."""
    global _installed
    if _installed:
        return
    for name, operation in _NEW_OPERATIONS.items():
        _patches.set(SageMakerResponse, name, _respond(operation))
    for name, wrap in _WRAPPED_BACKEND.items():
        original = _patches.set(SageMakerModelBackend, name, None)
        _patches.set(SageMakerModelBackend, name, wrap(original))
    original = _patches.set(SageMakerResponse, "create_endpoint_config", None)
    _patches.set(SageMakerResponse, "create_endpoint_config", create_endpoint_config(original))
    original = _patches.set(SageMakerResponse, "create_training_job", None)
    _patches.set(SageMakerResponse, "create_training_job", create_training_job_request(original))
    _installed = True


def uninstall() -> None:
    global _installed
    _patches.undo()
    forget_failures()
    forget_results()
    _installed = False


__all__ = [
    "LIFECYCLE",
    "FakeInferenceExperiment",
    "FakeMonitoringSchedule",
    "FakeProcessingJob",
    "configure",
    "fail_next_create",
    "fail_next_update",
    "install",
    "record_monitoring_execution",
    "set_pipeline_execution_status",
    "set_pipeline_execution_steps",
    "set_recommendation_results",
    "set_training_job_status",
    "uninstall",
]
