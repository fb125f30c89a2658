"""Shared helpers for the configuration tests: parsing text, and a fake ``eval``."""

from __future__ import annotations

from collections.abc import Mapping

from smtpq.sender.config.parser import ParsedFile, parse_config
from smtpq.sender.config.settings import Account

HOME = "/home/tester"
ENV: dict[str, str] = {"HOME": HOME, "USER": "tester", "HOSTNAME": "testhost"}


def fake_eval(outputs: Mapping[str, str | None]):
    """An evaluator answering from *outputs* (None: the command printed nothing)."""
    def run(command: str) -> str | None:
        return outputs[command]
    return run


def parse(text: str | bytes, *, conffile: str = "FILE", env: Mapping[str, str] = ENV,
          evals: Mapping[str, str | None] | None = None) -> ParsedFile:
    data = text.encode() if isinstance(text, str) else text
    return parse_config(data, conffile, env=env, evaluator=fake_eval(evals or {}))


def account(text: str, name: str = "a", **kwargs) -> Account:
    """The account *name* of *text*."""
    parsed = parse(text, **kwargs)
    return next(a for a in parsed.accounts if a.name == name)
