"""Strict input files: special files refused without opening, binary and wide text refused,
size limits, YAML nesting and alias-expansion limits, output paths checked first."""

from __future__ import annotations

import codecs
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.bad_inputs import BILLION_LAUGHS
from upgrader.errors import BadInputError, ConfigError, ExitCode
from upgrader.textfile import (
    MAX_DEPTH,
    check_output_dir,
    check_output_file,
    load_yaml,
    parse_yaml,
    read_text,
)

HINT = "pass the right file"


@contextmanager
def within(seconds: float) -> Iterator[None]:
    started = time.monotonic()
    yield
    assert time.monotonic() - started < seconds


def refused(path: Path, *needles: str, **kwargs: int) -> BadInputError:
    with within(5), pytest.raises(BadInputError) as err:
        read_text(path, what="config file", hint=HINT, **kwargs)
    assert err.value.exit_code == ExitCode.BAD_INPUT
    text = err.value.render()
    assert str(path) in text
    for needle in needles:
        assert needle in text
    return err.value


def test_plain_utf8_text_is_read_and_a_utf8_bom_dropped(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(codecs.BOM_UTF8 + "cluster: ステージング\n".encode())
    assert read_text(path, what="config file", hint=HINT) == "cluster: ステージング\n"


def test_missing_file_and_directory(tmp_path: Path) -> None:
    refused(tmp_path / "absent.yaml", "does not exist", HINT)
    refused(tmp_path, "is a directory, not a regular file")


def test_a_fifo_is_refused_without_being_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    refused(fifo, "is a FIFO (named pipe), not a regular file")


def test_a_device_is_refused() -> None:
    refused(Path("/dev/zero"), "is a character device, not a regular file")


def test_a_10_mb_file_is_refused_at_once(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:
        handle.truncate(10 * 1024 * 1024)
    refused(big, "is larger than the 1 MiB a config file may have")
    small = tmp_path / "small.yaml"
    small.write_text("x" * 101)
    refused(small, "larger than the 100 bytes", limit=100)


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"\x7fELF\x02\x01\x01\x00\x00\x00", "is binary, not text (it contains NUL bytes)"),
        (codecs.BOM_UTF16_LE + "cluster: a\n".encode("utf-16-le"), "is UTF-16 text"),
        (codecs.BOM_UTF16_BE + "cluster: a\n".encode("utf-16-be"), "is UTF-16 text"),
        ("cluster: a\n".encode("utf-16-le"), "looks like UTF-16 text"),
        (b"cluster: \xff\xfe\xfa\n", "is not UTF-8 text (byte 0xff at offset 9)"),
    ],
)
def test_binary_and_non_utf8_text_are_refused(tmp_path: Path, data: bytes, needle: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(data)
    assert "must be UTF-8 text" in refused(path, needle).hint


def test_the_error_class_is_the_callers(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_yaml(tmp_path / "absent", what="config file", hint=HINT, error=ConfigError)


def test_a_yaml_alias_bomb_is_refused_fast(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(BILLION_LAUGHS)
    with within(2), pytest.raises(BadInputError) as err:
        load_yaml(path, what="config file", hint=HINT)
    assert "expands to more than 200,000 nodes through its aliases" in err.value.message
    assert str(path) in err.value.subject


def test_modest_aliases_still_work() -> None:
    assert parse_yaml("a: &x {k: [1, 2]}\nb: *x\n", "t") == {"a": {"k": [1, 2]}, "b": {"k": [1, 2]}}


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[" * 100_000, f"nests more than {MAX_DEPTH} levels deep (line 1, column 65)"),
        ("- " * (MAX_DEPTH + 1) + "x", f"nests more than {MAX_DEPTH} levels deep"),
        (
            f"a: &a {'[' * 40}x{']' * 40}\nb: {'[' * 40}*a{']' * 40}\n",
            "levels deep through its aliases",
        ),
        ("&a [*a]", "has an alias that refers to the node containing it"),
        ("a: [unclosed\n", "is not valid YAML"),
        ("a: 1\n---\nb: 2\n", "is not valid YAML"),
        ("!!python/object:os.system {}", "is not valid YAML"),
    ],
)
def test_yaml_limits(text: str, needle: str) -> None:
    with within(5), pytest.raises(BadInputError) as err:
        parse_yaml(text, "config file c.yaml")
    assert needle in err.value.message
    assert err.value.subject == "config file c.yaml"


def test_nesting_up_to_the_limit_is_fine() -> None:
    depth = MAX_DEPTH - 1
    assert parse_yaml("[" * depth + "]" * depth, "t") is not None


def test_output_file_checks(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.write_text("")
    check_output_file(tmp_path / "runbook.md", option="--out")
    check_output_file(plain, option="--out")  # overwriting a file is fine
    for path, needle in (
        (plain / "runbook.md", f"{plain} is a file, not a directory"),
        (tmp_path / "no" / "runbook.md", f"{tmp_path / 'no'} does not exist"),
        (tmp_path, "is a directory, not a regular file"),
    ):
        with pytest.raises(BadInputError) as err:
            check_output_file(path, option="--out")
        assert err.value.subject == f"--out {path}"
        assert needle in err.value.message


def test_output_dir_checks(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.write_text("")
    check_output_dir(tmp_path / "new" / "deeper", option="--out")
    check_output_dir(tmp_path, option="--out")
    for path in (plain, plain / "below"):
        with pytest.raises(BadInputError, match=f"{plain} is a file, not a directory"):
            check_output_dir(path, option="--out")
