"""An aiosmtpd server on a free 127.0.0.1 port, run in a thread by its Controller.

``SmtpServer(tls_material, mode=…, …)`` — ``mode`` is ``plain``, ``starttls``
or ``smtps``; ``cert`` picks a certificate from :mod:`.certs`; ``credentials``
turns AUTH on (``auth_require_tls`` as in aiosmtpd); ``lmtp=True`` serves LMTP;
``require_client_cert`` asks for a certificate from the test CA (``tls.client_cert_file``);
``handler`` replaces the :class:`RecordingHandler` (subclass it to add
``auth_<MECH>`` methods — aiosmtpd's hook for extra SASL mechanisms; name them
with ``@aiosmtpd.smtp.auth_mechanism("CRAM-MD5")`` — and pass ``credentials``,
even ``{}``, so that AUTH is announced).
"""

from __future__ import annotations

import dataclasses
import socket
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from smtpq.sender.config.settings import Account, Protocol
from tests.support.certs import TlsMaterial


@dataclasses.dataclass
class Received:
    """One mail as the server got it."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    mail_options: list[str]
    rcpt_options: list[list[str]]


class RecordingHandler:
    """Records every mail; replies can be forced per address or for DATA.

    ``mail_replies``/``rcpt_replies`` map an address to a reply line
    (``"550 5.1.1 unknown"``); ``data_reply`` replaces the end-of-data reply;
    ``lmtp_replies`` maps a recipient to its own end-of-data reply (LMTP).
    """

    def __init__(self, *, mail_replies: dict[str, str] | None = None,
                 rcpt_replies: dict[str, str] | None = None, data_reply: str | None = None,
                 lmtp_replies: dict[str, str] | None = None) -> None:
        self.mail_replies = mail_replies or {}
        self.rcpt_replies = rcpt_replies or {}
        self.data_reply = data_reply
        self.lmtp_replies = lmtp_replies or {}
        self.messages: list[Received] = []
        self.lmtp = False

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802
        if address in self.mail_replies:
            return self.mail_replies[address]
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        envelope.rcpt_options = []
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.append(list(rcpt_options))
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                      envelope.original_content or b"",
                                      list(envelope.mail_options),
                                      list(getattr(envelope, "rcpt_options", []))))
        if self.lmtp:
            return "\r\n".join(self.lmtp_replies.get(r, f"250 2.0.0 <{r}> delivered")
                               for r in envelope.rcpt_tos)
        return self.data_reply or "250 2.0.0 queued"


def free_port(host: str = "127.0.0.1") -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class _Controller(Controller):
    def __init__(self, *args: Any, lmtp: bool = False, **kwargs: Any) -> None:
        self.lmtp = lmtp
        super().__init__(*args, **kwargs)

    def factory(self) -> SMTP:
        return (LMTP if self.lmtp else SMTP)(self.handler, **self.SMTP_kwargs)


def _authenticator(credentials: dict[str, str]):
    def check(server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword)
              and credentials.get(auth_data.login.decode()) == auth_data.password.decode())
        return AuthResult(success=ok, handled=False)  # aiosmtpd then replies 235 or 535
    return check


class SmtpServer:
    def __init__(self, tls: TlsMaterial, *, mode: str = "plain", cert: str = "good",
                 credentials: dict[str, str] | None = None, auth_require_tls: bool = True,
                 handler: Any = None, lmtp: bool = False, host: str = "127.0.0.1",
                 require_client_cert: bool = False, **smtp_kwargs: Any) -> None:
        self.tls = tls
        self.mode = mode
        self.handler = handler if handler is not None else RecordingHandler()
        if lmtp and hasattr(self.handler, "lmtp"):
            self.handler.lmtp = True
        self.lmtp = lmtp
        self.host = host
        self.port = free_port(host)
        kwargs: dict[str, Any] = {"hostname": host, "port": self.port, "lmtp": lmtp,
                                  "server_hostname": "test.example", **smtp_kwargs}
        context = tls.server_context(cert, require_client_cert=require_client_cert)
        if mode == "starttls":
            kwargs["tls_context"] = context
        elif mode == "smtps":
            kwargs["ssl_context"] = context
        if credentials is not None:
            kwargs["authenticator"] = _authenticator(credentials)
            kwargs["auth_require_tls"] = auth_require_tls
        self.controller = _Controller(self.handler, **kwargs)

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    @property
    def ca_file(self) -> str:
        return str(self.tls.ca_file)

    def account(self, **overrides: Any) -> Account:
        """An Account that reaches this server (TLS settings follow ``mode``)."""
        settings: dict[str, Any] = {"host": self.host, "port": self.port, "timeout": 10}
        if self.mode != "plain":
            settings.update(tls=True, tls_starttls=self.mode == "starttls",
                            tls_trust_file=self.ca_file)
        if self.lmtp:
            settings["protocol"] = Protocol.LMTP
        settings.update(overrides)
        return Account(**settings)

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
