"""An account as the ``key = value`` lines msmtp 1.8.23 prints under ``--pretend`` (§3.1).

Only the settings block: the decision lines before it and the
``reading recipients …`` line after it belong to the mode.  The sendmail
section (``auto_from`` … ``aliases``) is printed in sendmail mode only.

Deviation, on purpose: ``set_msgid_header = …`` is printed after
``set_date_header`` (msmtp 1.8.23 forgets it, a bug fixed later); tests that
compare with the binary drop that line.  Values are printed raw, as msmtp
does (no sanitising); the password is ``*``.
"""

from __future__ import annotations

from smtpq.sender.config.settings import Account, HeaderPolicy

NOT_SET = "(not set)"


def _text(value: str | None) -> str:
    return NOT_SET if value is None else value


def _on_off(value: bool) -> str:
    return "on" if value else "off"


def _timeout(seconds: int) -> str:
    if seconds <= 0:
        return "off"
    return "1 second" if seconds == 1 else f"{seconds} seconds"


def _auth(auth: str | None) -> str:
    if auth is None:
        return "none"
    return auth or "choose"


def _fingerprint(digest: bytes | None) -> str:
    return NOT_SET if digest is None else ":".join(f"{b:02X}" for b in digest)


def _auto_or_off(policy: str) -> str:
    return "auto" if policy == HeaderPolicy.AUTO else "off"


def connection_lines(account: Account) -> list[str]:
    """The lines every mode prints (``host`` … ``tls_host_override``)."""
    a = account
    return [
        f"host = {_text(a.host)}",
        f"port = {a.port}",
        f"source ip = {_text(a.source_ip)}",
        f"proxy host = {_text(a.proxy_host)}",
        f"proxy port = {a.proxy_port}",
        f"socket = {_text(a.socket)}",
        f"timeout = {_timeout(a.timeout)}",
        f"protocol = {a.protocol}",
        f"domain = {a.domain}",
        f"auth = {_auth(a.auth)}",
        f"user = {_text(a.user)}",
        f"password = {'*' if a.password is not None else NOT_SET}",
        f"passwordeval = {_text(a.passwordeval)}",
        f"ntlmdomain = {_text(a.ntlmdomain)}",
        f"tls = {_on_off(a.tls)}",
        f"tls_starttls = {_on_off(a.tls_starttls)}",
        f"tls_trust_file = {_text(a.tls_trust_file)}",
        f"tls_crl_file = {_text(a.tls_crl_file)}",
        f"tls_fingerprint = {_fingerprint(a.tls_fingerprint)}",
        f"tls_key_file = {_text(a.tls_key_file)}",
        f"tls_cert_file = {_text(a.tls_cert_file)}",
        f"tls_certcheck = {_on_off(a.tls_certcheck)}",
        "tls_min_dh_prime_bits = "
        + (NOT_SET if a.tls_min_dh_prime_bits is None else str(a.tls_min_dh_prime_bits)),
        f"tls_priorities = {_text(a.tls_priorities)}",
        f"tls_host_override = {_text(a.tls_host_override)}",
    ]


def sendmail_lines(account: Account, *, read_envelope_from: bool = False) -> list[str]:
    """The sendmail-mode lines (``auto_from`` … ``aliases``)."""
    a = account
    from_ = a.from_
    if from_ is None:
        from_ = "(read from mail)" if read_envelope_from else NOT_SET
    return [
        f"auto_from = {_on_off(a.auto_from)}",
        f"maildomain = {_text(a.maildomain)}",
        f"from = {from_}",
        f"allow_from_override = {_on_off(a.allow_from_override)}",
        f"set_from_header = {a.set_from_header}",
        f"set_date_header = {_auto_or_off(a.set_date_header)}",
        f"set_msgid_header = {_auto_or_off(a.set_msgid_header)}",
        f"remove_bcc_headers = {_on_off(a.remove_bcc_headers)}",
        f"undisclosed_recipients = {_on_off(a.undisclosed_recipients)}",
        f"dsn_notify = {_text(a.dsn_notify)}",
        f"dsn_return = {_text(a.dsn_return)}",
        f"logfile = {_text(a.logfile)}",
        f"logfile_time_format = {_text(a.logfile_time_format)}",
        f"syslog = {_text(a.syslog)}",
        f"aliases = {_text(a.aliases)}",
    ]


def pretend_lines(account: Account, *, sendmail: bool = True,
                  read_envelope_from: bool = False) -> list[str]:
    """Every ``key = value`` line msmtp prints for *account* (finished by ``resolve_account``)."""
    lines = connection_lines(account)
    if sendmail:
        lines += sendmail_lines(account, read_envelope_from=read_envelope_from)
    return lines
