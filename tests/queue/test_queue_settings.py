"""Queue settings: where they are read from, their defaults, and how bad values are reported."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from smtpq.queue.durations import format_duration, parse_duration
from smtpq.queue.settings import (
    AfterEnqueue,
    Bounce,
    QueueSettings,
    config_path,
    load_settings,
)
from smtpq.sender.errors import ConfigError
from smtpq.sender.sysexits import ExitCode


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def env_for(home: Path, **extra: str) -> dict[str, str]:
    return {"HOME": str(home), **extra}


def write_config(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


class TestDurations:
    @pytest.mark.parametrize(("text", "expected"), [
        ("30s", timedelta(seconds=30)),
        ("5m", timedelta(minutes=5)),
        ("1h", timedelta(hours=1)),
        ("2d", timedelta(days=2)),
        ("1w", timedelta(weeks=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        (" 1d 12h ", timedelta(days=1, hours=12)),
        ("0", timedelta(0)),
        ("0s", timedelta(0)),
    ])
    def test_accepted_forms(self, text: str, expected: timedelta):
        assert parse_duration(text) == expected

    @pytest.mark.parametrize("text", ["", "30", "5 minutes", "1y", "-1h", "1.5h", "h", "1h x"])
    def test_refused_forms(self, text: str):
        with pytest.raises(ValueError):
            parse_duration(text)

    def test_absurdly_long_durations_are_refused_not_crashing(self):
        with pytest.raises(ValueError):
            parse_duration("99999999999999w")

    @pytest.mark.parametrize("text", ["1d2h", "5m", "1w3d4h5m6s", "0"])
    def test_format_round_trips(self, text: str):
        assert format_duration(parse_duration(text)) == text


class TestLocations:
    def test_without_any_file_every_default_applies(self, home: Path):
        settings = load_settings(env_for(home))
        assert settings == QueueSettings(
            database=f"sqlite:///{home}/.local/share/smtpq/queue.sqlite3")
        assert (settings.after_enqueue, settings.max_age, settings.retry_first) == (
            AfterEnqueue.FLUSH, timedelta(days=5), timedelta(minutes=1))
        assert (settings.retry_max, settings.keep_sent) == (timedelta(hours=1), timedelta(days=7))
        assert settings.stage_timeout == timedelta(minutes=5)  # RFC 5321 §4.5.3.2
        assert settings.source is None

    def test_the_default_database_follows_xdg_data_home(self, home: Path, tmp_path: Path):
        settings = load_settings(env_for(home, XDG_DATA_HOME=str(tmp_path / "data")))
        assert settings.database == f"sqlite:///{tmp_path}/data/smtpq/queue.sqlite3"

    def test_a_relative_xdg_variable_is_ignored(self, home: Path):
        settings = load_settings(env_for(home, XDG_DATA_HOME="relative/data"))
        assert settings.database == f"sqlite:///{home}/.local/share/smtpq/queue.sqlite3"

    def test_the_file_is_found_in_xdg_config_home(self, home: Path, tmp_path: Path):
        path = write_config(tmp_path / "cfg" / "smtpq" / "config.toml", '[queue]\nmax_age = "2d"\n')
        settings = load_settings(env_for(home, XDG_CONFIG_HOME=str(tmp_path / "cfg")))
        assert (settings.max_age, settings.source) == (timedelta(days=2), str(path))

    def test_the_file_defaults_to_dot_config(self, home: Path):
        write_config(home / ".config" / "smtpq" / "config.toml", '[queue]\nafter_enqueue = "none"\n')
        assert load_settings(env_for(home)).after_enqueue == AfterEnqueue.NONE

    def test_smtpq_config_names_the_file(self, home: Path, tmp_path: Path):
        path = write_config(tmp_path / "elsewhere.toml", '[queue]\nkeep_sent = "1d"\n')
        assert config_path(env_for(home, SMTPQ_CONFIG=str(path))) == (str(path), True)
        assert load_settings(env_for(home, SMTPQ_CONFIG=str(path))).keep_sent == timedelta(days=1)

    def test_smtpq_database_overrides_the_file(self, home: Path, tmp_path: Path):
        path = write_config(tmp_path / "c.toml", '[queue]\ndatabase = "sqlite:////a/b.db"\n')
        settings = load_settings(env_for(home, SMTPQ_CONFIG=str(path),
                                         SMTPQ_DATABASE="postgresql://q@db/smtpq"))
        assert settings.database == "postgresql://q@db/smtpq"


class TestValues:
    def test_every_key_is_read(self, home: Path, tmp_path: Path):
        path = write_config(tmp_path / "c.toml", """
            [queue]
            database = "sqlite:////srv/q.sqlite3"
            after_enqueue = "none"
            max_age = "3d"
            retry_first = "30s"
            retry_max = "2h"
            keep_sent = "1w"
            claim_lease = "10m"
            parallel_connections = 4
            stage_timeout = "2m"
            """.replace("\n            ", "\n"))
        settings = load_settings(env_for(home, SMTPQ_CONFIG=str(path)))
        assert settings == QueueSettings(
            database="sqlite:////srv/q.sqlite3", after_enqueue=AfterEnqueue.NONE,
            max_age=timedelta(days=3), retry_first=timedelta(seconds=30),
            retry_max=timedelta(hours=2), keep_sent=timedelta(weeks=1),
            claim_lease=timedelta(minutes=10), parallel_connections=4,
            stage_timeout=timedelta(minutes=2))

    def test_notices_go_to_the_sender_and_nothing_else_happens_by_default(self, home: Path):
        settings = load_settings(env_for(home))
        assert (settings.bounce, settings.delay_warning, settings.notify_command) == (
            Bounce.SENDER, None, "")

    def test_the_notice_keys_are_read(self, home: Path, tmp_path: Path):
        path = write_config(tmp_path / "c.toml", '[queue]\nbounce = "none"\n'
                            'delay_warning = "4h"\nnotify_command = "notify-send smtpq"\n')
        settings = load_settings(env_for(home, SMTPQ_CONFIG=str(path)))
        assert (settings.bounce, settings.delay_warning, settings.notify_command) == (
            Bounce.NONE, timedelta(hours=4), "notify-send smtpq")

    def test_an_empty_delay_warning_is_off(self, home: Path, tmp_path: Path):
        path = write_config(tmp_path / "c.toml", '[queue]\ndelay_warning = ""\n')
        assert load_settings(env_for(home, SMTPQ_CONFIG=str(path))).delay_warning is None

    def test_other_tables_are_left_to_their_owners(self, home: Path, tmp_path: Path):
        path = write_config(tmp_path / "c.toml", '[something_else]\nx = 1\n')
        assert load_settings(env_for(home, SMTPQ_CONFIG=str(path))).source == str(path)

    @pytest.mark.parametrize(("body", "key", "reason"), [
        ('max_age = "5 days"', "max_age", "invalid duration"),
        ("max_age = 5", "max_age", "must be a string"),
        ('after_enqueue = "later"', "after_enqueue", 'must be "flush" or "none"'),
        ("parallel_connections = 0", "parallel_connections", "at least 1"),
        ("parallel_connections = true", "parallel_connections", "at least 1"),
        ('database = "/var/q.db"', "database", "database URL"),
        ('max-age = "1d"', "max-age", "unknown key"),
        ('retry_first = "2h"\nretry_max = "1h"', "retry_max", "not be shorter than retry_first"),
        ('retry_first = "0"', "retry_first", "longer than 0"),
        ('max_age = "0"', "max_age", "longer than 0"),
        ('stage_timeout = "0"', "stage_timeout", "longer than 0"),
        ('bounce = "postmaster"', "bounce", 'must be "sender" or "none"'),
        ('delay_warning = "4 hours"', "delay_warning", "invalid duration"),
        ('delay_warning = "0"', "delay_warning", "longer than 0"),
        ("notify_command = 1", "notify_command", "must be a string"),
    ])
    def test_bad_values_name_file_and_key(self, home: Path, tmp_path: Path, body: str, key: str,
                                          reason: str):
        path = write_config(tmp_path / "c.toml", f"[queue]\n{body}\n")
        with pytest.raises(ConfigError) as caught:
            load_settings(env_for(home, SMTPQ_CONFIG=str(path)))
        assert caught.value.exit_code == ExitCode.EX_CONFIG
        assert caught.value.message.startswith(f"{path}: [queue] {key}: ")
        assert reason in caught.value.message

    def test_a_toml_syntax_error_names_the_file_and_line(self, home: Path, tmp_path: Path):
        path = write_config(tmp_path / "c.toml", "[queue]\nmax_age = \n")
        with pytest.raises(ConfigError, match=rf"^{path}: .*line 2"):
            load_settings(env_for(home, SMTPQ_CONFIG=str(path)))

    def test_queue_must_be_a_table(self, home: Path, tmp_path: Path):
        path = write_config(tmp_path / "c.toml", 'queue = "yes"\n')
        with pytest.raises(ConfigError, match="must be a table"):
            load_settings(env_for(home, SMTPQ_CONFIG=str(path)))

    def test_a_file_named_explicitly_must_exist(self, home: Path, tmp_path: Path):
        with pytest.raises(ConfigError) as caught:
            load_settings(env_for(home, SMTPQ_CONFIG=str(tmp_path / "missing.toml")))
        assert caught.value.exit_code == ExitCode.EX_CONFIG
