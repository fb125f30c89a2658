"""How msmtp 1.8.23 cuts an msmtprc into lines, commands and arguments (fgets into 501 bytes)."""

from __future__ import annotations

import pytest

from smtpq.sender.config.lexer import first_output_line, read_lines, split_line, trim_string
from smtpq.sender.errors import LineTooLong


def lines(data: bytes) -> list[tuple[int, str | None, str]]:
    return [(line.number, line.command, line.argument) for line in read_lines(data)]


class TestCommandAndArgument:
    def test_first_word_is_the_command_rest_is_the_trimmed_argument(self) -> None:
        assert split_line("host   mail.example  ") == ("host", "mail.example")
        assert split_line("\t host\th") == ("host", "h")

    def test_blank_and_comment_lines_are_ignored(self) -> None:
        for text in ("", "   ", "\t", "# x", "   # x"):
            assert split_line(text) == (None, "")

    def test_there_are_no_trailing_comments(self) -> None:
        assert split_line("host h # trailing") == ("host", "h # trailing")

    def test_only_space_and_tab_are_blanks(self) -> None:
        assert split_line("\x0b") == ("\x0b", "")
        assert split_line("from a\x0bb") == ("from", "a\x0bb")
        assert split_line("from\x0cx") == ("from\x0cx", "")

    def test_a_command_without_argument(self) -> None:
        assert split_line("tls") == ("tls", "")
        assert split_line("tls   ") == ("tls", "")


class TestQuotes:
    def test_one_enclosing_pair_is_removed_without_escapes(self) -> None:
        assert trim_string('  "  x@y  " ') == "  x@y  "
        assert trim_string('""a""') == '"a"'
        assert trim_string('"a"b"') == 'a"b'
        assert trim_string('""') == ""

    def test_unbalanced_quotes_stay(self) -> None:
        assert trim_string('"a') == '"a'
        assert trim_string('a"') == 'a"'
        assert trim_string('"') == '"'


class TestLineEndings:
    def test_crlf_and_lf(self) -> None:
        assert lines(b"host a\r\nport 2\n") == [(1, "host", "a"), (2, "port", "2")]

    def test_only_one_cr_before_the_newline_is_removed(self) -> None:
        assert lines(b"from a\r\r\n") == [(1, "from", "a\r")]

    def test_a_cr_at_end_of_file_without_newline_stays(self) -> None:
        assert lines(b"from a\r") == [(1, "from", "a\r")]
        assert lines(b"\r") == [(1, "\r", "")]

    def test_missing_final_newline(self) -> None:
        assert lines(b"host a") == [(1, "host", "a")]

    def test_a_nul_byte_ends_the_line(self) -> None:
        assert lines(b"from a\x00b\nhost h\n") == [(1, "from", "a"), (2, "host", "h")]

    def test_any_byte_survives_decoding(self) -> None:
        [(_, _, argument)] = lines(b"from \xff\xc3\xa9\n")
        assert argument.encode("utf-8", "surrogateescape") == b"\xff\xc3\xa9"


class TestTheFiveHundredByteBuffer:
    """fgets(buf, 501): 499 bytes + LF fit, 498 + CRLF fit, 500 without newline do not."""

    @pytest.mark.parametrize("data", [
        b"h" * 499 + b"\n", b"h" * 498 + b"\r\n", b"h" * 499,
    ])
    def test_fits(self, data: bytes) -> None:
        assert len(lines(data)) == 1

    @pytest.mark.parametrize("data", [
        b"h" * 500 + b"\n", b"h" * 499 + b"\r\n", b"h" * 500, b"# " + b"c" * 600 + b"\n",
        b" " * 700 + b"\n",
    ])
    def test_too_long(self, data: bytes) -> None:
        with pytest.raises(LineTooLong, match="^line longer than 500 characters$"):
            lines(data)

    def test_the_error_comes_when_the_line_is_reached(self) -> None:
        reader = read_lines(b"host h\n" + b"x" * 600)
        assert next(reader).command == "host"
        with pytest.raises(LineTooLong):
            next(reader)

    def test_a_nul_inside_a_long_line_splits_it_into_two_lines(self) -> None:
        data = b"from a\x00" + b"b" * 600 + b"\n"
        # msmtp sees "from a" (the C string of the first 500 bytes), then the
        # remaining 107 bytes as line 2 (observed: "line 4: unknown command bbb…")
        assert lines(data) == [(1, "from", "a"), (2, "b" * 107, "")]


class TestEvalOutput:
    def test_first_line_without_newline_and_one_cr(self) -> None:
        assert first_output_line(b"host a\r\nport 2\n") == "host a"
        assert first_output_line(b"from a\r\r\n") == "from a\r"
        assert first_output_line(b"from a\r") == "from a\r"
        assert first_output_line(b"\n") == ""

    def test_no_length_limit(self) -> None:
        assert len(first_output_line(b"x" * 100000 + b"\n")) == 100000
