"""Configuration files (model configurations, triage policies) checked the way a user wants to
read the result: one line per problem, naming the file, the line and the field, with "did you
mean" for a misspelt key. Every problem is found before any is reported."""

from __future__ import annotations

import difflib
import json
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from mlopscp.output import CliError


def load_file(path: Path, model: type[BaseModel]) -> tuple[BaseModel | None, list[str]]:
    """`model` validated from the YAML or JSON file at `path`, or None and its problems."""
    import yaml

    try:
        text = path.read_text()
    except OSError as error:
        return None, [f"{path}: cannot read: {error.strerror or error}"]
    try:
        data = yaml.safe_load(text)
        tree = yaml.compose(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        what = getattr(error, "problem", None) or str(error).splitlines()[0]
        opened = getattr(error, "context_mark", None)
        if opened is not None and mark is not None and opened.line != mark.line:
            what += f" ({getattr(error, 'context', 'opened')} at line {opened.line + 1})"
        return None, [f"{where}: YAML syntax error: {what}"]
    if not isinstance(data, dict):
        return None, [f"{path}: expected a mapping of settings, found {type(data).__name__}"]
    try:
        return model.model_validate(data), []
    except ValidationError as error:
        return None, [
            f"{path}:{_line(tree, e['loc'])}: {problem(e, model)}" for e in error.errors()
        ]


def load_json_settings[M: BaseModel](path: Path, model: type[M], what: str) -> M:
    """`model` from a JSON file the user named in a flag, or a `CliError` naming every problem."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise CliError(f"{what} {path} not found") from None
    except OSError as error:
        raise CliError(f"cannot read {what} {path}: {error.strerror or error}") from None
    except ValueError as error:
        raise CliError(f"{what} {path} is not JSON: {error}") from None
    if not isinstance(data, dict):
        raise CliError(f"{what} {path} must hold a JSON object of settings")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        found = "; ".join(problem(e, model) for e in error.errors())
        raise CliError(f"{what} {path}: {found}") from None


def problem(error: Any, model: type[BaseModel]) -> str:
    """One pydantic error as one line: the field's dotted path and what is wrong with it."""
    loc = tuple(error["loc"])
    field = ".".join(str(part) for part in loc) or "(top level)"
    if error["type"] == "extra_forbidden":
        known = _keys_at(model, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        guess = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown key {field!r}{guess}"
    if error["type"] == "missing":
        return f"{field}: required"
    return f"{field}: {error['msg']}"


def _keys_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys a mapping at `loc` inside `model` may hold (aliases included)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or not (
            isinstance(current, type) and issubclass(current, BaseModel)
        ):
            continue
        info = current.model_fields.get(str(part))
        if info is None:
            return []
        current = _model_in(info.annotation)
    if not (isinstance(current, type) and issubclass(current, BaseModel)):
        return []
    return [
        name for key, info in current.model_fields.items() for name in (key, info.alias) if name
    ]


def _model_in(annotation: Any) -> Any:
    """The pydantic model inside an annotation like `Model | None` or `list[Model]`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        for argument in typing.get_args(annotation):
            found = _model_in(argument)
            if found is not None:
                return found
    return None


def _line(node: Any, loc: tuple[Any, ...]) -> int:
    """The 1-based line of the deepest node along `loc` in a composed YAML tree."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        children = getattr(node, "value", None)
        if not isinstance(children, list):
            break
        if isinstance(part, int) and part < len(children):
            node = children[part]
        else:
            pair = next(
                (pair for pair in children if isinstance(pair, tuple) and pair[0].value == part),
                None,
            )
            if pair is None:
                break
            node = pair[0] if part == loc[-1] else pair[1]
        line = node.start_mark.line + 1
    return line
