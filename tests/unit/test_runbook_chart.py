"""The runbook's Mermaid chart of each roll: predicted free addresses per subnet at the
start, at each wave's peak and after each wave, from the plan's ``predicted`` numbers."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace

from tests.unit.cluster_states import STAGING_SPEC, SubnetSpec, config, modern_129, staging
from tests.unit.test_runbook import plan
from tests.unit.test_runbook_hops import multi_hop
from upgrader.model.plan import Plan, content_digest, loads
from upgrader.model.steps import NodegroupRollStep, SubnetPrediction, SubnetWave
from upgrader.planner import make_plan
from upgrader.runbook import render
from upgrader.runbook.capacity import section
from upgrader.runbook.chart import MAX_LINES, roll_chart

CHART = re.compile(r"^```mermaid\n(xychart-beta\n.*?)^```$", re.MULTILINE | re.DOTALL)
QUOTED = re.compile(r'"([^"]*)"')


@dataclass
class Chart:
    title: str = ""
    x: list[str] = field(default_factory=list)
    y: tuple[int, int] = (0, 0)
    lines: list[list[int]] = field(default_factory=list)


def charts(text: str) -> list[Chart]:
    """Every xychart block of ``text``, parsed by structure: title, x-axis categories,
    y-axis range, lines; an unknown statement fails the test."""
    out = []
    for body in CHART.findall(text):
        rows = body.splitlines()
        assert rows[0] == "xychart-beta"
        chart = Chart()
        for row in rows[1:]:
            assert row.startswith("    "), row
            word, _, rest = row.strip().partition(" ")
            if word == "title":
                assert QUOTED.fullmatch(rest), row
                chart.title = rest[1:-1]
            elif word == "x-axis":
                assert rest.startswith("[") and rest.endswith("]"), row
                items = [i.strip() for i in rest[1:-1].split(",")]
                assert all(QUOTED.fullmatch(i) for i in items), row
                chart.x = [i[1:-1] for i in items]
            elif word == "y-axis":
                m = re.fullmatch(r'"[^"]*" (-?\d+) --> (-?\d+)', rest)
                assert m, row
                chart.y = (int(m[1]), int(m[2]))
            elif word == "line":
                assert re.fullmatch(r"\[-?\d+(, -?\d+)*\]", rest), row
                chart.lines.append([int(v) for v in rest[1:-1].split(", ")])
            else:
                raise AssertionError(f"not an xychart statement: {row}")
        assert chart.x and chart.lines
        assert all(len(line) == len(chart.x) for line in chart.lines)
        assert all(chart.y[0] <= v <= chart.y[1] for line in chart.lines for v in line)
        out.append(chart)
    return out


def rolls(p: Plan) -> list[NodegroupRollStep]:
    return [s for s in p.steps if isinstance(s, NodegroupRollStep)]


def expected_lines(step: NodegroupRollStep) -> list[list[int]]:
    """One line per subnet by AZ and name (start, then peak and end of each wave), then
    the reserve."""
    out = []
    for s in sorted(step.subnets, key=lambda s: (s.az, s.name, s.subnet_id)):
        line = [s.free_before]
        for w in s.waves:
            line += [w.free_at_peak, w.free_after]
        out.append(line)
    return [*out, [step.subnets[0].reserve] * len(out[0])]


def section_of(book: str, title: str) -> str:
    """The text from ``title`` up to the next ``##`` section."""
    start = book.index(title)
    end = book.find("\n## ", start)
    return book[start:end]


def multi_wave() -> Plan:
    """Staging with three nodes in private-a, whose free addresses fit one new node at a
    time: three waves, private-c touched by the first only."""
    group = replace(
        STAGING_SPEC.groups[0], subnets=("private-a", "private-a", "private-a", "private-c")
    )
    state = staging(groups=(group,))
    return make_plan(state, config(state, target="1.13"))


def test_every_roll_gets_one_chart_of_its_predicted_numbers() -> None:
    made = plan("modern")
    book = render(made)
    found = charts(book)
    assert len(found) == len(rolls(made)) == 2
    for chart, step in zip(found, rolls(made), strict=True):
        assert chart.title == f"{step.nodegroup}: predicted free IPs per subnet"
        assert chart.x == ["start", "wave 1 peak", "wave 1 end"]
        assert chart.lines == expected_lines(step)
        assert chart.y == (0, 919)
    # modern-private-b starts at 904, drops to 874 at the peak, ends at 904
    assert [904, 874, 904] in found[0].lines
    legend = section(made)  # the capacity section alone
    assert "| 2 | eu-west-1b | modern-private-b (subnet-" in legend
    assert "| 904 | 874 | 904 |" in legend
    assert "| 4 | - | reserve | 8 | 8 | 8 |" in legend


def test_the_chart_comes_after_the_roll_table_and_keeps_it() -> None:
    text = section_of(render(plan("staging")), "### Rolling `workers`")
    table = text.index("| AZ | Subnet | Free now | Predicted peak demand |")
    assert table < text.index("```mermaid\nxychart-beta\n")


def test_the_planner_records_each_waves_peak_and_end_per_subnet() -> None:
    made = multi_wave()
    (step,) = rolls(made)
    assert step.predicted_waves == 3
    a, c = step.subnets
    assert (a.name, c.name) == ("private-a", "private-c")
    assert a.waves == (SubnetWave(free_at_peak=11, free_after=71),) * 3
    # private-c takes its one node in the first wave, then keeps its count
    assert c.waves == (
        SubnetWave(free_at_peak=131, free_after=191),
        SubnetWave(free_at_peak=191, free_after=191),
        SubnetWave(free_at_peak=191, free_after=191),
    )
    for s in step.subnets:
        assert s.min_free == min(w.free_at_peak for w in s.waves)
        assert s.free_after == s.waves[-1].free_after
    (chart,) = charts(render(loads(made.dumps())))
    assert chart.x == [
        "start",
        "wave 1 peak",
        "wave 1 end",
        "wave 2 peak",
        "wave 2 end",
        "wave 3 peak",
        "wave 3 end",
    ]
    assert chart.lines == [
        [71, 11, 71, 11, 71, 11, 71],
        [191, 131, 191, 191, 191, 191, 191],
        [8] * 7,
    ]


def test_the_plan_file_carries_the_waves_in_predicted() -> None:
    made = multi_wave()
    raw = json.loads(made.dumps())
    (roll,) = [s for s in raw["steps"] if s["kind"] == "nodegroup-roll"]
    assert roll["predicted"]["subnets"][1]["waves"][1] == {"free_at_peak": 191, "free_after": 191}
    assert loads(made.dumps()) == made
    assert made.dumps() == multi_wave().dumps()  # deterministic


def test_a_plan_file_without_waves_still_loads_and_says_why_there_is_no_chart() -> None:
    raw = json.loads(plan("staging").dumps())
    for step in raw["steps"]:
        for s in step.get("predicted", {}).get("subnets", []):
            del s["waves"]
    raw.pop("digest")
    raw["digest"] = content_digest(raw)
    old = loads(json.dumps(raw))
    (step,) = rolls(old)
    assert all(s.waves == () for s in step.subnets)
    book = render(old)
    assert charts(book) == []
    assert "This plan file carries no per-wave prediction" in book
    assert "| ap-northeast-1a | private-a (subnet-0a1b2c3d4e5f60718) | 206 | 45 | 45 |" in book


def test_a_roll_without_waves_gets_one_sentence() -> None:
    made = plan("staging")
    (step,) = rolls(made)
    none = replace(step, predicted_waves=0, waves=(), subnets=())
    assert roll_chart(made, none) == "No wave is planned for this roll: nothing to chart."
    odd = replace(step, subnets=(step.subnets[0], replace(step.subnets[1], waves=())))
    assert "disagree" in roll_chart(made, odd)


def test_more_than_eight_subnets_charts_the_eight_tightest() -> None:
    made = plan("staging")
    (step,) = rolls(made)
    subnets = tuple(
        SubnetPrediction(
            subnet_id=f"subnet-{n:017x}",
            name=f"s{n:02d}",
            az=f"az-{n % 3}",
            free_before=100 + n,
            peak_demand=10 * n,
            released=10 * n,
            free_after=100 + n,
            min_free=100 + n - 10 * n,
            reserve=8,
            waves=(SubnetWave(free_at_peak=100 + n - 10 * n, free_after=100 + n),),
        )
        for n in range(12)
    )
    text = roll_chart(made, replace(step, subnets=subnets))
    (chart,) = charts(text)
    lines = chart.lines
    assert len(lines) == MAX_LINES + 1  # and the reserve
    # the 8 lowest min free are n = 4..11 (100 - 9n), drawn by AZ then name
    drawn = sorted(subnets[4:], key=lambda s: (s.az, s.name))
    assert lines[:-1] == [[s.free_before, s.min_free, s.free_after] for s in drawn]
    assert "the 8 subnets with the lowest min free of the 12 this roll touches" in text
    assert chart.y == (0, 111)  # from 0 up to the highest start (n = 11)
    assert text == roll_chart(made, replace(step, subnets=subnets[::-1]))  # order-free


def test_a_blocked_az_is_explained_under_the_chart() -> None:
    group = replace(
        STAGING_SPEC.groups[0], subnets=("private-a", "private-a", "private-a", "private-c")
    )
    a = SubnetSpec(name="private-a", az="ap-northeast-1a", cidr="10.0.0.0/24", used=10)
    state = staging(groups=(group,), subnets=(a, STAGING_SPEC.subnets[1]))
    made = make_plan(state, config(state, target="1.13"))
    assert made.blocked
    book = render(made)
    (chart,) = charts(book)
    assert chart.lines == [[61, 61, 61], [191, 131, 191], [8, 8, 8]]
    assert "Where an AZ is blocked (CAP001) the chart shows only the waves planned" in book


def test_later_hops_chart_their_predicted_waves() -> None:
    state = modern_129()
    made = make_plan(state, config(state, target="1.32"))
    book = render(loads(made.dumps()))
    steps = rolls(made)
    found = charts(book)
    assert len(found) == len(steps) == 4
    for chart, step in zip(found, steps, strict=True):
        assert chart.lines == expected_lines(step)
    later = [s for s in steps if not s.waves]
    assert len(later) == 3
    for step in later:
        assert (
            f"Predicted from the state the steps before `{step.id}` leave: apply plans"
            " this roll's waves when its hop starts" in book
        )
    assert "the steps before `nodegroup-roll-general@1.30` leave" not in book


def test_the_runbook_hops_fixture_still_renders_every_chart() -> None:
    book = render(multi_hop())
    assert len(charts(book)) == len(rolls(multi_hop()))
    assert render(multi_hop()) == book


def test_titles_cannot_break_the_chart() -> None:
    made = plan("staging")
    (step,) = rolls(made)
    text = roll_chart(made, replace(step, nodegroup='we"ird`\ngroup'))
    (chart,) = charts(text)
    assert chart.title == "we ird group: predicted free IPs per subnet"
