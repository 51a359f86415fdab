"""Every venv and the Lambda layer install from hash-pinned lock files, and the locks match
what their inputs ask for.

- the Makefile's LOCKS lists every requirements file of the repository that installs anything;
  each is a lock: every entry an exact ``==`` pin with at least one sha256, compiled by
  ``make lock`` from an input;
- each requirement of an input (a ``.in`` file, and for .venv the pyproject.toml of the project
  and of the emulator) is in its lock, at a version the input allows: a dependency added without
  ``make lock`` fails here;
- every ``pip install`` in a Makefile installs a lock with ``--require-hashes``, or one of the
  repository's own packages (``--no-deps``, no build isolation): the project or the emulator.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
MAKEFILE = (ROOT / "Makefile").read_text()
MAKEFILES = [ROOT / "Makefile", *sorted((ROOT / "layers").glob("*/Makefile"))]
# The interpreter every lock targets (the Lambda runtime and .venv).
TARGET = {
    "python_version": "3.13",
    "python_full_version": "3.13.0",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "os_name": "posix",
}
ENTRY = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+?)(?:\s*;\s*(?P<marker>.+?))?\s*\\?$"
)
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")
# The repository's own packages, installed editable into .venv: folder -> its pyproject.toml.
OWN_PACKAGES = {".": ROOT / "pyproject.toml", "emulator": ROOT / "emulator" / "pyproject.toml"}


def make_variable(name: str, text: str = MAKEFILE) -> list[str]:
    """Words of a `NAME := ...` definition, continuation lines included."""
    match = re.search(rf"^{name} :=((?:.*\\\n)*.*)$", text, flags=re.M)
    assert match, f"the Makefile defines no {name}"
    return match.group(1).replace("\\\n", " ").split()


LOCKS = make_variable("LOCKS")


def lock_entries(text: str) -> list[tuple[str, Version, str | None, list[str]]]:
    """(name, version, marker, hashes) of each entry of a uv/pip-tools lock file."""
    entries: list[tuple[str, Version, str | None, list[str]]] = []
    for raw in text.split("\n"):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("--hash="):
            assert entries, f"a hash before any entry: {line}"
            entries[-1][3].extend(HASH.findall(line))
            continue
        match = ENTRY.match(line)
        assert match, f"not an exact pin: {line!r}"
        entries.append(
            (canonicalize_name(match["name"]), Version(match["version"]), match["marker"], [])
        )
    return entries


def input_requirements(lock: str) -> list[Requirement]:
    """What the lock's inputs ask for: its .in file, and both pyproject files for .venv's lock."""
    path = ROOT / lock.removesuffix(".txt")
    found = [
        Requirement(line.split("#", 1)[0].strip())
        for line in path.with_name(path.name + ".in").read_text().splitlines()
        if line.split("#", 1)[0].strip()
    ]
    if lock == "requirements-dev.txt":
        for pyproject in OWN_PACKAGES.values():
            project = tomllib.loads(pyproject.read_text())["project"]
            found += [Requirement(r) for r in project["dependencies"]]
            found += [Requirement(r) for r in project["optional-dependencies"]["dev"]]
    return found


def pinned_for_target(lock: str) -> dict[str, Version]:
    """name -> the version pip installs from the lock on python3.13, Linux x86_64."""
    return {
        name: version
        for name, version, marker, _ in lock_entries((ROOT / lock).read_text())
        if marker is None or Marker(marker).evaluate(TARGET)
    }


def pip_installs() -> list[tuple[str, str]]:
    """(makefile, command) of every `pip install` line, continuation lines joined."""
    found = []
    for makefile in MAKEFILES:
        text = makefile.read_text().replace("\\\n", " ")
        for line in text.splitlines():
            if re.search(r"\bpip install\b|\$\(PIP_LOCKED\)", line) and ":=" not in line:
                found.append((str(makefile.relative_to(ROOT)), " ".join(line.split())))
    return found


# ---------------------------------------------------------------- the contract


def test_every_requirements_file_is_a_listed_lock() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*requirements*.txt"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert tracked, "git lists no requirements file"
    # A function's own requirements.txt lists nothing (its packages come from the layers).
    unlisted = sorted(
        path
        for path in set(tracked) - set(LOCKS)
        if any(line.split("#", 1)[0].strip() for line in (ROOT / path).read_text().splitlines())
    )
    assert not unlisted, (
        f"requirements files that are not locks in the Makefile's LOCKS: {unlisted}"
    )
    missing = sorted(lock for lock in LOCKS if not (ROOT / lock).is_file())
    assert not missing, f"LOCKS names files that do not exist: {missing}"


@pytest.mark.parametrize("lock", LOCKS)
def test_every_entry_is_pinned_with_hashes(lock: str) -> None:
    text = (ROOT / lock).read_text()
    assert "make lock" in text.split("\n", 3)[1], f"{lock}: not written by `make lock`"
    entries = lock_entries(text)
    assert entries, f"{lock}: no entries"
    unhashed = [name for name, _, _, hashes in entries if not hashes]
    assert not unhashed, f"{lock}: entries without a sha256: {unhashed}"


@pytest.mark.parametrize("lock", LOCKS)
def test_the_lock_satisfies_its_inputs(lock: str) -> None:
    pinned = pinned_for_target(lock)
    problems = []
    for requirement in input_requirements(lock):
        if requirement.marker and not requirement.marker.evaluate(TARGET):
            continue
        name = canonicalize_name(requirement.name)
        if name not in pinned:
            problems.append(f"{requirement} is not in the lock")
        elif not requirement.specifier.contains(pinned[name], prereleases=True):
            problems.append(f"{requirement}: the lock pins {pinned[name]}")
    assert not problems, f"{lock} is stale; run `make lock`:\n  " + "\n  ".join(problems)


def test_every_pip_install_checks_hashes() -> None:
    installs = pip_installs()
    assert len(installs) >= len(LOCKS)
    unchecked = []
    for where, command in installs:
        project_only = "--no-deps" in command and "--no-build-isolation" in command
        locked = ("$(PIP_LOCKED)" in command or "--require-hashes" in command) and any(
            re.search(rf"-r (\S*/)?{re.escape(Path(lock).name)}\b|-r \$<", command)
            for lock in LOCKS
        )
        own = re.fullmatch(r".* -e (\S+)", command)
        if not (project_only and own and own[1] in OWN_PACKAGES) and not locked:
            unchecked.append(f"{where}: {command}")
    assert not unchecked, "pip installs without a hash-checked lock:\n  " + "\n  ".join(unchecked)
    assert "--require-hashes" in " ".join(make_variable("PIP_LOCKED"))


# ---------------------------------------------------------------- the helpers can fail


def test_lock_entries_refuse_ranges_and_keep_markers() -> None:
    text = (
        "# header\nboto3==1.2.3 ; python_full_version < '3.15' \\\n"
        f"    --hash=sha256:{'a' * 64}\n    # via x\n"
    )
    assert lock_entries(text) == [
        ("boto3", Version("1.2.3"), "python_full_version < '3.15'", [f"--hash=sha256:{'a' * 64}"])
    ]
    with pytest.raises(AssertionError, match="not an exact pin"):
        lock_entries("boto3>=1.2\n")


def test_make_variable_joins_continuation_lines() -> None:
    assert make_variable("X", "X := a b \\\n\tc\nY := d\n") == ["a", "b", "c"]
