"""Bad input files shared by the unit and integration tests of strict input handling."""

from __future__ import annotations

# The billion-laughs YAML: nine levels of nine aliases, 10^9 strings once expanded.
BILLION_LAUGHS = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]"
            for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
        ),
    ]
)
