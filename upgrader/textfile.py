"""Strict handling of the files users name to upgrader.

Inputs (config, plan, catalog, kubeconfig, scenario): a regular, readable file of UTF-8
text under a size limit, and YAML loaded safely with bounded nesting and alias expansion.
Outputs (``--out``, ``-o``): checked writable before any work. Anything else is bad input
(exit 2), refused before opening when ``os.stat`` already tells (a FIFO is never opened).
"""

from __future__ import annotations

import codecs
import os
import stat
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

from upgrader.errors import BadInputError

MIB = 1024 * 1024
TEXT_LIMIT = 1 * MIB  # config, kubeconfig, instance catalog, scenario
# A 5,000-node plan is about 0.5 MiB (benchmarks/plan_size.py); 64 MiB leaves ample margin.
PLAN_LIMIT = 64 * MIB
PLAN_HINT = "pass the plan file `upgrader plan --out` wrote"
MAX_DEPTH = 64  # nesting levels of a YAML document
MAX_NODES = 200_000  # YAML nodes once every alias is expanded (a billion-laughs bomb has 10^9)

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def file_problem(path: Path) -> str | None:
    """Why ``path`` cannot be read as a regular file (``os.stat`` only), or None."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return "does not exist"
    except OSError as err:
        return f"cannot be read: {err.strerror}"
    for test, kind in _KINDS:
        if test(info.st_mode):
            return f"is {kind}, not a regular file"
    return None if stat.S_ISREG(info.st_mode) else "is not a regular file"


def read_text(
    path: Path,
    *,
    what: str,
    hint: str,
    limit: int = TEXT_LIMIT,
    error: type[BadInputError] = BadInputError,
) -> str:
    """The UTF-8 text of ``path`` (a leading BOM dropped). A missing, unreadable, special,
    oversized, binary or non-UTF-8 file raises ``error`` naming ``what`` and the path."""
    subject = f"{what} {path}"
    problem = file_problem(path)
    if problem is not None:
        raise error(subject, problem, hint)
    try:
        # O_NONBLOCK: should the path become a FIFO after the stat, opening cannot hang.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as err:
        raise error(subject, f"cannot be read: {err.strerror}", hint) from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise error(subject, "is not a regular file", hint)
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise error(
            subject,
            f"is larger than the {_size(limit)} a {what} may have",
            f"pass the right file; a {what} is far smaller",
        )
    return decode(data, subject, hint, error=error)


def decode(
    data: bytes, subject: str, hint: str, *, error: type[BadInputError] = BadInputError
) -> str:
    """``data`` as UTF-8 text; UTF-16/32, NUL bytes and invalid UTF-8 raise ``error``."""
    for bom, encoding in _WIDE_BOMS:
        if data.startswith(bom):
            raise error(
                subject, f"is {encoding} text (it starts with a byte-order mark)", _utf8(hint)
            )
    if b"\0" in data:
        problem = "looks like UTF-16 text" if _wide(data) else "is binary, not text"
        raise error(subject, f"{problem} (it contains NUL bytes)", _utf8(hint))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise error(
            subject,
            f"is not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start}); "
            "is it a binary file?",
            _utf8(hint),
        ) from None


def load_yaml(
    path: Path,
    *,
    what: str,
    hint: str,
    limit: int = TEXT_LIMIT,
    error: type[BadInputError] = BadInputError,
) -> Any:
    """:func:`read_text`, then :func:`parse_yaml`: the one document of a YAML file."""
    text = read_text(path, what=what, hint=hint, limit=limit, error=error)
    return parse_yaml(text, f"{what} {path}", error=error)


def parse_yaml(text: str, subject: str, *, error: type[BadInputError] = BadInputError) -> Any:
    """One YAML document with safe types only, at most :data:`MAX_DEPTH` levels deep and
    :data:`MAX_NODES` nodes with every alias expanded; anything else raises ``error``."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_size(node)
        return loader.construct_document(node)
    except _LimitError as err:
        raise error(subject, str(err), "write the document out plainly, without that") from None
    except yaml.YAMLError as err:
        raise error(subject, f"is not valid YAML: {err}", "fix the YAML syntax") from None
    finally:
        loader.dispose()


class _LimitError(Exception):
    """A YAML document past the nesting or expansion limits."""


class _Loader(yaml.SafeLoader):
    """The pure-Python safe loader, counting nesting while it composes (before any
    recursion could get deep)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise _LimitError(
                    f"nests more than {MAX_DEPTH} levels deep "
                    f"(line {mark.line + 1}, column {mark.column + 1})"
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _check_size(root: Node) -> None:
    """Refuse a node graph that refers to itself, nests deeper than :data:`MAX_DEPTH` or
    expands past :data:`MAX_NODES` (aliases count once per use, as a consumer sees them)."""
    sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded nodes, height)
    open_nodes: set[int] = set()

    def visit(node: Node, level: int) -> tuple[int, int]:
        key = id(node)
        if key in open_nodes:
            raise _LimitError("has an alias that refers to the node containing it")
        known = sizes.get(key)
        if known is None:
            open_nodes.add(key)
            count, height = 1, 0
            for child in _children(node):
                child_count, child_height = visit(child, level + 1)
                count += child_count
                height = max(height, child_height + 1)
                if count > MAX_NODES:
                    raise _LimitError(
                        f"expands to more than {MAX_NODES:,} nodes through its aliases "
                        "(a YAML alias bomb?)"
                    )
            open_nodes.discard(key)
            known = sizes[key] = (count, height)
        if level + known[1] > MAX_DEPTH:
            raise _LimitError(f"nests more than {MAX_DEPTH} levels deep through its aliases")
        return known

    visit(root, 1)


def check_output_file(path: Path, *, option: str) -> None:
    """Refuse an output file that could not be written: its parent is no writable directory
    or the path is something other than a regular file."""
    problem = _output_problem(path.parent) or (
        file_problem(path) if path.exists() or path.is_symlink() else None
    )
    if problem is None and path.exists() and not os.access(path, os.W_OK):
        problem = f"{path} is not writable"
    if problem is not None:
        raise BadInputError(
            f"{option} {path}", problem, "pass a file path inside a directory you can write to"
        )


def check_output_dir(path: Path, *, option: str) -> None:
    """Refuse an output directory that could not be created or written to."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    problem = _output_problem(existing)
    if problem is not None:
        raise BadInputError(
            f"{option} {path}", problem, "pass a directory path (new or existing) you can write to"
        )


def _output_problem(directory: Path) -> str | None:
    if not directory.exists():
        return f"{directory} does not exist"
    if not directory.is_dir():
        return f"{directory} is a file, not a directory"
    if not os.access(directory, os.W_OK | os.X_OK):
        return f"{directory} is not writable"
    return None


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def _wide(data: bytes) -> bool:
    """UTF-16 without a byte-order mark: one byte of each pair (nearly) always NUL."""
    even, odd = data[0::2], data[1::2]
    return len(data) >= 8 and any(
        zeros.count(0) >= 0.9 * len(zeros) and other.count(0) <= 0.1 * len(other)
        for zeros, other in ((even, odd), (odd, even))
    )


def _size(limit: int) -> str:
    return f"{limit // MIB} MiB" if limit % MIB == 0 else f"{limit:,} bytes"


def _utf8(hint: str) -> str:
    return f"{hint}; it must be UTF-8 text"
