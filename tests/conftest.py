"""Shared test helpers: paths to the upstream golden data beside the repo."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("UPGRADER_SHARED", REPO.parent / "shared"))
UPSTREAM = SHARED / "upstream"


@pytest.fixture(scope="session")
def upstream() -> Path:
    """``../shared/upstream``; the golden references are required, never skipped."""
    assert UPSTREAM.is_dir(), f"upstream data not found at {UPSTREAM} (set UPGRADER_SHARED)"
    return UPSTREAM
