"""The ``key = value`` block of ``--pretend`` (§3.1); the differential tests cover the rest."""

from __future__ import annotations

from smtpq.sender.config.settings import AUTH_CHOOSE, Account, HeaderPolicy
from smtpq.sender.config.show import pretend_lines


def line(account: Account, key: str, **kwargs) -> str:
    return next(x for x in pretend_lines(account, **kwargs) if x.startswith(key + " = "))


def test_timeouts() -> None:
    assert line(Account(timeout=0), "timeout") == "timeout = off"
    assert line(Account(timeout=1), "timeout") == "timeout = 1 second"
    assert line(Account(timeout=30), "timeout") == "timeout = 30 seconds"


def test_auth() -> None:
    assert line(Account(auth=None), "auth") == "auth = none"
    assert line(Account(auth=AUTH_CHOOSE), "auth") == "auth = choose"
    assert line(Account(auth="PLAIN"), "auth") == "auth = PLAIN"


def test_the_password_is_never_shown() -> None:
    assert line(Account(password="s3cret"), "password") == "password = *"
    assert all("s3cret" not in x for x in pretend_lines(Account(password="s3cret")))


def test_fingerprint_in_upper_case_hex() -> None:
    account = Account(tls_fingerprint=bytes([0, 0x11, 0xAB]))
    assert line(account, "tls_fingerprint") == "tls_fingerprint = 00:11:AB"


def test_sendmail_section_only_in_sendmail_mode() -> None:
    assert len(pretend_lines(Account(), sendmail=False)) == 25
    assert pretend_lines(Account())[25] == "auto_from = off"


def test_set_msgid_header_is_shown_unlike_msmtp_1_8_23() -> None:
    account = Account(set_msgid_header=HeaderPolicy.OFF)
    assert line(account, "set_msgid_header") == "set_msgid_header = off"
    lines = pretend_lines(account)
    assert lines.index("set_msgid_header = off") == lines.index("set_date_header = auto") + 1


def test_from_read_from_mail() -> None:
    assert line(Account(), "from", read_envelope_from=True) == "from = (read from mail)"
    assert line(Account(), "from") == "from = (not set)"
