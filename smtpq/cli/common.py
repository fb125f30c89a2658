"""What the queue commands share: the queue named by the settings, and the terminal.

Queues are opened from ``load_settings()`` (``$SMTPQ_DATABASE``, config.toml)
and closed when the click context closes.  Whether stdout/stdin is a terminal
is asked here only, so colour, width and prompts follow one rule.
"""

from __future__ import annotations

import os
import shutil
import sys

import click

from smtpq.queue.control.manage import Queue, database_named
from smtpq.queue.settings import load_settings


def open_queue(*, create: bool = False) -> Queue:
    """The configured queue, closed with the current command (created only if *create*;
    one the user named must exist, and every queue must be readable)."""
    url = load_settings().database
    queue = Queue(url, create=create, must_exist=database_named(url))
    click.get_current_context().call_on_close(queue.close)
    return queue


def database_url() -> str:
    """The configured queue database URL."""
    return load_settings().database


def stdin_is_tty() -> bool:
    """Whether a person can answer a question on stdin."""
    return sys.stdin.isatty()


def use_colour() -> bool:
    """Colour only on a terminal, and never when ``$NO_COLOR`` is set (no-color.org)."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def line_width() -> int | None:
    """The width to fit lines to: the terminal's, or ``$COLUMNS``; None (no limit) in a pipe."""
    if sys.stdout.isatty() or os.environ.get("COLUMNS"):
        return shutil.get_terminal_size().columns
    return None
