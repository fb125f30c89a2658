"""syslog gets the line without time stamp, ident msmtp, LOG_INFO or LOG_ERR, the set facility."""

from __future__ import annotations

import syslog

import pytest

from smtpq.sender.log import log_to_syslog
from smtpq.sender.log.syslogger import facility_code


@pytest.fixture()
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, ...]]:
    recorded: list[tuple[object, ...]] = []
    monkeypatch.setattr(syslog, "openlog", lambda *a: recorded.append(("openlog", *a)))
    monkeypatch.setattr(syslog, "syslog", lambda *a: recorded.append(("syslog", *a)))
    monkeypatch.setattr(syslog, "closelog", lambda *a: recorded.append(("closelog", *a)))
    return recorded


def test_success_is_info_with_msmtps_ident(calls: list[tuple[object, ...]]) -> None:
    log_to_syslog("LOG_MAIL", "host=h exitcode=EX_OK", error=False)
    assert calls == [("openlog", "msmtp", 0, syslog.LOG_MAIL),
                     ("syslog", syslog.LOG_INFO, "host=h exitcode=EX_OK"), ("closelog",)]


def test_failure_is_err(calls: list[tuple[object, ...]]) -> None:
    log_to_syslog("LOG_USER", "x", error=True)
    assert calls[1] == ("syslog", syslog.LOG_ERR, "x")
    assert calls[0][3] == syslog.LOG_USER


def test_undecodable_bytes_do_not_raise(calls: list[tuple[object, ...]]) -> None:
    log_to_syslog("LOG_USER", "from=\udcff", error=False)
    assert calls[1] == ("syslog", syslog.LOG_INFO, "from=\ufffd")


@pytest.mark.parametrize("n", range(8))
def test_local_facilities(n: int) -> None:
    assert facility_code(f"LOG_LOCAL{n}") == getattr(syslog, f"LOG_LOCAL{n}")


def test_real_syslog_call_does_not_raise() -> None:
    log_to_syslog("LOG_LOCAL7", "smtpq test suite: host=h exitcode=EX_OK", error=False)
