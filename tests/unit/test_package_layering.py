"""The top-level packages import one way only: each may import the packages below it.

Every Python file of the packages is parsed with `ast`, so imports inside functions and under
`TYPE_CHECKING` count too. The order, bottom to top (README "Layout"):

    core -> ingestion -> quality -> demo_data -> write_api -> orchestration -> bcf

`migrations` and `benchmarks` use the code and nothing imports them. Inside `ingestion`, the
parsing toolkit sits below both the sources and the loader, and the sources never import the
loader.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Bottom to top: a package may import the packages before it in this tuple, never after.
LAYERS = ("core", "ingestion", "quality", "demo_data", "write_api", "orchestration", "bcf")
# Above every layer: they may import any of them, and nothing may import them.
USERS = ("migrations", "benchmarks")
PACKAGES = (*LAYERS, *USERS)
# Inside ingestion, (importer, imported) pairs that must never occur.
FORBIDDEN_INSIDE_INGESTION = (
    ("ingestion.sources", "ingestion.load"),
    ("ingestion.parsing", "ingestion.sources"),
    ("ingestion.parsing", "ingestion.load"),
)

Import = tuple[str, str, int]  # (importing module, imported module, line)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level == 0:
        base = node.module or ""
    else:  # relative: from the module's package, one level up per extra dot
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[: len(package) - node.level + 1]
        base = ".".join([*package, *([node.module] if node.module else [])])
    # `from a import b` may name module a.b: keep both, the checks look at prefixes.
    return [base, *(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")]


def _modules() -> dict[str, Path]:
    """Every module of PACKAGES by dotted name."""
    return {
        _module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def project_imports() -> Iterator[Import]:
    """Every import of a project module by a module of PACKAGES, once per statement and
    imported module: `from a import b` is an import of a.b when that is a module, else of a."""
    modules = _modules()
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            base, *names = _imported(node, module, path.name == "__init__.py")
            targets = {name for name in names if name in modules} or {base}
            if isinstance(node, ast.Import):
                targets = {base, *names}
            for name in sorted(targets):
                if name.split(".")[0] in PACKAGES:
                    yield module, name, node.lineno


def _top(name: str) -> str:
    return name.split(".")[0]


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_every_package_is_parsed() -> None:
    for package in PACKAGES:
        assert (ROOT / package).is_dir(), f"{package}/ is missing: update PACKAGES"
    found = {_top(module) for module, _, _ in project_imports()}
    assert set(LAYERS) - {"core"} <= found, "no imports found: is the parser looking?"


def test_no_cycle_between_top_level_packages() -> None:
    edges: dict[str, set[str]] = defaultdict(set)
    examples: dict[tuple[str, str], set[str]] = defaultdict(set)
    for module, name, line in project_imports():
        source, target = _top(module), _top(name)
        if source != target:
            edges[source].add(target)
            examples[(source, target)].add(f"{module} (line {line}) imports {name}")
    problems = []
    for component in _cycles(edges):
        members = set(component)
        # The package edges of the cycle, the rarest first: that is usually the mistake.
        inside = sorted(
            (len(found), source, target, sorted(found))
            for (source, target), found in examples.items()
            if source in members and target in members
        )
        lines = []
        for count, source, target, found in inside:
            shown = ", for example" if count > 3 else ""
            lines.append(f"  {source} -> {target}: {count} import(s){shown}")
            lines += [f"    {example}" for example in found[:3]]
        problems.append(f"cycle between {', '.join(component)}:\n" + "\n".join(lines))
    assert not problems, "\n".join(problems)


def test_packages_import_only_the_layers_below() -> None:
    rank = {package: number for number, package in enumerate(LAYERS)}
    upward = []
    for module, name, line in project_imports():
        source, target = _top(module), _top(name)
        if source == target:
            continue
        if target in USERS:
            upward.append(f"{module} (line {line}) imports {name}: nothing imports {target}")
        elif source in rank and rank[target] > rank[source]:
            upward.append(
                f"{module} (line {line}) imports {name}: {source} is below {target} "
                f"({' -> '.join(LAYERS)})"
            )
    assert not upward, "imports pointing up:\n" + "\n".join(sorted(set(upward)))


def test_the_sources_and_the_toolkit_stay_below_the_loader() -> None:
    found = sorted(
        {
            f"{module} (line {line}) imports {name}: {importer} may not import {imported}"
            for module, name, line in project_imports()
            for importer, imported in FORBIDDEN_INSIDE_INGESTION
            if _within(module, importer) and _within(name, imported)
        }
    )
    assert not found, "\n".join(found)
