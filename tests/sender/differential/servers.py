"""Server specifications for the differential cases, started through the shared fixtures.

* :class:`Recorder` — a :class:`~.harness.WireRecorder` (exact wire bytes);
* :class:`Aio` — an aiosmtpd server (TLS modes, certificates, SASL, LMTP,
  forced replies); it records the envelope with its parameters and the
  un-stuffed DATA;
* :class:`Nothing` — a port nobody listens on.

Each ``start(fixtures)`` returns a :class:`~.harness.Target` whose ``args`` are
the connection options (``--host``, ``--port`` and the TLS options its mode
needs, trusting the test CA).
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

from tests.sender.differential.harness import Target, WireRecorder, mask_mail, mask_record
from tests.support.aiosmtpd_server import RecordingHandler, free_port

USERS = {"bob": "s3cret"}
TOKENS = {"bob": "ya29.token"}
SASL_MECHANISMS = ("PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256", "DIGEST-MD5")
ALL_MECHANISMS = (*SASL_MECHANISMS, "OAUTHBEARER", "XOAUTH2", "EXTERNAL", "NTLM")


class Fixtures(NamedTuple):
    smtp_server: Any
    scripted_server: Any
    tls_material: Any
    monkeypatch: Any
    tmp_path: Any


def _host_args(port: int) -> tuple[str, ...]:
    return ("--host=127.0.0.1", f"--port={port}")


@dataclasses.dataclass(frozen=True)
class Recorder:
    greeting: str = "220 recorder ESMTP"
    ehlo: tuple[str, ...] | None = None
    replies: tuple[tuple[str, str], ...] = ()
    stall: bool = False

    def start(self, fx: Fixtures) -> Target:
        options: dict[str, Any] = {"greeting": self.greeting, "replies": dict(self.replies),
                                   "stall": self.stall}
        if self.ehlo is not None:
            options["ehlo"] = self.ehlo
        recorder = WireRecorder(**options)
        server = fx.scripted_server(recorder)
        return Target(server.port, lambda: [mask_record(c) for c in recorder.connections],
                      _host_args(server.port))


@dataclasses.dataclass(frozen=True)
class Aio:
    mode: str = "plain"  # plain, starttls, smtps
    cert: str = "good"
    lmtp: bool = False
    sasl: tuple[str, ...] | None = None  # announced mechanisms (None: no AUTH)
    mail_replies: tuple[tuple[str, str], ...] = ()
    rcpt_replies: tuple[tuple[str, str], ...] = ()
    data_reply: str | None = None
    lmtp_replies: tuple[tuple[str, str], ...] = ()

    def start(self, fx: Fixtures) -> Target:
        if self.sasl and "NTLM" in self.sasl:  # pyspnego's acceptor reads its users from a file
            users = fx.tmp_path / "ntlm-users"
            users.write_text("".join(f"TESTDOM:{u}:{p}\n" for u, p in USERS.items()))
            fx.monkeypatch.setenv("NTLM_USER_FILE", str(users))
        server = fx.smtp_server(mode=self.mode, cert=self.cert, lmtp=self.lmtp,
                                handler=self._handler(), **self._auth_options())
        args = _host_args(server.port)
        if self.mode != "plain":
            args += ("--tls", f"--tls-trust-file={server.ca_file}")
        if self.mode == "smtps":
            args += ("--tls-starttls=off",)
        if self.lmtp:
            args += ("--protocol=lmtp",)
        return Target(server.port, lambda: _messages(server), args, server.ca_file)

    def _handler(self) -> RecordingHandler:
        replies = {"mail_replies": dict(self.mail_replies), "rcpt_replies": dict(self.rcpt_replies),
                   "data_reply": self.data_reply, "lmtp_replies": dict(self.lmtp_replies)}
        if self.sasl is None:
            return RecordingHandler(**replies)
        from tests.support.sasl_handlers import SaslHandler

        return SaslHandler(USERS, tokens=TOKENS, **replies)

    def _auth_options(self) -> dict[str, Any]:
        if self.sasl is None:
            return {}
        excluded = [m for m in ALL_MECHANISMS if m not in self.sasl]
        return {"credentials": USERS, "auth_require_tls": False,
                "auth_exclude_mechanism": excluded}


def _messages(server: Any) -> list[Any]:
    return [(m.mail_from, m.rcpt_tos, m.mail_options, m.rcpt_options, mask_mail(m.data))
            for m in server.messages]


@dataclasses.dataclass(frozen=True)
class Nothing:
    def start(self, fx: Fixtures) -> Target:
        port = free_port()
        return Target(port, lambda: [], _host_args(port))
