"""The shell completion scripts shipped in ``smtpq/data/completion`` (``smtpq install-units``).

Generated from the command tree; regenerate with
``python -m smtpq.cli.completion smtpq/data/completion`` (a test checks they are current).
"""

from __future__ import annotations

import os

from smtpq.cli.commands.completion import source
from smtpq.cli.main import cli

#: The completion scripts shipped in ``smtpq/data/completion`` (``smtpq install-units``).
FILES = {"bash": "smtpq.bash", "zsh": "_smtpq", "fish": "smtpq.fish"}


def shipped() -> dict[str, str]:
    """Every shipped completion script's text, by file name."""
    return {name: source(cli, shell) + "\n" for shell, name in FILES.items()}


def write_shipped(directory: str) -> None:
    """``python -m smtpq.cli.completion smtpq/data/completion``: regenerate the files."""
    os.makedirs(directory, exist_ok=True)
    for name, text in shipped().items():
        with open(os.path.join(directory, name), "w", encoding="utf-8") as file:
            file.write(text)

if __name__ == "__main__":
    import sys

    write_shipped(sys.argv[1] if len(sys.argv) > 1 else "smtpq/data/completion")
