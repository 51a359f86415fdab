"""Data preparation for the reference retraining pipeline (runs in the scikit-learn container).

Reads every CSV under the raw input, keeps the rows of the retraining window, and writes what
the next steps need:

- ``train/``, ``validation/``, ``test/``: headerless CSV with the label first, the layout the
  built-in XGBoost algorithm reads;
- ``baseline/``: the training features with a header and without the label, i.e. what the
  endpoint receives, for the data-quality baseline that Model Monitor compares traffic against.

The window is the control plane's ``DataWindowStart``/``DataWindowEnd`` (ISO-8601, either may be
empty for an open bound), widened backwards by ``--lookback-days`` so the model also sees the
history that led up to the drift, not only the drifted span.
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path

import pandas as pd

BASE = Path("/opt/ml/processing")
SPLITS = (("train", 0.7), ("validation", 0.15), ("test", 0.15))
# The containers run Python 3.8/3.9 with pandas 1.x: keep this file free of newer syntax and APIs.


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input-dir", type=Path, default=BASE / "input" / "raw")
    parser.add_argument("--output-dir", type=Path, default=BASE)
    parser.add_argument("--target-column", required=True)
    parser.add_argument("--timestamp-column", default="")
    parser.add_argument("--window-start", default="")
    parser.add_argument("--window-end", default="")
    parser.add_argument("--lookback-days", type=int, default=0)
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args(argv)


def read_raw(input_dir: Path) -> pd.DataFrame:
    files = sorted(p for p in input_dir.rglob("*.csv") if p.is_file())
    if not files:
        raise SystemExit(f"no .csv files under {input_dir}")
    return pd.concat((pd.read_csv(p) for p in files), ignore_index=True)


def select_window(frame: pd.DataFrame, args: argparse.Namespace) -> pd.DataFrame:
    column = args.timestamp_column
    if not column or column not in frame.columns:
        if args.window_start or args.window_end:
            # A window we cannot apply is logged, not fatal: a dataset without timestamps is
            # still a valid (if coarse) retraining set, and the window is recorded on the package.
            print(f"no timestamp column {column!r}: the data window is not applied", flush=True)
        return frame
    stamps = pd.to_datetime(frame[column], utc=True)
    keep = pd.Series(True, index=frame.index)
    if args.window_start:
        keep &= stamps >= utc(args.window_start) - timedelta(days=args.lookback_days)
    if args.window_end:
        keep &= stamps <= utc(args.window_end)
    return frame.loc[keep]


def utc(value: str) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_convert("UTC") if stamp.tzinfo else stamp.tz_localize("UTC")


def features_and_label(frame: pd.DataFrame, args: argparse.Namespace) -> pd.DataFrame:
    if args.target_column not in frame.columns:
        raise SystemExit(f"target column {args.target_column!r} not in {list(frame.columns)}")
    label = frame[args.target_column].astype(int)
    if set(label.unique()) - {0, 1} or label.nunique() < 2:
        raise SystemExit("the target must be binary (0/1) with both classes present")
    features = frame.drop(columns=[args.target_column, args.timestamp_column], errors="ignore")
    numeric = features.select_dtypes(include="number")
    dropped = sorted(set(features.columns) - set(numeric.columns))
    if dropped:
        print(f"non-numeric columns dropped: {dropped}", flush=True)
    return pd.concat([label.rename(args.target_column), numeric], axis=1)


def write_splits(table: pd.DataFrame, output_dir: Path, seed: int) -> dict[str, int]:
    shuffled = table.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    counts, start = {}, 0
    for index, (name, fraction) in enumerate(SPLITS):
        last = index == len(SPLITS) - 1
        stop = len(shuffled) if last else start + round(fraction * len(shuffled))
        part = shuffled.iloc[start:stop]
        (output_dir / name).mkdir(parents=True, exist_ok=True)
        part.to_csv(output_dir / name / f"{name}.csv", header=False, index=False)
        counts[name] = len(part)
        if name == "train":
            (output_dir / "baseline").mkdir(parents=True, exist_ok=True)
            part.iloc[:, 1:].to_csv(output_dir / "baseline" / "features.csv", index=False)
        start = stop
    return counts


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    frame = select_window(read_raw(args.input_dir), args)
    if len(frame) < 20:
        raise SystemExit(f"only {len(frame)} rows in the data window: too few to retrain on")
    counts = write_splits(features_and_label(frame, args), args.output_dir, args.seed)
    print(f"rows per split: {counts}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
