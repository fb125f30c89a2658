"""The SMTP AUTH command exchange (RFC 4954 §4) driving one SASL mechanism.

Failure texts and exit codes are msmtp 1.8.23's (observed):

* any reply other than ``334``/``235`` during the exchange:
  ``authentication failed (method X)``, EX_NOPERM, with the server's reply;
* XOAUTH2 only: a reply other than ``334`` to the AUTH line:
  ``command AUTH XOAUTH2 failed``, EX_PROTOCOL;
* a challenge that is not base64, or a mechanism that cannot go on:
  ``GNU SASL: <reason>``, EX_SOFTWARE (msmtp reports every GNU SASL step error so).

Every line after ``AUTH`` and every AUTH line with an initial response carries
credentials and is sent with ``secret=True``.
"""

from __future__ import annotations

import base64
import binascii

from smtpq.sender.auth.sasl.base import BASE64_ERROR
from smtpq.sender.errors import DeliveryError, MechanismError
from smtpq.sender.sysexits import ExitCode

# typing.TYPE_CHECKING without importing typing (import cost); AuthChannel is a
# typing.Protocol, a type only.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from smtpq.sender.auth.channel import AuthChannel
    from smtpq.sender.auth.sasl.base import Mechanism
    from smtpq.sender.protocol.reply import Reply

CONTINUE = 334  # RFC 4954 §4: server challenge
SUCCESS = 235  # RFC 4954 §6: authentication successful


def run_exchange(channel: AuthChannel, mechanism: Mechanism) -> Reply:
    """Authenticate with *mechanism*; return the server's ``235`` reply or raise."""
    try:
        first = mechanism.first()
        reply = _start(channel, mechanism, first)
        while reply.code == CONTINUE:
            challenge = decode_challenge(reply) if mechanism.reads_challenges else b""
            response = mechanism.step(challenge)
            reply = channel.command(encode(response), secret=True)
        if reply.code != SUCCESS:
            raise auth_failed(mechanism.name, reply)
        mechanism.finish()
    except MechanismError as exc:
        raise DeliveryError(f"GNU SASL: {exc.reason}", exit_code=ExitCode.EX_SOFTWARE) from None
    return reply


def _start(channel: AuthChannel, mechanism: Mechanism, first: bytes | None) -> Reply:
    """Send the AUTH line and, for client-first mechanisms, the first message."""
    if mechanism.initial_response and first is not None:
        # RFC 4954 §4: an empty initial response is sent as "=".
        return channel.command(f"AUTH {mechanism.name} {encode(first) or '='}", secret=True)
    reply = channel.command(f"AUTH {mechanism.name}")
    if reply.code != CONTINUE:
        if mechanism.auth_line_needs_334:
            raise DeliveryError(
                f"command AUTH {mechanism.name} failed", exit_code=ExitCode.EX_PROTOCOL,
                smtp_status=reply.code, smtp_message=reply.lines,
            )
        return reply
    if first is None:
        return reply
    # The server's first challenge is empty for client-first mechanisms; msmtp
    # does not look at it either.
    return channel.command(encode(first), secret=True)


def decode_challenge(reply: Reply) -> bytes:
    """The base64 payload of a ``334`` reply's first line (RFC 4954 §4)."""
    text = reply.lines[0][4:].strip() if reply.lines else ""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise MechanismError(BASE64_ERROR) from None


def encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def auth_failed(method: str, reply: Reply) -> DeliveryError:
    return DeliveryError(
        f"authentication failed (method {method})", exit_code=ExitCode.EX_NOPERM,
        smtp_status=reply.code, smtp_message=reply.lines,
    )
