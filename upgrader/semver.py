"""Version parsing for Kubernetes minors ("1.13") and component releases ("v1.5.5")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

from upgrader.errors import VersionError

_SEMVER = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(?:-(?P<build>[0-9A-Za-z.\-]+))?$")


@total_ordering
@dataclass(frozen=True, slots=True)
class Version:
    """A release version; ``build`` (e.g. ``eksbuild.1``) is kept but ignored for ordering."""

    major: int
    minor: int
    patch: int = 0
    build: str = ""

    @classmethod
    def parse(cls, text: str, what: str = "version") -> Version:
        """Parse ``v1.5.5``, ``1.5``, ``1.13`` or ``v1.19.2-eksbuild.1``."""
        m = _SEMVER.match(text.strip())
        if not m:
            raise VersionError(what, f"{text!r} is not a version", "write it like 1.13 or v1.5.5")
        return cls(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0), m.group("build") or "")

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    @property
    def minor_key(self) -> tuple[int, int]:
        return (self.major, self.minor)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.key < other.key

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    @property
    def tag(self) -> str:
        """Release tag form, ``v1.5.5``."""
        return f"v{self.major}.{self.minor}.{self.patch}"

    @property
    def minor_str(self) -> str:
        """Kubernetes minor form, ``1.13``."""
        return f"{self.major}.{self.minor}"

    def __str__(self) -> str:
        return self.tag + (f"-{self.build}" if self.build else "")
