"""File structure: defaults, accounts, inheritance, the implicit default account and eval.

Each rule was observed with msmtp 1.8.23 (``--pretend -a NAME``).
"""

from __future__ import annotations

import pytest

from smtpq.sender.errors import ConfigError, InputError
from tests.sender.config.config_helpers import account, parse


def names(text: str, **kwargs) -> list[str]:
    return [a.name for a in parse(text, **kwargs).accounts]


def syntax_error(text: str, **kwargs) -> str:
    with pytest.raises(ConfigError) as info:
        parse(text, **kwargs)
    return info.value.message


class TestDefaults:
    def test_defaults_fill_accounts_defined_after_them(self) -> None:
        text = "defaults\nport 2525\ntls on\naccount a\nhost h\n"
        acc = account(text)
        assert (acc.port, acc.tls, acc.host) == (2525, True, "h")

    def test_values_from_defaults_are_not_explicit(self) -> None:
        assert account("defaults\nport 2525\naccount a\nhost h\n").explicit == {"host"}

    def test_a_second_defaults_block_only_affects_later_accounts(self) -> None:
        text = "defaults\nport 1\naccount a\ndefaults\nport 2\naccount b\n"
        assert account(text, "a").port == 1
        assert account(text, "b").port == 2

    def test_defaults_takes_no_argument_but_an_empty_quoted_one_is_empty(self) -> None:
        assert syntax_error("defaults x\n") == \
            "FILE: line 1: command defaults does not take an argument"
        assert names('defaults ""\naccount a\n') == ["a"]

    def test_accounts_keep_file_order_and_conffile(self) -> None:
        parsed = parse("account b\naccount a\naccount c\n", conffile="/x/rc")
        assert [(a.name, a.conffile) for a in parsed.accounts] == [
            ("b", "/x/rc"), ("a", "/x/rc"), ("c", "/x/rc")]

    def test_raw_state_leaves_port_and_trust_file_for_later(self) -> None:
        acc = account("account a\nhost h\n")
        assert (acc.port, acc.tls_trust_file) == (0, None)


class TestInheritance:
    def test_explicit_settings_of_the_parents_are_copied_later_parent_wins(self) -> None:
        text = ("account a\nport 1\nhost h\nfrom a@x\naccount b\nport 2\nfrom b@x\n"
                "account c : a, b\n")
        acc = account(text, "c")
        assert (acc.host, acc.port, acc.from_) == ("h", 2, "b@x")
        assert account(text.replace("a, b", "b , a"), "c").port == 1

    def test_settings_after_the_account_line_win(self) -> None:
        text = "account a\nport 1\naccount c : a\nport 3\n"
        assert account(text, "c").port == 3

    def test_values_a_parent_got_from_defaults_are_not_copied(self) -> None:
        text = "defaults\nport 2525\naccount a\nhost h\ndefaults\nport 3000\naccount b : a\n"
        assert account(text, "b").port == 3000

    def test_inheritance_is_transitive(self) -> None:
        text = "account a\nport 1\naccount b : a\naccount c : b\n"
        acc = account(text, "c")
        assert acc.port == 1
        assert "port" in acc.explicit

    def test_allow_from_override_is_not_inherited_msmtp_1_8_23_bug(self) -> None:
        text = "account a\nallow_from_override off\naccount b : a\n"
        assert account(text, "b").allow_from_override is True
        # ... but it does come from the defaults
        defaults = account("defaults\nallow_from_override off\naccount a\n")
        assert defaults.allow_from_override is False

    def test_every_other_setting_is_inherited(self) -> None:
        body = ("host h\nport 9\nsource_ip 1.1.1.1\nsocket /s\nlogfile /l\nsyslog\naliases /a\n"
                "dsn_notify never\ndsn_return full\ntls_min_dh_prime_bits 9\ntls_priorities P\n"
                "maildomain md\nauto_from\nntlmdomain nd\npasswordeval pe\nuser uu\npassword pp\n"
                "auth plain\ndomain dd\ntimeout 5\nproxy_host ph\nproxy_port 99\ntls_starttls off\n"
                "tls\ntls_trust_file /t\ntls_crl_file /c\ntls_key_file /k\ntls_cert_file /ce\n"
                "tls_certcheck off\ntls_host_override z\nset_from_header on\nset_date_header off\n"
                "set_msgid_header off\nremove_bcc_headers off\nundisclosed_recipients on\n"
                "logfile_time_format %Y\nfrom x@y\nprotocol lmtp\n"
                "tls_fingerprint " + ":".join(["0f"] * 20) + "\n")
        parent = account("account a\n" + body)
        child = account("account a\n" + body + "account b : a\n", "b")
        for field in parent.explicit:
            assert getattr(child, field) == getattr(parent, field), field

    def test_parent_names_are_trimmed_and_unquoted(self) -> None:
        assert account('account b\nport 7\naccount a : "b"\n').port == 7
        assert account('account b\nport 7\naccount "a" : b\n').port == 7

    @pytest.mark.parametrize("line, message", [
        ("account a : b", "account b not (yet) defined"),
        ("account a : a", "account a not (yet) defined"),
        ("account a : x, y", "account x not (yet) defined"),
        ("account a : b : c", "account b : c not (yet) defined"),
        ('account a : " x "', "account  x  not (yet) defined"),
        ("account a :", "missing account name"),
        ("account a : ,x", "missing account name"),
        ("account x,y : nope", "account nope not (yet) defined"),
    ])
    def test_parent_errors_come_first(self, line: str, message: str) -> None:
        assert syntax_error(line + "\n") == f"FILE: line 1: {message}"


class TestAccountNames:
    @pytest.mark.parametrize("line, message", [
        ("account", "missing account name"),
        ("account   ", "missing account name"),
        ('account ""', "missing account name"),
        ("account :", "missing account name"),
        ("account a,b", "an account name must not contain colons or commas"),
        ("account x,y : b", "an account name must not contain colons or commas"),
    ])
    def test_invalid_names(self, line: str, message: str) -> None:
        assert syntax_error("account b\n" + line + "\n") == f"FILE: line 2: {message}"

    def test_duplicates(self) -> None:
        for line in ("account b", 'account "b"', "account  b  :  b"):
            assert syntax_error(f"account b\nhost h\n{line}\n") == \
                "FILE: line 3: account b was already defined"

    def test_names_keep_inner_blanks_and_are_case_sensitive(self) -> None:
        assert names('account "a b"\naccount a\tb\naccount " b"\naccount A\naccount "a\n') == [
            "a b", "a\tb", " b", "A", '"a']


class TestImplicitDefaultAccount:
    def test_commands_before_any_account_create_default(self) -> None:
        assert names("host h\naccount a\n") == ["default", "a"]
        assert account("host h\n", "default").explicit == {"host"}

    def test_a_later_account_default_fails(self) -> None:
        assert syntax_error("host h\naccount default\n") == \
            "FILE: line 2: account default was already defined"
        assert syntax_error("host h\naccount x\naccount default : x\n") == \
            "FILE: line 3: account default was already defined"

    def test_not_created_after_defaults_or_account(self) -> None:
        assert names("defaults\nhost h\naccount default\n") == ["default"]
        assert names("# c\n\naccount a\nhost h\n") == ["a"]

    def test_not_created_by_an_empty_file(self) -> None:
        assert names("") == []


class TestEval:
    def test_the_line_is_replaced_by_the_first_output_line(self) -> None:
        acc = account("account a\neval get host\n", evals={"get host": "host evalhost"})
        assert acc.host == "evalhost"

    def test_output_is_lexed_like_a_file_line(self) -> None:
        acc = account("account a\neval c\n", evals={"c": '  from   "  q  "  '})
        assert acc.from_ == "  q  "

    def test_an_empty_or_comment_output_line_is_ignored(self) -> None:
        assert account("account a\neval c\n", evals={"c": ""}).explicit == set()
        assert account("account a\neval c\n", evals={"c": "# x"}).explicit == set()

    def test_no_output_is_an_input_error_without_line_number(self) -> None:
        with pytest.raises(InputError) as info:
            parse("account a\neval   \"true\"  \n", evals={"true": None})
        assert info.value.message == "FILE: cannot read output of 'true'"
        assert info.value.exit_code == 74

    def test_eval_needs_an_argument(self) -> None:
        assert syntax_error("eval\n") == "FILE: line 1: command eval needs an argument"

    def test_output_is_not_evaluated_again(self) -> None:
        assert syntax_error("account a\neval c\n", evals={"c": "eval echo x"}) == \
            "FILE: line 2: unknown command eval"

    def test_errors_in_the_output_carry_the_eval_line_number(self) -> None:
        assert syntax_error("account a\n\neval c\n", evals={"c": "foo"}) == \
            "FILE: line 3: unknown command foo"

    def test_eval_is_replaced_before_the_implicit_default_is_considered(self) -> None:
        assert names("eval c\nhost x\n", evals={"c": "account a"}) == ["a"]
        assert syntax_error("eval c\naccount default\n", evals={"c": "host z"}) == \
            "FILE: line 2: account default was already defined"

    def test_a_long_output_line_is_fine(self) -> None:
        acc = account("account a\neval c\n", evals={"c": "from " + "a" * 5000})
        assert acc.from_ == "a" * 5000

    def test_real_shell_commands_run_with_the_given_environment(self) -> None:
        parsed = parse_real("account a\neval echo host $SMTPQ_TEST_HOST\n",
                            {"SMTPQ_TEST_HOST": "from-env", "PATH": "/usr/bin:/bin"})
        assert parsed.accounts[0].host == "from-env"


def parse_real(text: str, env: dict[str, str]):
    from smtpq.sender.config.parser import parse_config
    return parse_config(text.encode(), "FILE", env=env)


class TestPasswordLines:
    def test_a_literal_password_line_is_recorded(self) -> None:
        assert parse("account a\npassword x\n").has_password_line
        assert parse("defaults\npassword\naccount a\n").has_password_line

    def test_one_from_eval_is_not(self) -> None:
        assert not parse("account a\neval c\n", evals={"c": "password x"}).has_password_line
        assert not parse("account a\npasswordeval echo x\n").has_password_line


def test_the_first_error_wins() -> None:
    assert syntax_error("account a\nbogus\nport x\n") == "FILE: line 2: unknown command bogus"


def test_too_long_line_is_a_config_error_without_line_number() -> None:
    assert syntax_error("account a\nhost " + "h" * 600 + "\n") == \
        "FILE: line longer than 500 characters"
