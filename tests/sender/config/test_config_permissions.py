"""The secrets check of the user file (reference §5.8), with explicit euid and stat values.

The last test runs both msmtp and smtpq as uid 65534 on the same files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from smtpq.sender.config.files import (
    NOT_OWNED,
    TOO_OPEN,
    check_secure,
    insecurity,
)
from smtpq.sender.errors import ConfigError
from tests.support.other_user import SETPRIV, nobody
from tests.support.programs import msmtp_binary, needs


class TestInsecurity:
    @pytest.mark.parametrize("mode", [0o600, 0o400, 0o200, 0o4600, 0o1600, 0o2600, 0o100600 ])
    def test_private_modes_pass(self, mode: int) -> None:
        assert insecurity(1000, mode, 1000) is None

    @pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o700, 0o610, 0o601, 0o666])
    def test_group_other_or_user_execute_bits_fail(self, mode: int) -> None:
        assert insecurity(1000, mode, 1000) == TOO_OPEN

    def test_the_owner_is_checked_first(self) -> None:
        assert insecurity(0, 0o666, 1000) == NOT_OWNED

    def test_root_is_never_checked(self) -> None:
        assert insecurity(1000, 0o666, 0) is None

    def test_messages(self) -> None:
        assert NOT_OWNED == "contains secrets and therefore must be owned by you"
        assert TOO_OPEN == ("contains secrets and therefore must have no more than "
                            "user read/write permissions")


class TestCheckSecure:
    def test_reports_with_the_file_name(self, tmp_path: Path) -> None:
        path = tmp_path / "rc"
        path.write_text("password x\n")
        path.chmod(0o644)
        owner = path.stat().st_uid
        other = owner + 1 if owner else 4242
        with pytest.raises(ConfigError) as info:
            check_secure(str(path), euid=other)
        assert info.value.message == f"{path}: {NOT_OWNED}"
        assert info.value.exit_code == 78

    def test_mode_of_an_owned_file(self, tmp_path: Path) -> None:
        needs(os.geteuid() == 0, "needs root to give the file away")
        path = tmp_path / "rc"
        path.write_text("password x\n")
        os.chown(path, 4242, 4242)
        path.chmod(0o640)
        with pytest.raises(ConfigError, match=f"^{path}: {TOO_OPEN}$"):
            check_secure(str(path), euid=4242)
        path.chmod(0o600)
        check_secure(str(path), euid=4242)


SMTPQ_LOAD = """
import os, sys
from smtpq.sender.config.files import load_config
from smtpq.sender.errors import SmtpqError
try:
    config = load_config(sys.argv[1], env=os.environ)
except SmtpqError as error:
    print(error.message, file=sys.stderr)
    sys.exit(int(error.exit_code))
print("\\n".join(config.notes))
"""


@pytest.fixture
def shared_dir():
    """A directory uid 65534 can enter (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="smtpq-perm-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


@pytest.mark.msmtp
@pytest.mark.parametrize("mode, owner, text, exit_code", [
    (0o600, 65534, "host h\npassword x\n", 0),
    (0o644, 65534, "host h\npassword x\n", 78),
    (0o700, 65534, "host h\npassword x\n", 78),
    (0o400, 65534, "host h\npassword x\n", 0),
    (0o644, 0, "host h\npassword x\n", 78),
    (0o600, 0, "host h\npassword x\n", 74),
    (0o644, 65534, "host h\npassword\n", 78),
    (0o644, 65534, "host h\neval echo password x\n", 0),
    (0o644, 65534, "host h\npasswordeval echo x\n", 0),
    (0o644, 65534, "host h\npassword x\nbogus\n", 78),
    (0o644, 65534, "defaults\npassword x\naccount a\nhost h\n", 78),
])
def test_same_verdict_as_msmtp_as_uid_65534(
    shared_dir: Path, mode: int, owner: int, text: str, exit_code: int,
) -> None:
    needs(os.geteuid() == 0 and shutil.which("setpriv") is not None,
          "needs root and setpriv to run as uid 65534")
    msmtp = msmtp_binary()
    path = shared_dir / "rc"
    path.write_text(text)
    os.chown(path, owner, owner)
    path.chmod(mode)
    env = {"HOME": str(shared_dir), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    theirs = subprocess.run([*SETPRIV, msmtp, "-C", str(path), "--pretend"], env=env,
                            capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
    ours = subprocess.run(nobody().argv("python", "-c", SMTPQ_LOAD, str(path)),
                          env=nobody().env(env),
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False,
                          cwd="/")
    assert theirs.returncode == exit_code, theirs.stderr
    assert ours.returncode == exit_code, ours.stderr
    if exit_code == 0:
        assert ours.stderr == ""
        assert ours.stdout.splitlines() == theirs.stdout.splitlines()[:2]
    else:
        assert ours.stderr.splitlines() == [
            line.removeprefix("msmtp: ") for line in theirs.stderr.splitlines()]
