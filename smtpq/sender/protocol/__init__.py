"""smtpq's own SMTP/LMTP client: connection, replies, commands named after RFC verbs.

Public entry points (imported lazily, so ``smtpq.sender.tls`` can use the
error classes without an import cycle):

* :class:`Session` (``session.py``) — ``Session.open(account, transcript=…)``
* :class:`TransactionResult`, :class:`RecipientResult`, :class:`Policy` (``transaction.py``)
* :class:`Reply` (``reply.py``), :class:`Capabilities` (``capabilities.py``)
* :func:`debug_printer` (``transcript.py``), :func:`describe_server` (``describe.py``)
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from typing import Any

_EXPORTS = {
    "Session": "session", "Policy": "transaction", "TransactionResult": "transaction",
    "RecipientResult": "transaction", "Reply": "reply", "Capabilities": "capabilities",
    "debug_printer": "transcript", "describe_server": "describe",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(name)
    # __import__ rather than importlib.import_module: this package is on the
    # --send-now path, which imports neither importlib nor typing.
    module = __import__(f"{__name__}.{_EXPORTS[name]}", fromlist=[name])
    return getattr(module, name)
