"""The password prompt on the controlling terminal, as glibc ``getpass(3)`` for msmtp.

stdin carries the mail, so the prompt uses ``/dev/tty`` only; when that cannot be
opened (no controlling terminal: cron, daemons, ``setsid``) there is no prompt.
Unlike :func:`getpass.getpass`, this never falls back to stdin/stderr.
"""

from __future__ import annotations

import os
import termios
from typing import BinaryIO

TTY = "/dev/tty"


def prompt_password(user: str, host: str, tty_path: str | None = None) -> str | None:
    """Ask ``password for USER at HOST: `` with echo off; None without a terminal."""
    try:
        fd = os.open(tty_path or TTY, os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return None
    with open(fd, "r+b", buffering=0) as tty:
        return _ask(tty, f"password for {user} at {host}: ")


def _ask(tty: BinaryIO, prompt: str) -> str:
    fd = tty.fileno()
    try:
        saved = termios.tcgetattr(fd)
    except termios.error:
        saved = None
    try:
        if saved is not None:
            quiet = list(saved)
            quiet[3] &= ~termios.ECHO  # lflag
            termios.tcsetattr(fd, termios.TCSAFLUSH, quiet)
        tty.write(prompt.encode("utf-8", "replace"))
        line = _read_line(tty)
    finally:
        if saved is not None:
            termios.tcsetattr(fd, termios.TCSAFLUSH, saved)
        tty.write(b"\n")
    return line.decode("utf-8", "surrogateescape")


def _read_line(tty: BinaryIO) -> bytes:
    """One line without its LF (EOF gives what was typed, possibly nothing)."""
    data = bytearray()
    while True:
        char = tty.read(1)
        if not char or char == b"\n":
            return bytes(data)
        data += char
