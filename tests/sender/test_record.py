"""The hand-written records (``smtpq.sender.record``) are what a dataclass would be.

The modules a per-mail process loads (``tests/support/per_mail.py``) build their
records by hand, without ``dataclasses``: each names its fields in ``FIELDS``
and writes its own ``__init__``.  Nothing but these tests keeps the two in step,
so every subclass of ``Record`` in smtpq is checked: ``FIELDS`` are the
``__init__`` parameters in order, each stored under its own name (and, with
``__slots__``, exactly the slots); ``repr``, ``==`` and ``replace`` cover every
field; a frozen record cannot be changed and hashes as it compares.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import smtpq
from smtpq.sender.record import FrozenRecord, Record


def every_record_class() -> list[type[Record]]:
    """Every subclass of ``Record`` in smtpq, found by importing every module (but
    ``__main__``, and the Alembic environment, which migrate when imported)."""
    for module in pkgutil.walk_packages(smtpq.__path__, "smtpq."):
        if not module.name.startswith("smtpq.migrations") and not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    found: list[type[Record]] = []
    pending = [Record]
    while pending:
        for subclass in pending.pop().__subclasses__():
            if subclass.__module__.startswith("smtpq.") and subclass is not FrozenRecord:
                found.append(subclass)
            pending.append(subclass)
    return sorted(found, key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


RECORDS = every_record_class()


def values(cls: type[Record], tag: str = "") -> dict[str, str]:
    """A distinct value for each field (text: hashable, and no ``__init__`` minds it)."""
    return {name: f"<{name}{tag}>" for name in cls.FIELDS}


def test_every_record_class_is_found():
    assert len(RECORDS) >= 15
    assert {cls.__name__ for cls in RECORDS} >= {"Account", "NewMessage", "Reply", "LogRecord"}


@pytest.fixture(params=RECORDS, ids=lambda cls: f"{cls.__module__}.{cls.__qualname__}")
def record(request: pytest.FixtureRequest) -> type[Record]:
    return request.param


def test_the_fields_are_the_init_parameters_in_order(record):
    parameters = list(inspect.signature(record.__init__).parameters)[1:]
    assert record.FIELDS == tuple(parameters)


def test_init_stores_each_argument_as_its_field_and_nothing_else(record):
    instance = record(**values(record))
    assert {name: getattr(instance, name) for name in record.FIELDS} == values(record)
    slots = {slot for cls in record.__mro__ for slot in getattr(cls, "__slots__", ())}
    stored = slots if not hasattr(instance, "__dict__") else slots | set(vars(instance))
    assert stored == set(record.FIELDS)


def test_hidden_and_ignored_fields_are_fields(record):
    assert record.REPR_HIDDEN <= set(record.FIELDS)
    assert record.EQ_IGNORED <= set(record.FIELDS)


def test_repr_shows_every_field_but_the_hidden_ones(record):
    text = repr(record(**values(record)))
    assert text.startswith(f"{record.__qualname__}(")
    for name, value in values(record).items():
        assert (f"{name}={value!r}" in text) is (name not in record.REPR_HIDDEN)
        assert (value in text) is (name not in record.REPR_HIDDEN)


def test_equality_compares_every_field_but_the_ignored_ones(record):
    instance = record(**values(record))
    assert instance == record(**values(record))
    for name in record.FIELDS:
        other = record(**{**values(record), name: "<changed>"})
        assert (instance == other) is (name in record.EQ_IGNORED)


def test_replace_changes_only_the_fields_named(record):
    instance = record(**values(record))
    for name in record.FIELDS:
        changed = instance.replace(**{name: "<changed>"})
        assert type(changed) is record
        assert {field: getattr(changed, field) for field in record.FIELDS} == {
            **values(record), name: "<changed>"}
    assert instance.replace() == instance


def test_a_frozen_record_cannot_change_and_hashes_as_it_compares(record):
    instance = record(**values(record))
    if not isinstance(instance, FrozenRecord):
        assert record.__hash__ is None  # mutable: unhashable, as @dataclass
        return
    for name in record.FIELDS:
        with pytest.raises(AttributeError):
            setattr(instance, name, "<changed>")
        with pytest.raises(AttributeError):
            delattr(instance, name)
    assert hash(instance) == hash(record(**values(record)))
    ignored = {name: "<changed>" for name in record.EQ_IGNORED}
    assert hash(instance) == hash(record(**{**values(record), **ignored}))
