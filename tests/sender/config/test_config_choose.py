"""Account choice, command-line overrides and finishing, as msmtp 1.8.23 does them (§2.3)."""

from __future__ import annotations

import pytest

from smtpq.sender.config.choose import resolve_account
from smtpq.sender.config.files import LoadedConfig
from smtpq.sender.config.settings import Account, Protocol
from smtpq.sender.errors import ConfigError
from tests.sender.config.config_helpers import parse

ENV = {"HOME": "/home/u", "USER": "joe", "HOSTNAME": "box"}


def config(text: str, conffile: str = "FILE") -> LoadedConfig:
    return LoadedConfig(accounts=parse(text, conffile=conffile).accounts, user_file=conffile)


def resolve(cfg: LoadedConfig | None, *, name: str | None = None, host: str | None = None,
            frm: str | None = None, overrides: Account | None = None, env=ENV, **kwargs):
    """resolve_account, by default as under --pretend (no missing-from error)."""
    kwargs.setdefault("pretend", True)
    return resolve_account(cfg, account_name=name, host=host, envelope_from=frm,
                           overrides=overrides or Account(), env=env, **kwargs)


def failure(*args, **kwargs) -> str:
    with pytest.raises(ConfigError) as info:
        resolve(*args, **kwargs)
    assert info.value.exit_code == 78
    return info.value.message


WILD = config("account plain\nhost p\nfrom joe@example.org\n"
              "account wild\nhost w\nfrom *@wild.example\n"
              "account default\nhost d\nfrom default@example.org\n")


class TestChoice:
    def test_default_account(self) -> None:
        result = resolve(WILD)
        assert result.account.name == "default"
        assert result.notes == ["falling back to default account",
                                "using account default from FILE"]

    def test_by_name(self) -> None:
        result = resolve(WILD, name="plain")
        assert result.account.host == "p"
        assert result.notes == ["using account plain from FILE"]

    def test_unknown_name(self) -> None:
        assert failure(WILD, name="nope") == "account nope not found in FILE"

    def test_by_envelope_from(self) -> None:
        result = resolve(WILD, frm="x@wild.example")
        assert (result.account.name, result.account.from_) == ("wild", "x@wild.example")
        assert result.notes[0] == "account chosen by envelope from address x@wild.example: wild"

    def test_envelope_from_without_match_falls_back_to_default(self) -> None:
        result = resolve(WILD, frm="other@example.net")
        assert result.account.name == "default"
        assert result.account.from_ == "other@example.net"
        assert result.notes[0] == "falling back to default account"

    def test_a_named_account_is_not_searched_by_from(self) -> None:
        result = resolve(WILD, name="plain", frm="x@wild.example")
        assert (result.account.name, result.account.from_) == ("plain", "x@wild.example")

    def test_no_default_and_no_files(self) -> None:
        assert failure(None) == "account default not found: no configuration file available"
        assert failure(config("account a\nhost h\n")) == "account default not found in FILE"

    def test_the_chosen_account_is_a_copy(self) -> None:
        resolve(WILD, name="plain", overrides=Account(port=1, explicit={"port"}))
        assert WILD.find("plain").port == 0


class TestEnvironmentFallback:
    def test_email_and_smtpserver(self) -> None:
        env = ENV | {"EMAIL": "e@x", "SMTPSERVER": "smtp.x"}
        result = resolve(config("account a\nhost h\n"), env=env)
        account = result.account
        assert (account.host, account.from_, account.port) == ("smtp.x", "e@x", 25)
        assert result.notes == ["falling back to default account",
                                "using environment variables EMAIL and SMTPSERVER"]

    def test_f_replaces_email_and_makes_it_unnecessary(self) -> None:
        result = resolve(None, frm="f@x", env=ENV | {"SMTPSERVER": "s"})
        assert result.account.from_ == "f@x"

    def test_sendmail_mode_needs_email_or_f(self) -> None:
        assert failure(None, env=ENV | {"SMTPSERVER": "s"}) == \
            "account default not found: no configuration file available"

    def test_other_modes_need_only_smtpserver(self) -> None:
        result = resolve(None, env=ENV | {"SMTPSERVER": "s"}, sendmail=False)
        assert result.account.host == "s"

    def test_not_with_dash_a(self) -> None:
        env = ENV | {"EMAIL": "e@x", "SMTPSERVER": "s"}
        assert failure(None, name="default", env=env) == \
            "account default not found: no configuration file available"

    def test_values_are_used_as_is_and_from_is_substituted(self) -> None:
        result = resolve(None, env=ENV | {"EMAIL": "%U@x", "SMTPSERVER": ""})
        assert (result.account.host, result.account.from_) == ("", "joe@x")


class TestCommandLine:
    def test_host_means_command_line_only(self) -> None:
        overrides = Account(port=2525, explicit={"port"})
        result = resolve(None, host="h", frm="%U@x", overrides=overrides)
        account = result.account
        assert (account.host, account.port, account.from_) == ("h", 2525, "joe@x")
        assert result.notes == ["using account specified on command line"]

    def test_overrides_apply_only_what_was_set(self) -> None:
        overrides = Account(port=2600, domain="client.example", explicit={"port"})
        result = resolve(WILD, name="plain", overrides=overrides)
        assert (result.account.port, result.account.domain) == (2600, "localhost")

    def test_allow_from_override_off_keeps_the_accounts_from(self) -> None:
        cfg = config("account a\nhost h\nfrom fixed@x\nallow_from_override off\n")
        assert resolve(cfg, name="a", frm="other@x").account.from_ == "fixed@x"

    def test_wildcard_account_keeps_its_pattern_without_override(self) -> None:
        cfg = config("account a\nhost h\nfrom *@wild\nallow_from_override off\n")
        assert resolve(cfg, frm="q@wild").account.from_ == "*@wild"

    def test_null_sender(self) -> None:
        cfg = config("account a\nhost h\nfrom a@b\naccount default\nhost d\n")
        assert resolve(cfg, frm="").account.from_ == ""

    def test_empty_from_chooses_an_account_with_empty_from(self) -> None:
        cfg = config("account a\nhost h\nfrom\naccount default\nhost d\n")
        assert resolve(cfg, frm="").account.name == "a"

    def test_auto_from_overrides_from_and_f(self) -> None:
        cfg = config("account a\nhost h\nauto_from\nmaildomain m\nfrom f@x\n")
        assert resolve(cfg, name="a", frm="c@x").account.from_ == "joe@m"


class TestFinishing:
    def test_default_ports(self) -> None:
        cfg = config("account a\nhost h\naccount s : a\ntls\ntls_starttls off\n"
                     "account t : a\ntls\naccount p : a\nport 587\ntls\ntls_starttls off\n")
        assert [resolve(cfg, name=n).account.port for n in "astp"] == [25, 465, 25, 587]

    def test_lmtp_has_no_default_port(self) -> None:
        cfg = config("account a\nhost h\nprotocol lmtp\n")
        assert failure(cfg, name="a") == "account a from FILE: port not set"
        overrides = Account(port=24, explicit={"port"})
        assert resolve(cfg, name="a", overrides=overrides).account.protocol == Protocol.LMTP

    def test_trust_file_defaults_to_system_unless_set_explicitly(self) -> None:
        cfg = config("defaults\ntls_trust_file\naccount a\nhost h\naccount b : a\n"
                     "account c\nhost h\ntls_trust_file\naccount d : c\n")
        assert [resolve(cfg, name=n).account.tls_trust_file for n in "abcd"] == [
            "system", "system", None, None]
        overrides = Account(tls_trust_file=None, explicit={"tls_trust_file"})
        assert resolve(cfg, name="a", overrides=overrides).account.tls_trust_file is None

    def test_proxy_port_default(self) -> None:
        cfg = config("account a\nhost h\nproxy_host p\naccount b\nhost h\nproxy_port 9\n")
        assert resolve(cfg, name="a").account.proxy_port == 1080
        assert resolve(cfg, name="b").account.proxy_port == 9

    def test_substitutions_only_in_sendmail_mode_for_from(self) -> None:
        cfg = config("account a\nhost h\nfrom %U@%H\ndomain %H\n")
        account = resolve(cfg, name="a").account
        assert (account.from_, account.domain) == ("joe@box", "box")
        account = resolve(cfg, name="a", sendmail=False).account
        assert (account.from_, account.domain) == ("%U@%H", "box")

    def test_matching_uses_the_raw_from(self) -> None:
        cfg = config("account a\nhost h\nfrom %U@x\naccount default\nhost d\n")
        assert resolve(cfg, frm="joe@x").account.name == "default"


class TestChecks:
    @pytest.mark.parametrize("body, message", [
        ("from a@b\n", "host not set"),
        ("host h\nprotocol lmtp\ntls_key_file /k\n", "port not set"),
        ("host h\ntls_key_file /k\n", "tls_key_file requires tls_cert_file"),
        ("host h\ntls_cert_file /c\n", "tls_cert_file requires tls_key_file"),
        ("host h\ntls\ntls_trust_file\ntls_crl_file /c\n",
         "tls requires either tls_trust_file (highly recommended) or tls_fingerprint "
         "or a disabled tls_certcheck"),
        ("host h\ntls_trust_file\ntls_crl_file /c\ntls_certcheck off\n",
         "tls_crl_file requires tls_trust_file"),
    ])
    def test_first_problem_is_reported_with_the_account(self, body: str, message: str) -> None:
        assert failure(config("account a\n" + body), name="a", pretend=True) == \
            f"account a from FILE: {message}"

    def test_socket_replaces_host(self) -> None:
        assert resolve(config("account a\nsocket /s\n"), name="a").account.host is None

    def test_missing_from_only_when_sending(self) -> None:
        cfg = config("account a\nhost h\n")
        assert failure(cfg, name="a", pretend=False) == \
            "account a from FILE: envelope-from address is missing"
        assert resolve(cfg, name="a", pretend=True).account.from_ is None
        assert resolve(cfg, name="a", sendmail=False, pretend=False).account.from_ is None
        cfg = config("account a\nhost h\nfrom\n")
        assert resolve(cfg, name="a", pretend=False).account.from_ == ""

    def test_command_line_accounts_have_no_prefix(self) -> None:
        assert failure(None, host="h", pretend=False) == "envelope-from address is missing"
        overrides = Account(protocol=Protocol.LMTP, explicit={"protocol"})
        assert failure(None, host="h", frm="a", overrides=overrides) == "port not set"

    def test_notes_survive_a_failure(self) -> None:
        notes: list[str] = []
        with pytest.raises(ConfigError):
            resolve(config("account a\nfrom x\naccount default : a\n"), notes=notes)
        assert notes == ["falling back to default account"]


class TestPasswordeval:
    def test_runs_only_with_auth_and_without_password(self) -> None:
        calls: list[str] = []

        def runner(command: str) -> str:
            calls.append(command)
            return "secret"

        cfg = config("account a\nhost h\nauth on\npasswordeval get\n"
                     "account b\nhost h\npasswordeval get\n"
                     "account c\nhost h\nauth on\npassword p\npasswordeval get\n")
        assert resolve(cfg, name="a", password_command=runner).account.password == "secret"
        assert resolve(cfg, name="b", password_command=runner).account.password is None
        assert resolve(cfg, name="c", password_command=runner).account.password == "p"
        assert calls == ["get"]

    def test_its_failure_comes_before_the_checks(self) -> None:
        from smtpq.sender.config.evaluate import password_from_command

        cfg = config("account a\nauth on\npasswordeval printf ''\n")
        assert failure(cfg, name="a", password_command=password_from_command) == \
            "cannot read output of 'printf \'\''"
