"""One vocabulary, one error tree per layer (issue 15).

- Every state, outcome and kind is defined once: no class of named values
  spells the values of another again, no module constant spells one on its own,
  and the queue stores and judges with the sender's types themselves.
- Every exception class of a layer lives in that layer's errors module:
  ``smtpq/sender/errors.py`` or ``smtpq/queue/errors.py`` (the command line
  has none of its own).
"""

from __future__ import annotations

import ast
import builtins
import importlib
import itertools
import typing
from collections.abc import Iterator
from pathlib import Path

import smtpq
from smtpq.queue.flush import policy
from smtpq.queue.records import RecipientResult, RecipientState
from smtpq.queue.states import MessageStatus
from smtpq.queue.store.sql import models
from smtpq.sender.delivery import outcome

SMTPQ = Path(smtpq.__file__).parent
#: The one module of each layer that defines error classes.
ERROR_MODULES = frozenset({"smtpq.sender.errors", "smtpq.queue.errors"})


def _module_name(path: Path) -> str:
    parts = path.relative_to(SMTPQ.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> dict[str, ast.Module]:
    """Every module of smtpq but the migrations (frozen history, spelled out on purpose)."""
    return {_module_name(path): ast.parse(path.read_text(), str(path))
            for path in sorted(SMTPQ.rglob("*.py")) if "migrations" not in path.parts}


SOURCES = _sources()


# -- the error classes ----------------------------------------------------------------

def _imported_names(tree: ast.Module, module: str) -> dict[str, str]:
    """Each name a module imports (anywhere in it), as the dotted name it stands for."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:  # import a.b as c: c is a.b
                    names[alias.asname] = alias.name
                else:  # import a.b: a is a
                    names[alias.name.split(".")[0]] = alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            package = module.rsplit(".", node.level)[0] if node.level else ""
            source = ".".join(part for part in (package, node.module or "") if part)
            for alias in node.names:
                names[alias.asname or alias.name] = f"{source}.{alias.name}"
    return names


class _Classes:
    """smtpq's classes by module, and whether each derives from BaseException."""

    def __init__(self) -> None:
        self.defined = {module: {node.name: node for node in ast.walk(tree)
                                 if isinstance(node, ast.ClassDef)}
                        for module, tree in SOURCES.items()}
        self.imports = {module: _imported_names(tree, module) for module, tree in SOURCES.items()}

    def is_exception(self, module: str, node: ast.ClassDef) -> bool:
        return any(self._base_is_exception(module, base) for base in node.bases)

    def _base_is_exception(self, module: str, base: ast.expr) -> bool:
        if isinstance(base, ast.Subscript):  # Generic[T] and the like
            base = base.value
        dotted = ast.unparse(base)
        head, _, rest = dotted.partition(".")
        if head in self.defined[module] and not rest:
            return self.is_exception(module, self.defined[module][head])
        target = self.imports[module].get(head)
        if target is None:
            builtin = getattr(builtins, dotted, None)
            return isinstance(builtin, type) and issubclass(builtin, BaseException)
        return self._named_is_exception(f"{target}.{rest}" if rest else target)

    def _named_is_exception(self, dotted: str) -> bool:
        module, _, name = dotted.rpartition(".")
        if dotted in SOURCES:  # a module, not a class
            return False
        if module in SOURCES:
            if name in self.defined[module]:
                return self.is_exception(module, self.defined[module][name])
            if name in self.imports[module]:  # imported there, defined elsewhere
                return self._named_is_exception(self.imports[module][name])
            return False
        if module.startswith("smtpq.") or module == "smtpq":
            return False
        found = getattr(importlib.import_module(module), name, None)
        return isinstance(found, type) and issubclass(found, BaseException)


def test_every_error_class_is_defined_in_its_layers_errors_module():
    classes = _Classes()
    elsewhere = sorted((module, name) for module, defined in classes.defined.items()
                       for name, node in defined.items()
                       if module not in ERROR_MODULES and classes.is_exception(module, node))
    assert elsewhere == []


def test_the_scan_sees_the_error_classes_it_must_see():
    classes = _Classes()
    defined = classes.defined["smtpq.queue.errors"]
    assert classes.is_exception("smtpq.queue.errors", defined["SchemaError"])  # via StoreError
    assert classes.is_exception("smtpq.queue.errors", defined["Abandoned"])  # a BaseException
    assert not classes.is_exception("smtpq.sender.delivery.outcome",
                                    classes.defined["smtpq.sender.delivery.outcome"]["Stage"])


# -- the vocabulary ---------------------------------------------------------------------

def _named_value(node: ast.stmt) -> str | None:
    """The value of ``NAME = "text"``, or None."""
    if (isinstance(node, ast.Assign) and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name) and node.targets[0].id.isupper()
            and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
        return node.value.value
    return None


def _vocabularies() -> dict[str, frozenset[str]]:
    """Every class of smtpq that names text values (an enum or a namespace of constants)."""
    found = {}
    for module, tree in SOURCES.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                values = {value for statement in node.body
                          if (value := _named_value(statement)) is not None}
                if values:
                    found[f"{module}.{node.name}"] = frozenset(values)
    return found


def test_the_scan_finds_the_vocabularies():
    vocabularies = _vocabularies()
    assert vocabularies["smtpq.queue.states.MessageStatus"] == {status.value for status in MessageStatus}
    assert "smtpq.sender.delivery.outcome.FailureKind" in vocabularies


def test_no_vocabulary_spells_the_values_of_another_again():
    vocabularies = _vocabularies()
    again = [(a, b) for (a, values), (b, others) in itertools.permutations(vocabularies.items(), 2)
             if values <= others]
    assert again == []


def _module_constants(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """The line and text of each ``NAME = "text"`` (or ``A, B = "x", "y"``) at module level."""
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
            continue
        target, value = node.targets[0], node.value
        pairs = zip(target.elts, value.elts, strict=False) if (
            isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple)) else [(target, value)]
        for name, text in pairs:
            if (isinstance(name, ast.Name) and name.id.isupper() and isinstance(text, ast.Constant)
                    and isinstance(text.value, str)):
                yield node.lineno, text.value


def test_no_module_constant_spells_a_vocabulary_value():
    values = frozenset().union(*_vocabularies().values())
    spelled = [(module, line, text) for module, tree in SOURCES.items()
               for line, text in _module_constants(tree) if text in values]
    assert spelled == []


def test_the_queue_stores_the_senders_recipient_status():
    assert models.recipients.c.status.type.enum_class is outcome.RecipientStatus
    assert typing.get_type_hints(RecipientResult)["status"] is outcome.RecipientStatus
    assert typing.get_type_hints(RecipientState)["status"] is outcome.RecipientStatus


def test_the_queue_decides_on_the_senders_failure_kinds():
    assert typing.get_type_hints(policy.classify)["failure"] == outcome.FailureKind | None
    assert {policy.classify(failure=kind) for kind in outcome.FailureKind} <= set(policy.Outcome)
