"""Test certificates made with trustme: a CA file plus good and broken server certificates.

``TlsMaterial.server_context(kind)`` gives a server-side ``SSLContext`` for:

* ``good`` — issued by the test CA for localhost, 127.0.0.1 and ::1;
* ``wrong_host`` — issued by the test CA for ``wrong.example`` only;
* ``untrusted`` — for localhost/127.0.0.1, issued by a CA that is not in ``ca_file``;
* ``expired`` — issued by the test CA for localhost/127.0.0.1, expired in 2020.
"""

from __future__ import annotations

import datetime
import hashlib
import ssl
from pathlib import Path

import trustme

KINDS = ("good", "wrong_host", "untrusted", "expired")


class TlsMaterial:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.ca = trustme.CA()
        self.other_ca = trustme.CA()
        self.ca_file = directory / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        local = ("localhost", "127.0.0.1", "::1")
        self.certs = {
            "good": self.ca.issue_cert(*local, common_name="localhost"),
            "wrong_host": self.ca.issue_cert("wrong.example", common_name="wrong.example"),
            "untrusted": self.other_ca.issue_cert(*local, common_name="localhost"),
            "expired": self.ca.issue_cert(*local, not_before=datetime.datetime(2019, 1, 1),
                                          not_after=datetime.datetime(2020, 1, 1)),
        }
        client = self.ca.issue_cert("client@example.org", common_name="client")
        self.client_cert_file = directory / "client-cert.pem"
        self.client_key_file = directory / "client-key.pem"
        client.cert_chain_pems[0].write_to_path(str(self.client_cert_file))
        client.private_key_pem.write_to_path(str(self.client_key_file))

    def server_context(self, kind: str = "good", *,
                       require_client_cert: bool = False) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.certs[kind].configure_cert(context)
        if require_client_cert:
            self.ca.configure_trust(context)
            context.verify_mode = ssl.CERT_REQUIRED
        return context

    def der(self, kind: str = "good") -> bytes:
        return ssl.PEM_cert_to_DER_cert(self.certs[kind].cert_chain_pems[0].bytes().decode())

    def fingerprint(self, kind: str = "good", algorithm: str = "sha256") -> bytes:
        """The raw digest, as ``Account.tls_fingerprint`` holds it."""
        return hashlib.new(algorithm, self.der(kind)).digest()
