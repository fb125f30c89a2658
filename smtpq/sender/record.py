"""Plain record classes without ``dataclasses``: equality, repr, copying and freezing.

``import dataclasses`` pulls in ``inspect`` (and with it ``ast``, ``dis``,
``tokenize``, ``linecache``…): about 3 ms, a fifth of what the whole enqueue
path may cost (docs/performance.md).  The records the sendmail entry builds
for every mail therefore write their ``__init__`` by hand, name their fields
in ``FIELDS``, and get the rest from :class:`Record` (mutable, unhashable, as
``@dataclass``) or :class:`FrozenRecord` (as ``@dataclass(frozen=True)``).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from typing import Any, Self


class Record:
    """``==`` and ``repr`` over ``FIELDS`` (in order), like a dataclass."""

    __slots__ = ()

    #: The fields, in ``__init__`` order; ``==`` and ``repr`` use them.
    FIELDS: tuple[str, ...] = ()
    #: Fields left out of ``repr`` (secrets).
    REPR_HIDDEN: frozenset[str] = frozenset()
    #: Fields left out of ``==`` (and of the hash of a frozen record).
    EQ_IGNORED: frozenset[str] = frozenset()

    __hash__ = None  # type: ignore[assignment]  # mutable: unhashable, as @dataclass

    def _key(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.FIELDS if name not in self.EQ_IGNORED)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record) or other.__class__ is not self.__class__:
            return NotImplemented
        return self._key() == other._key()

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.FIELDS
                          if name not in self.REPR_HIDDEN)
        return f"{type(self).__qualname__}({shown})"

    def replace(self, **changes: Any) -> Self:
        """A new record with *changes* applied (``dataclasses.replace``: a shallow copy)."""
        values = {name: getattr(self, name) for name in self.FIELDS}
        values.update(changes)
        return type(self)(**values)


class FrozenRecord(Record):
    """A :class:`Record` whose fields cannot be assigned after ``__init__``; hashable."""

    __slots__ = ()

    def _freeze(self, **values: Any) -> None:
        """Set the fields once, from ``__init__``."""
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r} of a frozen record")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r} of a frozen record")

    def __hash__(self) -> int:  # type: ignore[override]  # Record sets __hash__ = None
        return hash(self._key())
