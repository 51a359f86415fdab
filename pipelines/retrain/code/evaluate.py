"""Evaluation for the reference retraining pipeline (runs in the XGBoost container that trained
the model, so the model loads with the library that wrote it).

Writes two files:

- ``evaluation/evaluation.json``: the candidate's metrics in Model Monitor's model-quality
  statistics layout (``binary_classification_metrics.<metric>.value``), registered as the
  package's ModelQuality statistics; a ``quality_gate`` block: the production package's metric
  and the bound the candidate must reach, which the pipeline's Condition step reads; and a
  ``registration`` block: the incident and data window made fit for the Model Registry
  (CustomerMetadataProperties values must be 1-256 characters from a small set; the control
  plane sends an empty window when it has none).
- ``predictions/predictions.csv``: label, probability and prediction per test row, with a
  header, from which the model-quality baseline is computed.

The production metric is read here, at run time, from the Model Registry (the approved package
named by ``--production-model-package-arn``, else the latest Approved package of the group):
the registry is the one source of truth, and Pipelines conditions cannot do arithmetic, so the
bound ``production - tolerance`` has to be computed by a step anyway.
"""

from __future__ import annotations

import argparse
import json
import pickle
import re
import sys
import tarfile
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pandas as pd
import xgboost
from sklearn import metrics

BASE = Path("/opt/ml/processing")
# The containers run Python 3.8/3.9 with pandas 1.x and scikit-learn 0.24: keep this file free
# of newer syntax and APIs.
METADATA_VALUE_LIMIT = 256
# Characters CustomerMetadataProperties values may hold (letters, digits, spaces, _.:/=+-@).
NOT_METADATA = re.compile(r"[^\w .:/=+\-@]+")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-dir", type=Path, default=BASE / "model")
    parser.add_argument("--test-dir", type=Path, default=BASE / "test")
    parser.add_argument("--output-dir", type=Path, default=BASE)
    parser.add_argument("--metric", default="auc", help="key under binary_classification_metrics")
    parser.add_argument("--greater-is-better", default="true", choices=("true", "false"))
    parser.add_argument("--regression-tolerance", type=float, default=0.0)
    parser.add_argument("--model-package-group", default="")
    parser.add_argument("--production-model-package-arn", default="")
    parser.add_argument("--decision-threshold", type=float, default=0.5)
    parser.add_argument("--incident-id", default="")
    parser.add_argument("--data-window-start", default="")
    parser.add_argument("--data-window-end", default="")
    return parser.parse_args(argv)


def load_booster(model_dir: Path) -> xgboost.Booster:
    archive = model_dir / "model.tar.gz"
    if archive.exists():
        with tarfile.open(archive) as tar:
            tar.extractall(model_dir)  # noqa: S202 - our own training job's artifact
    path = model_dir / "xgboost-model"
    booster = xgboost.Booster()
    try:
        booster.load_model(str(path))
    except xgboost.core.XGBoostError:
        # Algorithm versions before 1.3-1 pickled the booster instead of saving it natively.
        with open(path, "rb") as handle:
            booster = pickle.load(handle)  # noqa: S301 - our own training job's artifact
    return booster


def read_test(test_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    frames = [pd.read_csv(p, header=None) for p in sorted(test_dir.glob("*.csv"))]
    table = pd.concat(frames, ignore_index=True)
    return table.iloc[:, 0].to_numpy(dtype=int), table.iloc[:, 1:].to_numpy(dtype=float)


def candidate_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict:
    predictions = (scores >= threshold).astype(int)
    values = {
        "auc": metrics.roc_auc_score(labels, scores),
        "accuracy": metrics.accuracy_score(labels, predictions),
        "precision": metrics.precision_score(labels, predictions, zero_division=0),
        "recall": metrics.recall_score(labels, predictions, zero_division=0),
        "f1": metrics.f1_score(labels, predictions, zero_division=0),
    }
    return {name: {"value": float(value)} for name, value in values.items()}


def latest_approved(sagemaker, group: str) -> str:
    from botocore.exceptions import ClientError

    try:
        found = sagemaker.list_model_packages(
            ModelPackageGroupName=group,
            ModelApprovalStatus="Approved",
            SortBy="CreationTime",
            SortOrder="Descending",
            MaxResults=1,
        )["ModelPackageSummaryList"]
    except ClientError as error:
        # A group that does not exist yet has no production model; anything else (a denied
        # call above all) must fail the step rather than quietly skip the comparison.
        if error.response["Error"]["Code"] not in ("ValidationException", "ResourceNotFound"):
            raise
        return ""
    return found[0]["ModelPackageArn"] if found else ""


def production_metric(args: argparse.Namespace) -> tuple[str | None, float | None, str]:
    """(package arn, its metric, why) for the package the candidate must not regress from."""
    import boto3  # only this path needs AWS; keeps the metric code testable offline

    sagemaker = boto3.client("sagemaker")
    arn = args.production_model_package_arn
    if not arn and args.model_package_group:
        arn = latest_approved(sagemaker, args.model_package_group)
    if not arn:
        return None, None, "no approved package to compare with"
    package = sagemaker.describe_model_package(ModelPackageName=arn)
    uri = package.get("ModelMetrics", {}).get("ModelQuality", {}).get("Statistics", {})
    if not uri.get("S3Uri"):
        return arn, None, "production package has no ModelQuality statistics"
    location = urlparse(uri["S3Uri"])
    body = boto3.client("s3").get_object(Bucket=location.netloc, Key=location.path.lstrip("/"))
    statistics = json.loads(body["Body"].read())
    value = statistics.get("binary_classification_metrics", {}).get(args.metric, {}).get("value")
    if value is None:
        return arn, None, f"production statistics have no {args.metric}"
    return arn, float(value), "compared with the production package"


def quality_gate(args: argparse.Namespace, candidate: float) -> dict:
    arn, production, why = production_metric(args)
    greater = args.greater_is_better == "true"
    if production is None:
        # Nothing to regress from: the bound is the candidate itself, so only the threshold gates.
        bound = candidate
    else:
        tolerance = args.regression_tolerance
        bound = production - tolerance if greater else production + tolerance
    shown = "none" if production is None else f"{production:.4f}"
    summary = (
        f"{args.metric} {candidate:.4f} production {shown} bound {bound:.4f} - {why}"
        f"{' ' + arn if arn else ''}"
    )
    return {
        "metric": args.metric,
        "greater_is_better": greater,
        "candidate": candidate,
        "production": production,
        "production_model_package_arn": arn,
        "regression_tolerance": args.regression_tolerance,
        "production_bound": bound,
        "summary": metadata_value(summary),
    }


def metadata_value(text: str, empty: str = "none") -> str:
    cleaned = " ".join(NOT_METADATA.sub(" ", text).split())[:METADATA_VALUE_LIMIT].strip()
    return cleaned or empty


def registration(args: argparse.Namespace) -> dict:
    return {
        "incident_id": metadata_value(args.incident_id, empty="manual"),
        "data_window_start": metadata_value(args.data_window_start, empty="open"),
        "data_window_end": metadata_value(args.data_window_end, empty="open"),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    booster = load_booster(args.model_dir)
    labels, features = read_test(args.test_dir)
    scores = booster.predict(xgboost.DMatrix(features))
    results = candidate_metrics(labels, scores, args.decision_threshold)
    if args.metric not in results:
        raise SystemExit(f"unknown metric {args.metric!r}; known: {sorted(results)}")
    report = {
        "binary_classification_metrics": results,
        "quality_gate": quality_gate(args, results[args.metric]["value"]),
        "registration": registration(args),
    }
    (args.output_dir / "evaluation").mkdir(parents=True, exist_ok=True)
    (args.output_dir / "evaluation" / "evaluation.json").write_text(json.dumps(report, indent=2))
    predictions = pd.DataFrame(
        {
            "label": labels,
            "probability": scores,
            "prediction": (scores >= args.decision_threshold).astype(int),
        }
    )
    (args.output_dir / "predictions").mkdir(parents=True, exist_ok=True)
    predictions.to_csv(args.output_dir / "predictions" / "predictions.csv", index=False)
    print(json.dumps(report["quality_gate"]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
