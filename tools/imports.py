"""The import graph of arcollect, and the contract that keeps its layers one-way.

    python tools/imports.py deps     # the package-level import graph, as text (make deps)
    python tools/imports.py check    # fail on an import that breaks the layers (part of make lint)

The graph is read with ``ast`` from the sources, never by importing them: every ``import`` counts,
module level and deferred (inside a function) alike; only ``if TYPE_CHECKING:`` blocks are left out,
since they never run. It covers the shared package (``layers/common/python/arcollect``), the Lambda
handlers (``functions/<fn>/``, named ``functions.<fn>.<module>``) and the CLI (``arcollect_cli``).

The contract (``LAYERS``, top to bottom; docs/architecture.md draws it):

- a module imports only from its own layer or the layers below it, never upwards;
- in a layer marked independent, a unit (a package) never imports another unit of that layer:
  a rule two features share moves down to the domain instead;
- no import cycle between packages, and none between modules;
- every module is in a layer: any module of the shared package that no other layer claims is domain
  (the bottom), so a new feature package must be added to ``LAYERS`` to be allowed anything above it.

``tests/unit/test_import_contract.py`` runs the check on the tree and shows it failing on bad imports.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path("layers/common/python")


@dataclass(frozen=True)
class Layer:
    name: str
    units: tuple[str, ...]  # package names; "functions.*" is every function folder, each its own unit
    independent: bool = False


LAYERS: tuple[Layer, ...] = (
    Layer("entry points", ("functions.*", "arcollect_cli"), independent=True),
    # One build_* per function: the services and stores a handler needs, wired once per container.
    Layer("wiring", ("arcollect.app",)),
    # HTTP in and out: the customer portal's pages and API, the staff console.
    Layer("web", ("arcollect.portal.web", "arcollect.console")),
    Layer(
        "features",
        (
            "arcollect.dunning",
            "arcollect.inbox",
            "arcollect.ingest",
            "arcollect.portal",
            "arcollect.reports",
            "arcollect.workspace",
        ),
        independent=True,
    ),
    Layer("store", ("arcollect.store",)),
    Layer("domain", ("arcollect",)),
)


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Every first-party module by dotted name: the shared package, the handlers, the CLI."""
    out: dict[str, Path] = {}
    for base, pattern in ((root / SHARED, "arcollect/**/*.py"), (root, "arcollect_cli/**/*.py")):
        for path in sorted(base.glob(pattern)):
            out[_dotted(path.relative_to(base))] = path
    for path in sorted(root.glob("functions/*/*.py")):
        out[_dotted(path.relative_to(root))] = path
    return out


def _dotted(relative: Path) -> str:
    return ".".join(relative.with_suffix("").parts).removesuffix(".__init__")


def imported_names(source: str, module: str, is_package: bool) -> Iterator[str]:
    """The dotted names ``source`` imports (``from a import b`` gives ``a`` and ``a.b``)."""
    tree = ast.parse(source)
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test):
            skipped.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    here = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = here.split(".")[: len(here.split(".")) - node.level + 1]
                target = ".".join([*parts, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            yield target
            yield from (f"{target}.{alias.name}" for alias in node.names)


def module_graph(sources: Mapping[str, str], packages: Iterable[str] = ()) -> dict[str, set[str]]:
    """Module -> the first-party modules it imports, from each module's source text. A handler's
    plain ``import adapters`` names its sibling ``functions.<fn>.adapters``, as in Lambda."""
    package_names = set(packages)
    edges: dict[str, set[str]] = {m: set() for m in sources}
    for module, source in sources.items():
        folder = module.rpartition(".")[0]
        for name in imported_names(source, module, module in package_names):
            target = _known(name, sources)
            if target is None and module.startswith("functions."):
                target = _known(f"{folder}.{name}", sources)
            if target and target != module and not module.startswith(target + "."):
                edges[module].add(target)
    return edges


def _known(name: str, modules: Mapping[str, object]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def package(module: str) -> str:
    """The package a module belongs to: ``arcollect.<x>``, ``functions.<fn>`` or ``arcollect_cli``."""
    parts = module.split(".")
    return ".".join(parts[:1] if parts[0] == "arcollect_cli" else parts[:2])


def placement(module: str, layers: tuple[Layer, ...] = LAYERS) -> tuple[int, str]:
    """(layer index, unit) of a module: the most specific unit that holds it."""
    best: tuple[int, int, str] | None = None
    for index, layer in enumerate(layers):
        for unit in layer.units:
            if unit.endswith(".*"):
                prefix = unit[:-2]
                if module.startswith(prefix + "."):
                    name = ".".join(module.split(".")[: prefix.count(".") + 2])
                    candidate = (len(prefix) + 1, index, name)
                else:
                    continue
            elif module == unit or module.startswith(unit + "."):
                candidate = (len(unit), index, unit)
            else:
                continue
            if best is None or candidate[0] > best[0]:
                best = candidate
    if best is None:
        raise ValueError(f"{module} is in no layer: add it to LAYERS in tools/imports.py")
    return best[1], best[2]


def package_graph(edges: Mapping[str, set[str]]) -> dict[str, dict[str, list[str]]]:
    """Package -> imported package -> the module edges behind it."""
    out: dict[str, dict[str, list[str]]] = {package(m): {} for m in edges}
    for module, targets in edges.items():
        for target in sorted(targets):
            if package(module) != package(target):
                out[package(module)].setdefault(package(target), []).append(f"{module} -> {target}")
    return out


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


def violations(edges: Mapping[str, set[str]], layers: tuple[Layer, ...] = LAYERS) -> list[str]:
    """Every breach of the contract, one line each; empty when the graph keeps it."""
    problems: list[str] = []
    for module in sorted(edges):
        try:
            here, unit = placement(module, layers)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        for target in sorted(edges[module]):
            there, other = placement(target, layers)
            if there < here:
                problems.append(
                    f"upward import: {module} ({layers[here].name}) -> {target} ({layers[there].name})"
                )
            elif there == here and unit != other and layers[here].independent:
                problems.append(f"sideways import between {layers[here].name}: {module} -> {target}")
    packages = package_graph(edges)
    for component in cycles({p: set(ts) for p, ts in packages.items()}):
        problems.append("package cycle: " + " <-> ".join(component))
    for component in cycles(edges):
        problems.append("module cycle: " + " <-> ".join(component))
    return problems


def project_graph(root: Path = ROOT) -> dict[str, set[str]]:
    files = module_files(root)
    sources = {m: p.read_text(encoding="utf-8") for m, p in files.items()}
    return module_graph(sources, packages=(m for m, p in files.items() if p.name == "__init__.py"))


def render_deps(edges: Mapping[str, set[str]], layers: tuple[Layer, ...] = LAYERS) -> str:
    """The package-level graph as text, grouped by layer, top to bottom."""
    packages = package_graph(edges)
    lines: list[str] = []
    by_layer: dict[int, list[str]] = {}
    for pkg in packages:
        by_layer.setdefault(placement(pkg, layers)[0], []).append(pkg)
    for index, layer in enumerate(layers):
        lines.append(f"[{layer.name}]")
        for pkg in sorted(by_layer.get(index, [])):
            targets = sorted(packages[pkg])
            lines.append(f"  {pkg} -> {', '.join(targets) if targets else '(nothing first-party)'}")
    package_cycles = cycles({p: set(ts) for p, ts in packages.items()})
    module_cycles = cycles(edges)
    for component in package_cycles:
        lines.append("package cycle: " + " <-> ".join(component))
    for component in module_cycles:
        lines.append("module cycle: " + " <-> ".join(component))
    lines.append(f"{len(package_cycles)} package cycles, {len(module_cycles)} module cycles")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "check"
    edges = project_graph()
    if command == "deps":
        print(render_deps(edges))
        return 0
    if command == "check":
        problems = violations(edges)
        for problem in problems:
            print(problem)
        print(f"import contract: {len(problems)} problems in {len(edges)} modules")
        return 1 if problems else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
