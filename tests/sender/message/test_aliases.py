"""The aliases file: msmtp's format, errors and lookups, without its 1.8.23 bugs (§5.9)."""

from __future__ import annotations

from pathlib import Path

import pytest

from smtpq.sender.errors import ConfigError
from smtpq.sender.message.aliases import MAX_DEPTH, expand_aliases, parse_aliases
from smtpq.sender.sysexits import ExitCode

MAN_PAGE_EXAMPLE = """\
# Example aliases file

# Send root to Joe and Jane
root: joe_smith@example.com, jane_chang@example.com

# Send cron to Mark
cron: mark_jones@example.com

# Send everything else to admin
default: admin@domain.example
"""

REFERENCE_EXAMPLE = """\
root: joe@example.com, jane@example.com
cron: mark@example.com
default: admin@example.com
"""


def aliases_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "aliases"
    path.write_text(text)
    return str(path)


def config_error(recipients: list[str], path: str) -> str:
    with pytest.raises(ConfigError) as info:
        expand_aliases(recipients, path)
    assert info.value.exit_code == ExitCode.EX_CONFIG
    return info.value.message


def test_man_page_example(tmp_path: Path) -> None:
    path = aliases_file(tmp_path, MAN_PAGE_EXAMPLE)
    assert expand_aliases(["root", "cron", "nobody"], path) == [
        "joe_smith@example.com", "jane_chang@example.com",
        "mark_jones@example.com", "admin@domain.example",
    ]


def test_reference_example_without_msmtps_bugs(tmp_path: Path) -> None:
    # msmtp 1.8.23 sends: jane, joe, cron, admin, someone@example.net, admin, postmaster
    path = aliases_file(tmp_path, REFERENCE_EXAMPLE)
    recipients = ["root", "cron", "unknownlocal", "someone@example.net", "ROOT", "postmaster"]
    assert expand_aliases(recipients, path) == [
        "joe@example.com", "jane@example.com", "mark@example.com", "admin@example.com",
        "someone@example.net", "admin@example.com", "admin@example.com",
    ]


def test_the_name_after_an_expanded_alias_is_expanded_too(tmp_path: Path) -> None:
    # msmtp 1.8.23: "msmtp cron root" gives mark@example.com, root
    path = aliases_file(tmp_path, REFERENCE_EXAMPLE)
    assert expand_aliases(["cron", "root"], path) == [
        "mark@example.com", "joe@example.com", "jane@example.com",
    ]


def test_without_default_unknown_names_stay(tmp_path: Path) -> None:
    path = aliases_file(tmp_path, "root: r@x\n")
    assert expand_aliases(["postmaster", "root"], path) == ["postmaster", "r@x"]


def test_lookup_is_case_sensitive(tmp_path: Path) -> None:
    path = aliases_file(tmp_path, "root: r@x\n")
    assert expand_aliases(["ROOT"], path) == ["ROOT"]


def test_expansion_is_recursive(tmp_path: Path) -> None:
    path = aliases_file(tmp_path, "a: b, x@y\nb: c\nc: z@y\n")
    assert expand_aliases(["a"], path) == ["z@y", "x@y"]


def test_default_may_name_a_local_alias(tmp_path: Path) -> None:
    path = aliases_file(tmp_path, "admins: a@x, b@x\ndefault: admins\n")
    assert expand_aliases(["whoever"], path) == ["a@x", "b@x"]


def test_sixteen_levels_are_fine_seventeen_are_too_many(tmp_path: Path) -> None:
    chain = "".join(f"a{i}: a{i + 1}\n" for i in range(MAX_DEPTH)) + f"a{MAX_DEPTH}: end@x\n"
    assert expand_aliases(["a0"], aliases_file(tmp_path, chain)) == ["end@x"]
    longer = chain.replace(f"a{MAX_DEPTH}: end@x", f"a{MAX_DEPTH}: a{MAX_DEPTH + 1}")
    path = aliases_file(tmp_path, longer)
    assert config_error(["a0"], path) == f"{path}: Too many redirects when expanding alias a0."


def test_loops_are_too_many_redirects(tmp_path: Path) -> None:
    path = aliases_file(tmp_path, "a: b\nb: c\nc: a\n")
    assert config_error(["x@y", "a"], path) == f"{path}: Too many redirects when expanding alias a."


def test_a_local_default_that_is_not_defined_loops(tmp_path: Path) -> None:
    path = aliases_file(tmp_path, "default: admin\n")
    assert "Too many redirects when expanding alias joe." in config_error(["joe"], path)


def test_exponential_alias_graphs_stop(tmp_path: Path) -> None:
    text = "".join(f"a{i}: a{i + 1}, a{i + 1}, a{i + 1}\n" for i in range(15)) + "a15:\n"
    path = aliases_file(tmp_path, text)
    assert "Too many recipients when expanding alias a0." in config_error(["a0"], path)


def test_only_local_recipients_are_looked_up(tmp_path: Path) -> None:
    path = aliases_file(tmp_path, "default: admin@x\n")
    assert expand_aliases(["a@b", "c"], path) == ["a@b", "admin@x"]


def test_the_file_is_only_opened_when_needed(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing")
    assert expand_aliases(["a@b"], missing) == ["a@b"]
    assert config_error(["a"], missing) == f"{missing}: No such file or directory"


def test_no_aliases_file_means_no_expansion() -> None:
    assert expand_aliases(["root"], None) == ["root"]
    assert expand_aliases(["root"], "") == ["root"]


def test_comments_blank_lines_and_whitespace(tmp_path: Path) -> None:
    text = "# c\n\n   \nb: x@y # c: d\n\ta:c@d\nc: q@q\n"
    assert expand_aliases(["a", "b"], aliases_file(tmp_path, text)) == ["c@d", "x@y"]


def test_targets_are_address_lists(tmp_path: Path) -> None:
    # msmtp sends RCPT TO:<Joe <j@x>>, RCPT TO:<> for empty elements
    path = aliases_file(tmp_path, 'a: Joe <j@x>, "Doe, J" <d@x>\nb: x@y,,z@y\nc:\n')
    assert expand_aliases(["a", "b", "c"], path) == ["j@x", "d@x", "x@y", "z@y"]


def test_more_than_32_targets_are_all_kept(tmp_path: Path) -> None:
    targets = [f"t{i}@x" for i in range(40)]
    path = aliases_file(tmp_path, "many: " + ", ".join(targets) + "\n")
    assert expand_aliases(["many"], path) == targets


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("a b\n", "line 1: single ':' delimiter expected"),
        ("a: b: c\n", "line 1: single ':' delimiter expected"),
        ("ok: x@y\nx@y: z\n", "line 2: invalid alias 'x@y'"),
        (": z@y\n", "line 1: invalid alias ''"),
        ("a: b\na: c\n", "line 2: duplicate alias 'a'"),
        ("a: " + "b" * 507 + "\n", "line 1: longer than 511 characters"),
        ("a: " + "b" * 508, "line 1: longer than 511 characters"),
        ("a: john doe@x\n", "line 1: invalid alias target 'john doe@x': unexpected 'doe'"),
    ],
)
def test_parse_errors_name_file_and_line(tmp_path: Path, text: str, error: str) -> None:
    path = aliases_file(tmp_path, text)
    assert config_error(["a"], path) == f"{path}: {error}"


def test_the_longest_accepted_line(tmp_path: Path) -> None:
    table = parse_aliases([("a: " + "b" * 506 + "\n").encode()], "f")
    assert table == {"a": ["b" * 506]}
