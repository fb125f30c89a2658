"""The netrc file as msmtp reads it (fetchmail's parser), not as Python's ``netrc`` module does."""

from __future__ import annotations

from smtpq.sender.auth.netrc import lookup, parse


def write(tmp_path, text: str):
    path = tmp_path / "netrc"
    path.write_text(text)
    return path


def test_several_logins_for_one_machine_coexist(tmp_path):
    path = write(tmp_path, "machine h login alice password a\nmachine h login bob password b\n")
    assert lookup(path, "h", "alice") == "a"
    assert lookup(path, "h", "bob") == "b"


def test_the_first_matching_entry_wins(tmp_path):
    path = write(tmp_path, "machine h login bob password first\n"
                           "machine h login bob password second\n")
    assert lookup(path, "h", "bob") == "first"


def test_default_entries_and_other_logins_never_match(tmp_path):
    path = write(tmp_path, "default login bob password d\nmachine h login alice password a\n")
    assert lookup(path, "h", "bob") is None


def test_host_and_user_match_exactly(tmp_path):
    path = write(tmp_path, "machine Mail.Example login Bob password p\n")
    assert lookup(path, "mail.example", "Bob") is None
    assert lookup(path, "Mail.Example", "bob") is None
    assert lookup(path, "Mail.Example", "Bob") == "p"


def test_quotes_comments_and_synonyms(tmp_path):
    path = write(tmp_path, "# a comment\n"
                           "machine h user bob passwd \"s3 cret\"  # trailing comment\n"
                           "machine k login 'al ice' password 'x\"y'\n")
    assert lookup(path, "h", "bob") == "s3 cret"
    assert lookup(path, "k", "al ice") == 'x"y'


def test_entries_may_span_lines_and_share_lines(tmp_path):
    path = write(tmp_path, "machine h\n  login bob\n  password p\nmachine k login c password q "
                           "machine m login d password r\n")
    assert [(e.machine, e.login, e.password) for e in parse(path.read_text())] == [
        ("h", "bob", "p"), ("k", "c", "q"), ("m", "d", "r")]


def test_a_macro_body_is_skipped_up_to_the_empty_line(tmp_path):
    path = write(tmp_path, "macdef init\nmachine h login bob password fake\n\n"
                           "machine h login bob password real\n")
    assert lookup(path, "h", "bob") == "real"


def test_an_entry_without_password_is_skipped(tmp_path):
    """msmtp 1.8.23 crashes (SIGSEGV) on such an entry; we look further."""
    path = write(tmp_path, "machine h login bob\nmachine h login bob password later\n")
    assert lookup(path, "h", "bob") == "later"


def test_account_values_and_unknown_words_are_ignored(tmp_path):
    path = write(tmp_path, "machine h account acct login bob frobnicate password p\n")
    assert lookup(path, "h", "bob") == "p"


def test_a_missing_or_unreadable_file_has_no_password(tmp_path):
    assert lookup(tmp_path / "missing", "h", "bob") is None
    assert lookup(tmp_path, "h", "bob") is None  # a directory


def test_passwords_are_not_in_the_entry_repr(tmp_path):
    (entry,) = parse("machine h login bob password hunter2\n")
    assert "hunter2" not in repr(entry)
