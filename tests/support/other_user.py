"""Running smtpq as a second real user (uid 65534, "nobody"), wherever the clone lives.

Tests of permissions and ownership run the real programs as another user with
``setpriv``.  That user must be able to reach the interpreter, its packages and
smtpq itself: a clone in a directory only its owner can enter (root's 0700
home, a private temporary directory) is out of its reach, and the programs
would fail with "No module named 'smtpq'" for a reason that has nothing to do
with the test.  ``nobody()`` then builds, once per session, a shadow of the
virtual environment and of the ``smtpq`` package in a directory everyone can
enter (hard links where the file system allows, copies otherwise) and runs the
programs from there; when the clone is reachable it runs them as they are.

* ``nobody().argv(program, *args)`` — the command line that runs ``python``,
  ``smtpq``, ``smtpq-sendmail`` (or any script of the environment) as uid 65534;
* ``nobody().env(env)`` — *env* plus what the shadow needs (``PYTHONPATH``);
* ``need_setpriv()`` — skip unless root with ``setpriv``.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

import smtpq
from tests.support.programs import needs

UID = GID = 65534
SETPRIV = ["setpriv", f"--reuid={UID}", f"--regid={GID}", "--clear-groups"]


def need_setpriv() -> None:
    """Skip a test that must run a program as another user when it cannot."""
    needs(os.geteuid() == 0 and shutil.which("setpriv") is not None,
          "needs root and setpriv to run as another user")


class OtherUser:
    """How to run this environment's programs as uid 65534 (see the module doc)."""

    def __init__(self, prefix: Path, pythonpath: str | None) -> None:
        self.prefix, self.pythonpath = prefix, pythonpath

    @property
    def python(self) -> str:
        return str(self.prefix / "bin" / "python")

    def argv(self, program: str, *args: str, uid: int = UID) -> list[str]:
        """``setpriv … python SCRIPT ARGS`` as *uid* (``python ARGS`` for *program*
        ``python``); *program* is a script of the environment, by name or path."""
        become = [*SETPRIV[:1], f"--reuid={uid}", f"--regid={uid}", *SETPRIV[3:]]
        if program == "python":
            return [*become, self.python, *args]
        name = os.path.basename(program)
        return [*become, self.python, str(self.prefix / "bin" / name), *args]

    def env(self, env: Mapping[str, str]) -> dict[str, str]:
        """*env* with the shadow's package path first, when there is a shadow."""
        result = dict(env)
        if self.pythonpath:
            result["PYTHONPATH"] = self.pythonpath
        return result


@functools.cache
def nobody() -> OtherUser:
    """The way to run programs as uid 65534 in this session (a shadow only if needed)."""
    prefix = Path(sys.prefix)
    package = Path(smtpq.__file__).resolve().parent
    if _reachable(prefix / "bin" / "python", package / "__init__.py"):
        return OtherUser(prefix, None)
    top = Path(tempfile.mkdtemp(prefix="smtpq-nobody-"))
    top.chmod(0o755)
    atexit.register(shutil.rmtree, top, ignore_errors=True)
    shadow = top / "venv"
    shutil.copytree(prefix, shadow, symlinks=True, copy_function=_link_or_copy)
    shutil.copytree(package, top / "src" / "smtpq", copy_function=_link_or_copy,
                    ignore=shutil.ignore_patterns("__pycache__"))
    for path in [top, *top.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    return OtherUser(shadow, str(top / "src"))


def _reachable(*paths: Path) -> bool:
    """Whether uid 65534 can read every one of *paths*."""
    return all(subprocess.run([*SETPRIV, "test", "-r", str(path)], capture_output=True,
                              check=False).returncode == 0 for path in paths)


def _link_or_copy(source: str, target: str) -> str:
    """A hard link (the venv's files are world-readable already), else a readable copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
        os.chmod(target, os.stat(target).st_mode | 0o444)
    return target
