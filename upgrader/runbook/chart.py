"""The Mermaid chart of a roll: predicted free addresses per subnet at the start, at each
wave's peak and after each wave, with a line for the reserve and a legend table (xychart
lines carry no legend of their own)."""

from __future__ import annotations

import re

from upgrader.markdown import inline, table
from upgrader.model.plan import Plan
from upgrader.model.steps import NodegroupRollStep, SubnetPrediction

MAX_LINES = 8  # subnets charted per roll: more lines than this cannot be told apart
_UNSAFE = re.compile(r'["`\s]+')  # would end a quoted Mermaid string or the code fence


def _quoted(text: str) -> str:
    """``text`` as a Mermaid quoted string."""
    return '"' + " ".join(_UNSAFE.sub(" ", text).split()) + '"'


def x_axis(waves: int) -> list[str]:
    """The chart's categories: the start, then each wave's peak and end."""
    out = ["start"]
    for n in range(1, waves + 1):
        out += [f"wave {n} peak", f"wave {n} end"]
    return out


def series(subnet: SubnetPrediction) -> list[int]:
    """A subnet's free addresses at each category of :func:`x_axis`."""
    out = [subnet.free_before]
    for w in subnet.waves:
        out += [w.free_at_peak, w.free_after]
    return out


def charted(step: NodegroupRollStep) -> list[SubnetPrediction]:
    """The subnets the chart draws, by AZ and name: all, or the :data:`MAX_LINES` with the
    lowest min free."""
    tightest = sorted(step.subnets, key=lambda s: (s.min_free, s.az, s.name, s.subnet_id))
    return sorted(tightest[:MAX_LINES], key=lambda s: (s.az, s.name, s.subnet_id))


def _skipped(step: NodegroupRollStep) -> str | None:
    """Why the roll gets no chart (None: it gets one)."""
    if not step.subnets or step.predicted_waves == 0:
        return "No wave is planned for this roll: nothing to chart."
    if {len(s.waves) for s in step.subnets} == {0}:
        return (
            "This plan file carries no per-wave prediction (an older upgrader wrote it):"
            " plan again to chart the waves."
        )
    if len({len(s.waves) for s in step.subnets}) != 1:
        return "The subnets of this roll disagree on its number of waves: nothing to chart."
    return None


def roll_chart(plan: Plan, step: NodegroupRollStep) -> str:
    """A ```mermaid xychart-beta block of ``step``'s predicted free addresses per subnet
    over its waves, its legend, and what the chart leaves out; one sentence when there is
    nothing to chart."""
    skipped = _skipped(step)
    if skipped is not None:
        return skipped
    subnets = charted(step)
    waves = len(subnets[0].waves)
    lines = [series(s) for s in subnets]
    reserves = {s.reserve for s in step.subnets}
    reserve = reserves.pop() if len(reserves) == 1 else None
    if reserve is not None:
        lines.append([reserve] * (1 + 2 * waves))
    values = [v for line in lines for v in line]
    low, high = min(0, *values), max(1, *values)
    block = [
        "Predicted free addresses per subnet: at the start, at each wave's peak and after it.",
        "",
        "```mermaid",
        "xychart-beta",
        f"    title {_quoted(f'{step.nodegroup}: predicted free IPs per subnet')}",
        f"    x-axis [{', '.join(_quoted(c) for c in x_axis(waves))}]",
        f"    y-axis {_quoted('Free IPs')} {low} --> {high}",
        *(f"    line [{', '.join(str(v) for v in line)}]" for line in lines),
        "```",
    ]
    legend = [
        [
            str(n),
            s.az,
            plan.context.subnet_label(s.subnet_id, s.name),
            str(s.free_before),
            str(min(w.free_at_peak for w in s.waves)),
            str(s.waves[-1].free_after),
        ]
        for n, s in enumerate(subnets, 1)
    ]
    if reserve is not None:
        legend.append([str(len(subnets) + 1), "-", "reserve", *[str(reserve)] * 3])
    notes = [
        "Lines in drawing order (Mermaid colours them in this order):",
        "",
        table(["Line", "AZ", "Subnet", "Start", "Lowest peak", "End"], legend),
    ]
    if len(step.subnets) > len(subnets):
        notes += [
            "",
            f"Charted: the {len(subnets)} subnets with the lowest min free of the"
            f" {len(step.subnets)} this roll touches; the table above lists all.",
        ]
    if len({tuple(line) for line in lines}) < len(lines):
        notes += ["", "Lines with the same numbers are drawn over each other."]
    if any(s.min_free < min(w.free_at_peak for w in s.waves) for s in subnets):
        notes += [
            "",
            "Where an AZ is blocked (CAP001) the chart shows only the waves planned; the"
            " table's min free counts the wave of one that does not fit.",
        ]
    if plan.hops and not step.waves:  # a later hop's roll
        notes += [
            "",
            f"Predicted from the state the steps before {inline(step.id)} leave: apply plans"
            " this roll's waves when its hop starts, from the nodes running then.",
        ]
    return "\n".join([*block, "", *notes])
