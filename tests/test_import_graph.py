"""No import cycles in greenflow: the graph of module imports, read from the source, is acyclic.

Every ``import`` and ``from ... import`` counts, wherever it is (inside a function too: an
import deferred into a function still closes the cycle when the function runs); only
imports under ``if TYPE_CHECKING:``, which never run, do not. ``from package import name``
is an edge to ``package.name`` when that is a module, else to ``package``.
"""

from __future__ import annotations

import ast
import os

import pytest

import greenflow

PACKAGE_DIR = os.path.dirname(os.path.abspath(greenflow.__file__))


def _modules() -> dict[str, str]:
    """Module name -> file path, for every module of the package."""
    found = {}
    for directory, _, files in os.walk(PACKAGE_DIR):
        for file in files:
            if not file.endswith(".py"):
                continue
            path = os.path.join(directory, file)
            parts = ["greenflow", *os.path.relpath(path, PACKAGE_DIR)[:-3].split(os.sep)]
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, module: str, is_package: bool, modules: dict[str, str]) -> set[str]:
    """The package's modules that ``module`` imports (anywhere but under TYPE_CHECKING)."""
    package = module if is_package else module.rpartition(".")[0]
    targets: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                targets.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[:len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                targets.add(submodule if submodule in modules else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    resolved = set()
    for target in targets:
        # ``import greenflow.a.b`` or a name that is not a module: the nearest module named.
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target and target != module:
            resolved.add(target)
    return resolved


def import_graph() -> dict[str, set[str]]:
    """Each greenflow module -> the greenflow modules it imports."""
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        with open(path, encoding="utf-8") as stream:
            tree = ast.parse(stream.read(), path)
        graph[name] = _imports(tree, name, path.endswith("__init__.py"), modules)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = 0

    def connect(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                connect(target)
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
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return cycles


def test_the_package_has_no_import_cycles():
    cycles = find_cycles(import_graph())
    assert cycles == [], "import cycles (move the shared lower layer into its own module):\n" + "\n".join(
        " <-> ".join(cycle) for cycle in cycles)


def test_the_graph_sees_imports_inside_functions_and_relative_ones():
    graph = import_graph()
    # greenflow.cli._service imports the local service inside its command function.
    assert "greenflow.local" in graph["greenflow.cli._service"]
    assert "greenflow.cli._executions" in graph["greenflow.cli"]  # ``from . import _executions``


@pytest.mark.parametrize("graph, expected", [
    ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
    ({"a": {"b"}, "b": set(), "c": {"a", "b"}}, []),
])
def test_find_cycles_finds_what_is_there(graph, expected):
    assert find_cycles(graph) == expected
