"""The shape of the house (issue 15), kept by a test so it holds:

- no module under ``layers/`` over 600 lines (one concept per module);
- no handler (``functions/*/app.py``) over 120 lines (parse -> decide -> apply -> return);
- no import cycle among the project's own modules (``layers/shared``, ``functions``,
  ``tooling`` and the ``emulator`` package), function-local imports
  included, found on the source with ``ast``; a module is named as it is imported (packages
  are folders with ``__init__.py``), so no build configuration has to list them;
- every folder under ``layers/`` and ``functions/`` says what lives there: a package's
  ``__init__.py`` docstring or a README.md (a function folder: its ``app.py`` docstring).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_LAYER_MODULE_LINES = 600
MAX_HANDLER_LINES = 120
# The project's code, the emulator's package included (its tests excluded).
SCANNED = ("layers/shared", "functions", "tooling", "emulator")


def _python_files(*folders: str) -> list[Path]:
    return sorted(
        path
        for folder in folders
        for path in (ROOT / folder).rglob("*.py")
        if "__pycache__" not in path.parts
    )


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines())


# ---------------------------------------------------------------- sizes


def test_no_module_under_layers_exceeds_600_lines() -> None:
    files = _python_files("layers")
    assert files, "no modules under layers/"
    long = {
        str(p.relative_to(ROOT)): _lines(p) for p in files if _lines(p) > MAX_LAYER_MODULE_LINES
    }
    assert not long, f"split these by concept (at most {MAX_LAYER_MODULE_LINES} lines): {long}"


def test_no_handler_exceeds_120_lines() -> None:
    handlers = sorted(ROOT.glob("functions/*/app.py"))
    assert handlers, "no functions/*/app.py"
    long = {p.parent.name: _lines(p) for p in handlers if _lines(p) > MAX_HANDLER_LINES}
    assert not long, (
        f"a handler reads as parse -> decide -> apply -> return (at most {MAX_HANDLER_LINES} "
        f"lines): move decisions to mlops_core and AWS calls to mlops_runtime: {long}"
    )


# ---------------------------------------------------------------- the import graph


def module_name(path: Path) -> str:
    """The name a file is imported by: inside a package (folders with ``__init__.py``, up to the
    first without) its dotted name, as on sys.path (``tooling/mlopscp/demo.py`` ->
    ``mlopscp.demo``); a file outside any package its path, dotted (``functions.notify.app``,
    ``tooling.bench.report``)."""
    if not (path.parent / "__init__.py").is_file():
        return ".".join(path.relative_to(ROOT).with_suffix("").parts)
    top = path.parent
    while (top.parent / "__init__.py").is_file():
        top = top.parent
    parts = path.relative_to(top.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Ids of import nodes under ``if TYPE_CHECKING:`` (never run, so never a cycle)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for body in node.body for child in ast.walk(body))
    return skipped


def imported_names(source: str, module: str, is_package: bool) -> Iterator[str]:
    """Every name an import statement imports, anywhere in the file (function-local too),
    relative imports resolved: ``import a.b`` -> a.b; ``from a import b`` -> a.b (a module,
    or an attribute of module a: the graph keeps the longest prefix that is a module)."""
    tree = ast.parse(source)
    skipped = _type_checking_only(tree)
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{anchor}.{base}" if base else anchor
            yield from (f"{base}.{alias.name}" for alias in node.names)


def import_graph() -> dict[str, set[str]]:
    """Module -> the project's own modules it imports (the deepest one each import names)."""
    folders = [folder for folder in SCANNED if (ROOT / folder).is_dir()]
    code = [p for p in _python_files(*folders) if "tests" not in p.relative_to(ROOT).parts]
    files = {module_name(p): p for p in code}
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        is_package = path.name == "__init__.py"
        siblings = path.parent
        targets = set()
        for name in imported_names(path.read_text(), module, is_package):
            if module.startswith(("tooling.", "functions.")) and name.split(".")[0] in {
                p.stem for p in siblings.glob("*.py")
            }:
                # A script's folder is first on sys.path: a bare name is its sibling.
                name = module.rpartition(".")[0] + "." + name
            while name and name not in files:
                name = name.rpartition(".")[0]
            if name:
                targets.add(name)
        graph[module] = targets - {module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components with more than one module (Tarjan), each a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _shown(cycle: frozenset[str], graph: dict[str, set[str]]) -> str:
    edges = sorted(f"{a} -> {b}" for a in cycle for b in graph[a] if b in cycle)
    return f"{{{', '.join(sorted(cycle))}}} via {'; '.join(edges)}"


def test_the_import_graph_sees_the_projects_modules_and_their_imports() -> None:
    graph = import_graph()
    assert "mlops_core.promotion" in graph
    # a package's __init__ counts (mlops_core.promotion's re-exports load lazily: not seen)
    assert "mlopscp.pipelines.deploy" in graph["mlopscp.pipelines"]
    assert "mlops_core.promotion.async_inference" in graph["mlops_runtime.model_config"]
    assert "mlops_runtime.approval_door" in graph["functions.approval_callback.app"]
    # function-local imports count: record_refusal imports single_line where it needs it
    assert "mlops_core.untrusted" in graph["mlops_runtime.approval_service"]
    assert any(name.startswith("mlopscp.") for name in graph)


def _in_product(cycle: frozenset[str]) -> bool:
    return any(m.startswith(("mlops_core", "mlops_runtime", "functions.")) for m in cycle)


def test_no_import_cycle_in_layers_or_functions() -> None:
    graph = import_graph()
    product = [c for c in cycles(graph) if _in_product(c)]
    assert not product, "import cycles in the product:\n  " + "\n  ".join(
        _shown(c, graph) for c in product
    )


def test_no_import_cycle_in_tooling() -> None:
    graph = import_graph()
    found = [c for c in cycles(graph) if not _in_product(c)]
    assert not found, "import cycles in tooling/:\n  " + "\n  ".join(
        _shown(c, graph) for c in found
    )


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [frozenset({"a", "b", "c"})]),
        ({"a": {"b"}, "b": set(), "c": {"a", "b"}}, []),
        ({"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"c"}}, [{"a", "b"}, {"c", "d"}]),
    ],
    ids=["triangle", "none", "two"],
)
def test_cycles_are_found_by_their_modules(
    files: dict[str, set[str]], expected: list[set[str]]
) -> None:
    assert sorted(map(sorted, cycles(files))) == sorted(map(sorted, expected))


@pytest.mark.parametrize(
    ("source", "module", "is_package", "expected"),
    [
        ("import a.b", "x.y", False, {"a.b"}),
        ("from . import c", "p.q.m", False, {"p.q.c"}),
        ("from ..r import s", "p.q.m", False, {"p.r.s"}),
        ("from .m import n", "p.q", True, {"p.q.m.n"}),
        ("def f():\n    from a import b", "x", False, {"a.b"}),
        (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import a",
            "x",
            False,
            {"typing.TYPE_CHECKING"},
        ),
    ],
    ids=["absolute", "relative", "parent", "package", "local", "type-checking"],
)
def test_imports_are_resolved(
    source: str, module: str, is_package: bool, expected: set[str]
) -> None:
    assert set(imported_names(source, module, is_package)) == expected


# ---------------------------------------------------------------- folders say what lives there


def _says_what_lives_here(folder: Path) -> bool:
    readme = folder / "README.md"
    if readme.is_file() and readme.read_text().strip():
        return True
    for first in ("__init__.py", "app.py"):  # a package; a function's one module
        module = folder / first
        if module.is_file() and ast.get_docstring(ast.parse(module.read_text())):
            return True
    return False


def test_every_folder_of_layers_and_functions_says_what_lives_there() -> None:
    folders = [
        folder
        for top in ("layers", "functions")
        for folder in [ROOT / top, *(ROOT / top).rglob("*")]
        if folder.is_dir() and "__pycache__" not in folder.parts
    ]
    assert len(folders) > 10
    silent = [str(f.relative_to(ROOT)) for f in folders if not _says_what_lives_here(f)]
    assert not silent, (
        "give these folders a README.md (or a package docstring in __init__.py) saying what "
        f"lives there: {silent}"
    )
