"""msmtp's ``--serverinfo`` text for an open session (data from the session, format from msmtp).

Capabilities appear in msmtp's fixed order (SIZE, PIPELINING, ETRN, DSN,
STARTTLS, AUTH); AUTH methods in msmtp's order, each followed by a space.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from smtpq.sender.protocol.capabilities import Capabilities
from smtpq.sender.tls.certinfo import format_tls_info

if TYPE_CHECKING:
    from smtpq.sender.protocol.session import Session

AUTH_ORDER = ("PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256", "EXTERNAL", "GSSAPI", "CRAM-MD5",
              "DIGEST-MD5", "LOGIN", "NTLM", "OAUTHBEARER", "XOAUTH2")


def describe_size(size: int) -> str:
    """``Maximum message size is …`` as msmtp words it."""
    if size == 0:
        return "Maximum message size is unlimited"
    text = f"Maximum message size is {size} bytes"
    if size > 1024 * 1024:
        return f"{text} = {size / (1024 * 1024):.2f} MiB"
    if size > 1024:
        return f"{text} = {size / 1024:.2f} KiB"
    return text


def capability_lines(caps: Capabilities) -> list[str]:
    lines: list[str] = []
    if caps.size is not None:
        lines += [f"    SIZE {caps.size}:", f"        {describe_size(caps.size)}"]
    if caps.pipelining:
        lines += ["    PIPELINING:", "        Support for command grouping for faster transmission"]
    if caps.etrn:
        lines += ["    ETRN:", "        Support for RMQS (Remote Message Queue Starting)"]
    if caps.dsn:
        lines += ["    DSN:", "        Support for Delivery Status Notifications"]
    if caps.starttls:
        lines += ["    STARTTLS:", "        Support for TLS encryption via the STARTTLS command"]
    if caps.auth:
        methods = "".join(f"{m} " for m in AUTH_ORDER if m in caps.auth_methods)
        lines += ["    AUTH:", "        Supported authentication methods:", f"        {methods}"]
    return ["Capabilities:", *lines] if lines else ["No special capabilities."]


def server_line(session: Session) -> str:
    """``SMTP server at HOST (NAME [ADDRESS]), port N:``."""
    endpoint = session.connection.endpoint
    kind = "LMTP" if session.lmtp else "SMTP"
    if endpoint.socket_path:
        return f"{kind} server at {endpoint.socket_path}:"
    where = endpoint.host or ""
    address, name = endpoint.numeric_address(), endpoint.canonical_name()
    if address:
        where += f" ({name} [{address}])" if name else f" ([{address}])"
    return f"{kind} server at {where}, port {endpoint.port}:"


def describe_server(session: Session) -> str:
    """The whole ``--serverinfo`` output, newline-terminated."""
    greeting = session.greeting.lines[0][4:] if session.greeting else ""
    lines = [server_line(session), f"    {greeting}"]
    if session.tls_info is not None:
        lines += format_tls_info(session.tls_info)
    lines += capability_lines(session.capabilities)
    if session.capabilities.starttls and not session.tls_active:
        lines.append("This server might advertise more or other capabilities when TLS is active.")
    return "\n".join(lines) + "\n"
