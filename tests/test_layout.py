"""The package's layout: data flows one way, no file imports itself back, no folder sprawls.

Read from the source with ``ast`` (nothing is imported): every ``import smtpq…``
and ``from smtpq… import …``, at module level and inside functions alike, is an
edge from the importing module to the module it names (``from smtpq.x import y``
names ``smtpq.x.y`` when that is a module, else ``smtpq.x``).  docs/architecture.md
describes the layout these tests hold.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import smtpq

SMTPQ = Path(smtpq.__file__).parent
#: The layers, top to bottom: a module may import its own layer and those below.
LAYERS = ("smtpq.cli", "smtpq.queue", "smtpq.sender")
#: No folder of smtpq/ holds more modules than this (``__init__.py`` counted).
MAX_MODULES_PER_FOLDER = 16


def _module_name(path: Path) -> str:
    parts = path.relative_to(SMTPQ.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in SMTPQ.rglob("*.py")
            if "versions" not in path.parts and path.name != "env.py"}


def _imported(tree: ast.AST, modules: dict[str, Path]) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name.startswith("smtpq"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("smtpq"):
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                yield child if child in modules else node.module


def import_graph() -> dict[str, set[str]]:
    """Module → the smtpq modules it imports anywhere in its text."""
    modules = _modules()
    return {name: {target for target in _imported(ast.parse(path.read_text()), modules)
                   if target != name}
            for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every back edge found by a depth-first walk, as the loop it closes."""
    state: dict[str, int] = {}
    loops: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                loops.append([*path[path.index(target):], target])
            elif target not in state:
                visit(target, path)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    return loops


def _layer(module: str) -> int | None:
    for rank, layer in enumerate(LAYERS):
        if module == layer or module.startswith(layer + "."):
            return rank
    return None


def test_no_file_imports_another_that_imports_it_back():
    assert _cycles(import_graph()) == []


def test_the_loop_check_sees_a_loop():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]


def test_data_flows_one_way_cli_queue_sender():
    upward = sorted((module, target) for module, targets in import_graph().items()
                    for target in targets
                    if None not in (_layer(module), _layer(target))
                    and _layer(target) < _layer(module))  # type: ignore[operator]
    assert upward == []


def test_the_graph_reads_imports_inside_functions_too():
    graph = import_graph()
    # smtpq.cli.entry imports the smtpq group only when argv[0] asks for it
    assert "smtpq.cli.main" in graph["smtpq.cli.entry"]


def test_no_folder_holds_more_than_sixteen_modules():
    crowded = {str(folder.relative_to(SMTPQ.parent)): count
               for folder in [SMTPQ, *SMTPQ.rglob("*/")]
               if "__pycache__" not in folder.parts
               and (count := len(list(folder.glob("*.py")))) > MAX_MODULES_PER_FOLDER}
    assert crowded == {}


def test_the_architecture_map_names_every_package_and_module():
    text = (SMTPQ.parent / "docs" / "architecture.md").read_text()
    sections = dict(_map_sections(text))
    missing = []
    for folder in sorted({path.parent for path in SMTPQ.rglob("*.py")
                          if "__pycache__" not in path.parts}):
        name = f"{folder.relative_to(SMTPQ.parent)}/"
        rows = sections.get(name)
        if rows is None:
            missing.append(name)
            continue
        missing += [f"{name}{path.name}" for path in sorted(folder.glob("*.py"))
                    if path.name != "__init__.py" and f"| `{path.name}` |" not in rows]
    assert missing == []


def _map_sections(text: str) -> Iterator[tuple[str, str]]:
    """``### `folder/` — …`` headings of the map, each with the rows under it."""
    for part in text.split("\n### `")[1:]:
        folder, _, rest = part.partition("`")
        yield folder, rest.split("\n## ")[0]
