"""Password lookup in the user's key ring, never hanging and never printing.

msmtp 1.8.23 (libsecret) looks for an item with the attributes ``host=HOST
service=smtp user=USER`` (what ``msmtp --configure`` tells users to store with
``secret-tool``), then for the old GNOME network schema ``user protocol=smtp
server=HOST``.  We do the same when ``keyring``'s backend is the Secret Service
one, and otherwise (and then) ask ``keyring``'s generic API for service
``smtp://HOST`` and the user name, which any backend (macOS Keychain, Windows,
KWallet, ``keyrings.alt`` files) supports.

The ``keyring`` package is imported only here and only when a password is
needed.  Any error from it or its backend counts as "no password"; a lookup
still running after :data:`TIMEOUT` seconds (a stuck D-Bus peer) is abandoned.
"""

from __future__ import annotations

import contextlib
import logging
import threading

#: Seconds to wait for a key ring before going on to netrc and the prompt.
TIMEOUT = 10.0

_MSMTP_SCHEMAS = (
    lambda host, user: {"host": host, "service": "smtp", "user": user},
    lambda host, user: {"user": user, "protocol": "smtp", "server": host},
)


def service_name(host: str) -> str:
    """The ``keyring`` service a password for *host* is stored under."""
    return f"smtp://{host}"


def keyring_password(host: str, user: str, timeout: float = TIMEOUT) -> str | None:
    """The stored password for *user* at *host*, or None."""
    result: list[str | None] = [None]

    def lookup() -> None:
        result[0] = _lookup(host, user)

    worker = threading.Thread(target=lookup, name="smtpq-keyring", daemon=True)
    worker.start()
    worker.join(timeout)
    return None if worker.is_alive() else result[0]


def _lookup(host: str, user: str) -> str | None:
    # Backends log through "keyring"; keep them off the user's terminal.
    logging.getLogger("keyring").addHandler(logging.NullHandler())
    try:
        import keyring

        backend = keyring.get_keyring()
        password = _secret_service(host, user) if _uses_secret_service(backend) else None
        if password is None:
            password = backend.get_password(service_name(host), user)
        return password
    except Exception:  # noqa: BLE001 - no key ring is "no password", whatever the cause
        return None


def _uses_secret_service(backend: object) -> bool:
    try:
        from keyring.backends import SecretService, chainer
    except Exception:  # noqa: BLE001
        return False
    backends = backend.backends if isinstance(backend, chainer.ChainerBackend) else [backend]
    return any(isinstance(b, SecretService.Keyring) for b in backends)


def _secret_service(host: str, user: str) -> str | None:
    """msmtp's own libsecret items, found by their attributes."""
    import secretstorage

    with contextlib.closing(secretstorage.dbus_init()) as connection:
        for schema in _MSMTP_SCHEMAS:
            for item in secretstorage.search_items(connection, schema(host, user)):
                if item.is_locked():
                    item.unlock()
                return item.get_secret().decode("utf-8", "surrogateescape")
    return None
