"""Small GitHub-flavoured Markdown builders: tables, code blocks, inline code."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def cell(text: object) -> str:
    """``text`` made safe for one table cell: pipes escaped, newlines folded."""
    return " ".join(str(text).split()).replace("|", "\\|")


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table; every cell goes through :func:`cell`."""
    lines = [
        "| " + " | ".join(cell(h) for h in header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def code(lines: Iterable[str], lang: str = "sh") -> str:
    """A fenced code block."""
    return "\n".join([f"```{lang}", *lines, "```"])


def inline(text: object) -> str:
    """Inline code; backticks inside are replaced so the span cannot break."""
    return "`" + str(text).replace("`", "'") + "`"


def bullets(items: Iterable[str]) -> str:
    """A bullet list."""
    return "\n".join(f"- {item}" for item in items)
