"""Checks that every BitLoot package declares exactly the distributions it imports.

For each `pyproject.toml` under libs/ and services/, the top-level imports of its `src/`
are mapped to the installed distributions that provide them; an import with no declared
dependency, or a declared dependency nothing imports, is reported. A dependency needed
without an import (a pytest plugin, say) is listed under `[tool.bitloot] unimported`.

Run from the repository root in the development environment: exits 1 on any problem.
"""

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

# Packages at the top of the tree, beside libs/, services/ and sandboxes/.
TOP_LEVEL = ("demo/pyproject.toml", "launch/pyproject.toml")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    return normalise(re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0])


def imported_modules(source: Path) -> set[str]:
    modules: set[str] = set()
    for path in source.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules.add(node.module.split(".")[0])
    return modules


def problems_of(pyproject: Path, providers: dict[str, list[str]]) -> list[str]:
    project = tomllib.loads(pyproject.read_text())
    declared = {requirement_name(r) for r in project["project"].get("dependencies", [])}
    settings = project.get("tool", {}).get("bitloot", {})
    unimported = {normalise(n) for n in settings.get("unimported", [])}
    own = normalise(project["project"]["name"])
    used: set[str] = set()
    for module in imported_modules(pyproject.parent / "src") - set(sys.stdlib_module_names):
        distributions = {normalise(d) for d in providers.get(module, [])}
        if not distributions:
            return [f"{pyproject.parent}: imports {module!r}, which no installed package provides"]
        used |= distributions
    used.discard(own)
    problems = [
        f"{pyproject.parent}: imports {d} but does not declare it" for d in sorted(used - declared)
    ]
    problems += [
        f"{pyproject.parent}: declares {d} but never imports it"
        for d in sorted(declared - used - unimported)
    ]
    return problems


def main() -> int:
    pyprojects = [
        p
        for p in sorted([*Path().glob("*/*/pyproject.toml"), *map(Path, TOP_LEVEL)])
        if p.parts[0] in ("libs", "services", "sandboxes") or str(p) in TOP_LEVEL
    ]
    providers = {module: list(names) for module, names in packages_distributions().items()}
    # Editable installs of our own packages are not in the installed metadata's file lists.
    for pyproject in pyprojects:
        name = tomllib.loads(pyproject.read_text())["project"]["name"]
        for package in (pyproject.parent / "src").iterdir():
            if package.is_dir() and not package.name.endswith(".egg-info"):
                providers[package.name] = [name]
    problems = [problem for project in pyprojects for problem in problems_of(project, providers)]
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
