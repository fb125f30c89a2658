"""Shell completion: ``smtpq completion bash|zsh|fish`` prints the script, and message ids complete.

click does the completing itself when the shell calls ``smtpq`` with
``_SMTPQ_COMPLETE`` set; the script printed here is what makes the shell do
that.  Completing an ID reads the queue, so it must never fail loudly and
never create a database: any error completes nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from itertools import islice

import click
from click.shell_completion import get_completion_class

from smtpq.queue.states import MessageStatus
from smtpq.sender.errors import SmtpqError

SHELLS = ("bash", "zsh", "fish")
#: Environment variable click reads for completion requests (from the program name).
COMPLETE_VAR = "_SMTPQ_COMPLETE"
#: At most this many ids are offered.
MAX_IDS = 500


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the completion script for SHELL (bash, zsh or fish).

    \b
    Example:
        eval "$(smtpq completion bash)"        # in ~/.bashrc
        eval "$(smtpq completion zsh)"         # in ~/.zshrc
        smtpq completion fish > ~/.config/fish/completions/smtpq.fish
    """
    root = click.get_current_context().find_root().command
    click.echo(source(root, shell))


def source(root: click.Command, shell: str) -> str:
    """The completion script of *shell* for the command tree *root*."""
    script_class = get_completion_class(shell)
    assert script_class is not None, f"click lacks {shell} completion"
    return script_class(root, {}, "smtpq", COMPLETE_VAR).source()


def complete_ids(incomplete: str, statuses: Collection[MessageStatus]) -> list[str]:
    """Ids of messages in *statuses* starting with *incomplete*; [] on any problem."""
    from smtpq.queue.control.manage import Queue
    from smtpq.queue.settings import load_settings

    try:
        with Queue(load_settings().database) as queue:
            ids = (str(entry.id) for entry in queue.entries(statuses))
            return list(islice((i for i in ids if i.startswith(incomplete)), MAX_IDS))
    except (SmtpqError, OSError):
        return []


def complete_accounts(incomplete: str) -> list[str]:
    """Account names of the msmtp configuration starting with *incomplete*; [] on any problem."""
    import os

    from smtpq.sender.config.files import load_config

    try:
        config = load_config(None, env=os.environ)
    except (SmtpqError, OSError):
        return []
    return [account.name for account in config.accounts
            if account.name and account.name.startswith(incomplete)]
