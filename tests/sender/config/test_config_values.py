"""Argument checks shared by msmtprc commands and command-line options (msmtp's conf.c).

Every expectation here was observed with msmtp 1.8.23 (``port X`` /
``dsn_notify X`` lines under ``--pretend``).
"""

from __future__ import annotations

import pytest

from smtpq.sender.config import values


class TestNumbersAreReadLikeCStrtolBaseZero:
    @pytest.mark.parametrize("text, number", [
        ("25", 25), ("0x19", 25), ("0X19", 25), ("031", 25), ("000031", 25), ("+25", 25),
        (" 25", 25), ("\t25", 25), ("2147483647", 2147483647),
    ])
    def test_accepted(self, text: str, number: int) -> None:
        assert values.positive_int(text) == number

    @pytest.mark.parametrize("text", [
        "", "0", "00", "-1", "08", "0x", "0x1g", "25x", "1e3", "1_000", "- 25", "25 ",
        "2147483648", "99999999999999999999", "٣", "on",
    ])
    def test_rejected(self, text: str) -> None:
        with pytest.raises(ValueError):
            values.positive_int(text)

    def test_strtol_reports_the_unparsed_rest(self) -> None:
        assert values.strtol("0x") == (0, "x")
        assert values.strtol("08") == (0, "8")
        assert values.strtol("abc") is None


class TestPorts:
    def test_range_is_1_to_65535(self) -> None:
        assert values.port("1") == 1
        assert values.port("65535") == 65535
        with pytest.raises(ValueError):
            values.port("65536")
        with pytest.raises(ValueError):
            values.port("0")


class TestDsnNotifyUsesMsmtpsSubstringCount:
    @pytest.mark.parametrize("text, result", [
        ("never", "NEVER"), ("failure", "FAILURE"), ("delay,failure", "DELAY,FAILURE"),
        ("success,failure,delay", "SUCCESS,FAILURE,DELAY"),
        # msmtp only counts the words and commas: these odd ones pass (observed)
        ("failuredelay,", "FAILUREDELAY,"), (",failuredelay", ",FAILUREDELAY"),
        ("successfailure,delay,", "SUCCESSFAILURE,DELAY,"),
    ])
    def test_accepted(self, text: str, result: str) -> None:
        assert values.dsn_notify(text) == result

    @pytest.mark.parametrize("text", [
        "", "Never", "FAILURE", "failure,failure", "failure,", ",failure", "failurexdelay",
        "failure;delay", "never,failure", "sometimes", "off",
    ])
    def test_rejected(self, text: str) -> None:
        with pytest.raises(ValueError):
            values.dsn_notify(text)


class TestDsnReturn:
    def test_headers_and_full(self) -> None:
        assert values.dsn_return("headers") == "HDRS"
        assert values.dsn_return("full") == "FULL"

    def test_hdrs_is_a_command_line_alias_only(self) -> None:
        assert values.dsn_return("hdrs") == "HDRS"
        with pytest.raises(ValueError):
            values.dsn_return("hdrs", hdrs_alias=False)

    def test_case_matters(self) -> None:
        with pytest.raises(ValueError):
            values.dsn_return("HEADERS")


class TestFingerprints:
    def test_sha256_sha1_md5_with_colons_or_blanks(self) -> None:
        assert values.fingerprint(":".join(["ab"] * 32)) == bytes([0xAB]) * 32
        assert values.fingerprint(" ".join(["0F"] * 20)) == bytes([0x0F]) * 20
        assert values.fingerprint(":".join(["a0"] * 16)) == bytes([0xA0]) * 16
        mixed = "0f " + ":".join(["0f"] * 19)
        assert values.fingerprint(mixed) == bytes([0x0F]) * 20

    @pytest.mark.parametrize("text", [
        "-".join(["ab"] * 32), ":".join(["ab"] * 32)[:-1], ":".join(["ab"] * 32) + ":",
        ":".join(["g0"] * 20), "00:11", "on",
    ])
    def test_rejected(self, text: str) -> None:
        with pytest.raises(ValueError):
            values.fingerprint(text)


class TestAuthAndSyslog:
    def test_auth_methods_are_lower_case_words(self) -> None:
        assert values.auth_method("") == ""
        assert values.auth_method("on") == ""
        assert values.auth_method("scram-sha-256") == "SCRAM-SHA-256"
        for bad in ("PLAIN", "Plain", "kerberos", "off"):
            with pytest.raises(ValueError):
                values.auth_method(bad)

    def test_syslog_facilities(self) -> None:
        assert values.syslog_facility("LOG_LOCAL7") == "LOG_LOCAL7"
        for bad in ("LOG_LOCAL8", "log_mail", "LOG_DAEMON"):
            with pytest.raises(ValueError):
                values.syslog_facility(bad)

    def test_on_off_treats_empty_as_on(self) -> None:
        assert values.on_off("") is True
        assert values.on_off("on") is True
        assert values.on_off("off") is False
        with pytest.raises(ValueError):
            values.on_off("yes")
