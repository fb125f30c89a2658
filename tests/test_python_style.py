"""One way of writing Python, with the fast path fenced.

The modules a per-mail process loads (``tests/support/per_mail.py``) are written
for import cost; every other module is ordinary Python: ``typing.TYPE_CHECKING``,
``dataclasses`` rather than ``smtpq.sender.record``'s hand-written records, plain
imports rather than ``__import__``.  And no module anywhere imports one of
CPython's private modules (``_socket``, ``_sqlite3``, ``_datetime``, ...): they
are implementation details, without type information, and can change between
versions.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.per_mail import PER_MAIL

PACKAGE = Path(__file__).resolve().parent.parent / "smtpq"
RECORD_BASES = {"Record", "FrozenRecord"}


def modules() -> Iterator[tuple[str, ast.Module]]:
    """Every module of smtpq: its dotted name and its syntax tree."""
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, ast.parse(path.read_text(), str(path))


def imported_names(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """Every module name *tree* imports, with its line: statements, ``__import__`` and
    ``importlib.import_module`` calls with a literal name."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.lineno, node.module
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and (isinstance(node.func, ast.Name) and node.func.id == "__import__"
                   or isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")):
            yield node.lineno, node.args[0].value


def is_private_stdlib(name: str) -> bool:
    """``_socket``, ``importlib._bootstrap``: a standard library module with a private part."""
    parts = name.split(".")
    return parts[0] in sys.stdlib_module_names and parts[0] != "__future__" and any(
        part.startswith("_") for part in parts)


def test_no_module_imports_a_private_standard_library_module():
    found = [f"{module}:{line}: {name}" for module, tree in modules()
             for line, name in imported_names(tree) if is_private_stdlib(name)]
    assert found == []


@pytest.mark.parametrize(("name", "private"), [
    ("_socket", True), ("_sqlite3", True), ("_datetime", True), ("_thread", True),
    ("importlib._bootstrap", True), ("socket", False), ("sqlite3", False),
    ("__future__", False), ("smtpq._x", False), ("idna", False),
])
def test_private_standard_library_modules_are_recognised(name: str, private: bool):
    assert is_private_stdlib(name) is private


def import_cost_workarounds(tree: ast.Module) -> Iterator[str]:
    """What in *tree* is written for import cost rather than as ordinary Python."""
    for node in ast.walk(tree):
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                and any(isinstance(t, ast.Name) and t.id == "TYPE_CHECKING" for t in node.targets)):
            yield f"line {node.lineno}: TYPE_CHECKING = {node.value.value!r} (typing.TYPE_CHECKING)"
        elif isinstance(node, ast.ClassDef) and RECORD_BASES & {
                base.id for base in node.bases if isinstance(base, ast.Name)}:
            yield f"line {node.lineno}: record class {node.name} (a dataclass)"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id == "__import__":
            yield f"line {node.lineno}: __import__ (a plain import)"


def test_off_the_per_mail_paths_python_is_ordinary():
    found = {module: list(import_cost_workarounds(tree)) for module, tree in modules()
             if module not in PER_MAIL}
    assert {module: found for module, found in found.items() if found} == {}


def test_the_per_mail_list_names_only_modules_that_exist():
    assert PER_MAIL - {module for module, _ in modules()} == set()


#: Documented public names that start with an underscore.
PUBLIC_UNDERSCORED = {"os._exit"}


def private_attributes(tree: ast.Module) -> Iterator[str]:
    """``ssl._ssl``, ``socket._GLOBAL_DEFAULT_TIMEOUT``: a private name read from a
    standard library module that *tree* imports under its own name."""
    stdlib = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
              for alias in node.names if alias.name in sys.stdlib_module_names}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in stdlib and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and f"{node.value.id}.{node.attr}" not in PUBLIC_UNDERSCORED):
            yield f"line {node.lineno}: {node.value.id}.{node.attr}"


def test_no_module_reaches_into_a_standard_library_module_s_private_names():
    found = {module: list(private_attributes(tree)) for module, tree in modules()}
    assert {module: names for module, names in found.items() if names} == {}


def test_a_type_ignore_names_its_error_and_says_why():
    """The checker is silenced only for a named error, with the reason beside it
    (a missing type is named, not ignored)."""
    unexplained = [
        f"{path.relative_to(PACKAGE.parent)}:{number}: {line.strip()}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "type: ignore" in line
        and not re.search(r"# type: ignore\[[a-z-]+(, *[a-z-]+)*\]  # \S", line)]
    assert unexplained == []


def test_a_test_skips_only_through_needs_which_fails_in_ci():
    """A test that depends on its machine says so through ``tests.support.programs.needs``:
    it skips on a developer's machine and fails in CI, which has everything; a bare
    ``pytest.skip``, ``skipif`` or ``xfail`` would pass unseen there."""
    tests = Path(__file__).resolve().parent
    bare = re.compile(r"pytest\.(skip\(|importorskip|xfail|mark\.skip|mark\.xfail)")
    found = [f"{path.relative_to(tests.parent)}:{number}"
             for path in sorted(tests.rglob("*.py")) if path.name != "programs.py"
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if bare.search(line) and path != Path(__file__).resolve()]
    assert found == []
