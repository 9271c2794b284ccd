"""The package's shape: small modules and functions, and imports that never go round in a circle.

Both checks read the source with ``ast`` (nothing is imported). Imports inside functions count: a cycle
closed at run time is still a cycle. Imports under ``if TYPE_CHECKING:`` do not: they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "airflow_redshift_s3"
MAX_MODULE_LINES = 700
MAX_FUNCTION_LINES = 80

# The local Redshift's layers: each folder may import only the folders listed for it (and itself).
# Top-level modules of local/ (stack.py, pytest_plugin.py, ...) sit above every folder.
LOCAL_LAYERS = {
    "sql": set(),
    "wire": set(),
    "aws": set(),
    "copy": {"sql", "wire"},
    "gateway": {"copy", "sql", "wire"},
}


def module_name(path: Path, root: Path) -> str:
    """Return the dotted name of the module at ``path`` (a package's ``__init__.py`` is the package)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules(root: Path, package: str) -> dict[str, Path]:
    """Return every module of ``package`` under ``root`` by dotted name."""
    return {module_name(path, root): path for path in sorted((root / package).rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Return every import statement, at any depth, except those under ``if TYPE_CHECKING:``."""
    found: list[ast.Import | ast.ImportFrom] = []
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        elif isinstance(node, ast.If) and _is_type_checking(node):
            pending.extend(node.orelse)
            continue
        pending.extend(ast.iter_child_nodes(node))
    return found


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """Return the longest known module that ``name`` is or lies in."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Return, for every module of ``package``, the modules of ``package`` it imports at run time."""
    modules = package_modules(root, package)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        current_package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges: set[str] = set()
        for node in _runtime_imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = current_package.split(".")
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [f"{base}.{alias.name}" for alias in node.names]
            for target in targets:
                resolved = _resolve(target, modules)
                if resolved is not None and resolved != name:
                    edges.add(resolved)
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]], within: str) -> list[str] | None:
    """Return one import cycle among the modules whose names start with ``within``, or None."""
    nodes = {n for n in graph if n == within or n.startswith(within + ".")}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node] & nodes):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(nodes):
        if node not in state and (cycle := visit(node)) is not None:
            return cycle
    return None


def body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Return the lines of a function's body, from its first statement after the docstring to its end.

    The signature is not counted: an operator's constructor lists its documented keyword arguments one per
    line, and what makes a function hard to follow is its logic, not how many arguments it names.
    """
    body = node.body
    if len(body) > 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    return (node.end_lineno or node.lineno) - body[0].lineno + 1


def oversized(folder: Path, root: Path = ROOT) -> list[str]:
    """Return the modules over MAX_MODULE_LINES and functions over MAX_FUNCTION_LINES under ``folder``."""
    found: list[str] = []
    for path in sorted(folder.rglob("*.py")):
        source = path.read_text()
        where = path.relative_to(root)
        lines = len(source.splitlines())
        if lines > MAX_MODULE_LINES:
            found.append(f"{where}: {lines} lines (at most {MAX_MODULE_LINES})")
        for node in ast.walk(ast.parse(source, str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = body_lines(node)
                if length > MAX_FUNCTION_LINES:
                    found.append(
                        f"{where}:{node.lineno} {node.name}(): {length} lines (at most {MAX_FUNCTION_LINES})"
                    )
    return found


@pytest.mark.parametrize("folder", ["airflow_redshift_s3"])
def test_modules_and_functions_stay_small(folder):
    assert oversized(ROOT / folder) == [], (
        "split these (see the developer guide: small modules, small functions)"
    )


@pytest.mark.parametrize("within", ["airflow_redshift_s3"])
def test_no_import_cycle(within):
    cycle = find_cycle(import_graph(ROOT, PACKAGE), within)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_local_layers_import_only_downward():
    graph = import_graph(ROOT, PACKAGE)
    prefix = f"{PACKAGE}.local."
    upward: list[str] = []
    for module, targets in graph.items():
        layer = module[len(prefix) :].split(".")[0] if module.startswith(prefix) else None
        if layer not in LOCAL_LAYERS:
            continue
        for target in targets:
            target_layer = target[len(prefix) :].split(".")[0] if target.startswith(prefix) else None
            if (
                target.startswith(PACKAGE + ".")
                and target_layer != layer
                and target_layer not in LOCAL_LAYERS[layer]
            ):
                upward.append(f"{module} imports {target}")
    assert upward == []


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_cycle_check_sees_imports_inside_functions_and_skips_type_checking(tmp_path):
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg import b\n",
            "pkg/b.py": "def later():\n    from pkg.c import thing\n",
            "pkg/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n",
        },
    )
    assert find_cycle(import_graph(tmp_path, "pkg"), "pkg") is None
    (tmp_path / "pkg/c.py").write_text("from . import a\n")
    assert find_cycle(import_graph(tmp_path, "pkg"), "pkg") == ["pkg.a", "pkg.b", "pkg.c", "pkg.a"]


def test_the_size_check_names_a_long_function_and_counts_its_body(tmp_path):
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES + 1))
    signature = "".join(f"    a{i}: int = 0,\n" for i in range(40))  # a long signature is not logic
    fits = "".join(f"    y{i} = {i}\n" for i in range(MAX_FUNCTION_LINES))
    wide = f'def wide(\n{signature}):\n    """Doc."""\n{fits}'
    _write(tmp_path, {"pkg/long.py": f"def long():\n{body}\n\n{wide}"})
    assert oversized(tmp_path / "pkg", tmp_path) == [
        f"pkg/long.py:1 long(): {MAX_FUNCTION_LINES + 1} lines (at most 80)"
    ]
