"""The import contract (tools/imports.py, run by `make lint`): the layers are one-way on the tree as it
is, and the check fails on an upward import, a sideways import between features, and a cycle."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("arcollect_import_contract", ROOT / "tools" / "imports.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


imports = _load_tool()


def _write(root: Path, relative: str, source: str = "") -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source, encoding="utf-8")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A small copy of the project's shape that keeps the contract: a handler, the CLI, a feature, the
    store and the domain, each importing only downwards."""
    shared = "layers/common/python/arcollect"
    for package in ("", "/dunning", "/workspace", "/store"):
        _write(tmp_path, f"{shared}{package}/__init__.py")
    _write(tmp_path, f"{shared}/entities.py", "from dataclasses import dataclass\n")
    _write(tmp_path, f"{shared}/store/repositories.py", "from arcollect.entities import *\n")
    _write(tmp_path, f"{shared}/dunning/sweep.py", "from arcollect.store import repositories\n")
    _write(tmp_path, f"{shared}/workspace/services.py", "from arcollect.store.repositories import x\n")
    _write(tmp_path, "functions/dunning/handler.py", "from arcollect.dunning.sweep import run\n")
    _write(tmp_path, "arcollect_cli/__init__.py")
    _write(tmp_path, "arcollect_cli/main.py", "from arcollect.workspace import services\n")
    return tmp_path


def test_the_tree_keeps_the_contract() -> None:
    # Given the project's own sources (shared package, handlers, CLI)
    edges = imports.project_graph(ROOT)
    # When the contract is checked
    problems = imports.violations(edges)
    # Then nothing breaks it, and the handlers and the CLI were part of the graph
    assert problems == []
    assert any(module.startswith("functions.") for module in edges)
    assert any(module.startswith("arcollect_cli") for module in edges)


def test_a_copy_that_keeps_the_layers_passes(tree: Path) -> None:
    assert imports.violations(imports.project_graph(tree)) == []


def test_an_upward_import_in_the_store_fails(tree: Path) -> None:
    # Given a store module that imports a feature (a deliberately bad import)
    _write(
        tree,
        "layers/common/python/arcollect/store/staff.py",
        "def load():\n    from arcollect.workspace.services import StaffUser\n",
    )
    # When the copy is checked
    problems = imports.violations(imports.project_graph(tree))
    # Then the upward import is named, with both layers
    assert (
        "upward import: arcollect.store.staff (store) -> arcollect.workspace.services (features)" in problems
    )


def test_a_domain_module_importing_the_store_fails(tree: Path) -> None:
    _write(tree, "layers/common/python/arcollect/aging.py", "from arcollect.store import repositories\n")
    problems = imports.violations(imports.project_graph(tree))
    assert "upward import: arcollect.aging (domain) -> arcollect.store.repositories (store)" in problems


def test_a_sideways_import_between_features_fails(tree: Path) -> None:
    _write(tree, "layers/common/python/arcollect/dunning/delivery.py", "from ..workspace import services\n")
    problems = imports.violations(imports.project_graph(tree))
    assert "sideways import between features: arcollect.dunning.delivery -> arcollect.workspace.services" in (
        problems
    )


def test_a_module_cycle_fails_even_inside_one_package(tree: Path) -> None:
    _write(
        tree, "layers/common/python/arcollect/store/portal.py", "from arcollect.store import repositories\n"
    )
    _write(
        tree,
        "layers/common/python/arcollect/store/repositories.py",
        "def put():\n    from arcollect.store.portal import PortalStore\n",
    )
    problems = imports.violations(imports.project_graph(tree))
    assert problems == ["module cycle: arcollect.store.portal <-> arcollect.store.repositories"]


def test_type_checking_imports_are_left_out(tree: Path) -> None:
    _write(
        tree,
        "layers/common/python/arcollect/store/staff.py",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from arcollect.workspace import services\n",
    )
    assert imports.violations(imports.project_graph(tree)) == []


def test_handlers_may_not_import_one_another_but_may_import_anything_below(tree: Path) -> None:
    _write(tree, "functions/portal/handler.py", "import arcollect.store.repositories\n")
    assert imports.violations(imports.project_graph(tree)) == []
    _write(tree, "functions/reports/handler.py", "from functions.portal.handler import handler\n")
    assert imports.violations(imports.project_graph(tree)) == [
        "sideways import between entry points: functions.reports.handler -> functions.portal.handler"
    ]


def test_a_package_cycle_is_named_on_a_synthetic_graph() -> None:
    # Given two domain packages that import each other through different modules
    edges = {
        "arcollect.a.x": {"arcollect.b.y"},
        "arcollect.b.y": set(),
        "arcollect.b.z": {"arcollect.a.w"},
        "arcollect.a.w": set(),
    }
    # Then the modules are acyclic but the packages are not
    assert imports.violations(edges) == ["package cycle: arcollect.a <-> arcollect.b"]


def test_deps_prints_the_package_graph_by_layer(tree: Path) -> None:
    text = imports.render_deps(imports.project_graph(tree))
    assert "[features]\n  arcollect.dunning -> arcollect.store" in text
    assert "  functions.dunning -> arcollect.dunning" in text
    assert text.endswith("0 package cycles, 0 module cycles")


def test_every_handler_is_forty_lines_or_fewer() -> None:
    """Handlers parse the event and call the wiring's use cases (arcollect/app/): nothing more."""
    handlers = sorted((ROOT / "functions").glob("*/handler.py"))
    assert len(handlers) == 4
    for handler in handlers:
        lines = handler.read_text().count("\n")
        assert lines <= 40, f"{handler.relative_to(ROOT)} has {lines} lines"
