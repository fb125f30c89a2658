"""Which files are read, in which order, and what msmtp says about them (--pretend notes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from smtpq.sender.config.files import load_config
from smtpq.sender.config.paths import get_filename, user_config_path
from smtpq.sender.errors import ConfigError, InputError


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "home").mkdir()
    (tmp_path / "etc").mkdir()
    return tmp_path / "home"


def env_for(home: Path, **extra: str) -> dict[str, str]:
    env = {"HOME": str(home), "SMTPQ_SYSTEM_CONFIG": str(home.parent / "etc" / "msmtprc")}
    env.update(extra)
    return env


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


class TestUserFileDiscovery:
    def test_msmtprc_first(self, home: Path) -> None:
        write(home / ".msmtprc", "host rc\n")
        write(home / ".config/msmtp/config", "host xdg\n")
        assert user_config_path(env_for(home)) == f"{home}/.msmtprc"

    def test_then_xdg_config_home_default(self, home: Path) -> None:
        write(home / ".config/msmtp/config", "host xdg\n")
        assert user_config_path(env_for(home)) == f"{home}/.config/msmtp/config"

    def test_xdg_config_home_set(self, home: Path) -> None:
        write(home / "xdg/msmtp/config", "host xdg\n")
        assert user_config_path(env_for(home, XDG_CONFIG_HOME=f"{home}/xdg/")) == \
            f"{home}/xdg/msmtp/config"

    def test_empty_xdg_config_home_means_the_root_directory(self, home: Path) -> None:
        write(home / ".config/msmtp/config", "host xdg\n")
        assert user_config_path(env_for(home, XDG_CONFIG_HOME="")) == f"{home}/.msmtprc"

    def test_neither_names_msmtprc(self, home: Path) -> None:
        assert user_config_path(env_for(home)) == f"{home}/.msmtprc"

    def test_home_with_trailing_slash_is_joined_like_msmtp(self, home: Path) -> None:
        write(home / ".config/msmtp/config", "host xdg\n")
        assert user_config_path(env_for(home, HOME=f"{home}/")) == f"{home}//.config/msmtp/config"

    def test_get_filename(self) -> None:
        assert get_filename("", ".msmtprc") == "/.msmtprc"
        assert get_filename("/h/", "x") == "/h/x"
        assert get_filename("/h", "x") == "/h/x"


class TestNotes:
    def test_no_files(self, home: Path) -> None:
        config = load_config(None, env=env_for(home))
        assert config.accounts == []
        assert config.notes == [
            f"ignoring system configuration file {home.parent}/etc/msmtprc: "
            "No such file or directory",
            f"ignoring user configuration file {home}/.msmtprc: No such file or directory",
        ]
        assert config.not_found("default") == \
            "account default not found: no configuration file available"

    def test_both_files(self, home: Path) -> None:
        system = write(home.parent / "etc/msmtprc", "account s\nhost s\n")
        user = write(home / ".msmtprc", "account u\nhost u\n")
        config = load_config(None, env=env_for(home))
        assert config.notes == [f"loaded system configuration file {system}",
                                f"loaded user configuration file {user}"]
        assert (config.system_file, config.user_file) == (str(system), str(user))
        assert config.not_found("x") == f"account x not found in {system} and {user}"

    def test_notes_survive_an_error(self, home: Path) -> None:
        write(home / ".msmtprc", "bogus\n")
        notes: list[str] = []
        with pytest.raises(ConfigError, match="line 1: unknown command bogus"):
            load_config(None, env=env_for(home), notes=notes)
        assert notes == [f"ignoring system configuration file {home.parent}/etc/msmtprc: "
                         "No such file or directory"]


class TestErrors:
    def test_missing_dash_c_file_is_an_input_error(self, home: Path) -> None:
        with pytest.raises(InputError) as info:
            load_config(f"{home}/nope", env=env_for(home))
        assert info.value.message == f"{home}/nope: No such file or directory"
        assert info.value.exit_code == 74

    def test_dash_c_is_not_tilde_expanded(self, home: Path) -> None:
        with pytest.raises(InputError, match="^~/x: No such file or directory$"):
            load_config("~/x", env=env_for(home))

    def test_a_directory_is_an_input_error_even_when_discovered(self, home: Path) -> None:
        (home / ".msmtprc").mkdir()
        with pytest.raises(InputError, match=f"^{home}/.msmtprc: input error$"):
            load_config(None, env=env_for(home))
        with pytest.raises(InputError, match=f"^{home}: input error$"):
            load_config(str(home), env=env_for(home))

    def test_system_file_errors_are_fatal(self, home: Path) -> None:
        system = write(home.parent / "etc/msmtprc", "bogus\n")
        with pytest.raises(ConfigError, match=f"^{system}: line 1: unknown command bogus$"):
            load_config(None, env=env_for(home))


class TestMerging:
    def test_user_accounts_replace_system_ones_and_come_after_system_only_ones(
        self, home: Path,
    ) -> None:
        write(home.parent / "etc/msmtprc",
              "account sys\nhost syshost\naccount shared\nhost sysshared\nport 99\n"
              "account default\nhost sysdefault\n")
        write(home / ".msmtprc", "account shared\nhost usershared\naccount u\nhost uhost\n")
        config = load_config(None, env=env_for(home))
        assert [(a.name, a.host) for a in config.accounts] == [
            ("sys", "syshost"), ("default", "sysdefault"), ("shared", "usershared"),
            ("u", "uhost")]
        assert config.find("shared").port == 0  # no partial merge

    def test_defaults_and_inheritance_do_not_cross_files(self, home: Path) -> None:
        write(home.parent / "etc/msmtprc", "defaults\nport 77\naccount sys\nhost h\n")
        write(home / ".msmtprc", "account u : sys\n")
        with pytest.raises(ConfigError, match=r"line 1: account sys not \(yet\) defined"):
            load_config(None, env=env_for(home))
        write(home / ".msmtprc", "account u\nhost h\n")
        assert load_config(None, env=env_for(home)).find("u").port == 0

    def test_the_system_file_is_never_permission_checked(self, home: Path) -> None:
        system = write(home.parent / "etc/msmtprc", "account s\nhost h\npassword x\n")
        system.chmod(0o644)
        assert load_config(None, env=env_for(home), euid=12345).find("s").password == "x"


class TestPermissionCheckIntegration:
    def test_user_file_with_password_must_be_private(self, home: Path) -> None:
        user = write(home / ".msmtprc", "account a\nhost h\npassword x\n")
        user.chmod(0o644)
        euid = user.stat().st_uid
        with pytest.raises(ConfigError) as info:
            load_config(None, env=env_for(home), euid=euid if euid else 1000)
        assert info.value.exit_code == 78
        assert "contains secrets and therefore must" in info.value.message

    def test_skipped_for_root_and_without_password(self, home: Path) -> None:
        user = write(home / ".msmtprc", "account a\nhost h\npassword x\n")
        user.chmod(0o644)
        load_config(None, env=env_for(home), euid=0)
        write(home / ".msmtprc", "account a\nhost h\npasswordeval echo x\n").chmod(0o644)
        load_config(None, env=env_for(home), euid=4242)
