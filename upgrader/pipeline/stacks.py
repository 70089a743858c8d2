"""``upgrader stacks render``: the CloudFormation templates upgrader would own for the
config's stacks at the target, written as YAML. Read-only: discovery only, no change set."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from upgrader import config as config_file
from upgrader.adapters.discover import discover
from upgrader.errors import BadInputError
from upgrader_stacks.owned import owned_templates


@dataclass(frozen=True, slots=True, kw_only=True)
class RenderedStack:
    """One written template: which stack, its kind, where the template came from, where."""

    stack: str
    kind: str  # control-plane | self-managed | managed
    source: str  # migration (the plan's change-set template) | builder
    path: Path

    def as_json(self) -> dict[str, str]:
        return {
            "stack": self.stack,
            "kind": self.kind,
            "source": self.source,
            "path": str(self.path),
        }


def render_stacks(config_path: Path, *, out: Path, to: str | None) -> tuple[RenderedStack, ...]:
    """Discover the config's stacks, render every template, then write ``out/<stack>.yaml``
    (nothing is written when any template cannot be rendered)."""
    cfg = config_file.load(config_path, target=to)
    state = discover(cfg)
    owned = owned_templates(state, cfg, cfg.target_kubernetes.minor_str)
    try:
        out.mkdir(parents=True, exist_ok=True)
        rendered = []
        for template in owned:
            path = out / f"{template.stack}.yaml"
            path.write_text(template.body)
            rendered.append(
                RenderedStack(
                    stack=template.stack, kind=template.kind, source=template.source, path=path
                )
            )
    except OSError as err:
        raise BadInputError(
            str(out),
            f"cannot be written: {err.strerror}",
            "pass a writable directory with -o",
        ) from None
    return tuple(rendered)
