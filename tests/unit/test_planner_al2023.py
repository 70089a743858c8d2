"""A self-managed group on Amazon Linux 2 planned to 1.33 (no AL2 AMI): its stack step
carries the AL2023 template, in a plan of one minor and of two hops; AMI001 blocks user
data that cannot be carried over; the rendered template is deterministic."""

from __future__ import annotations

import yaml

from ekstwin.templates import aws_2019_nodegroup
from tests.support.stack_lint import lint
from tests.unit.al2_states import CA, CIDR, LABELS, MEMORY, al2
from tests.unit.cluster_states import config
from upgrader.gates import run
from upgrader.gates.registry import rule
from upgrader.model.node_bootstrap import read_bootstrap
from upgrader.model.plan import Plan, Severity
from upgrader.model.state import ClusterState
from upgrader.model.steps import NodegroupRollStep, NodegroupStackStep
from upgrader.pipeline.plan import rendered_templates
from upgrader.planner import gate_inputs, make_plan
from upgrader.planner.al2023 import max_pods_settings
from upgrader.planner.hops import advance, hop_targets, is_multi_hop
from upgrader.runbook import render
from upgrader_stacks.al2023 import migrate_al2023

AL2023_133 = (
    "/aws/service/eks/optimized-ami/1.33/amazon-linux-2023/x86_64/standard/recommended/image_id"
)


def plan(state: ClusterState, target: str = "1.33") -> Plan:
    cfg = config(state, target=target)
    if is_multi_hop(state, cfg):
        return make_plan(state, cfg, render_hop=rendered_templates)
    return make_plan(state, cfg, templates=rendered_templates(state, cfg))


def memory_steps(p: Plan) -> list[NodegroupStackStep]:
    return [s for s in p.steps if isinstance(s, NodegroupStackStep) and s.stack == MEMORY]


def test_one_minor_to_1_33_moves_the_group_to_al2023() -> None:
    state = al2("1.32")
    p = plan(state)
    assert not p.blocked, p.findings
    (step,) = memory_steps(p)
    params = dict(step.parameters)
    assert params["NodeImageIdSSMParam"] == AL2023_133
    assert params["ClusterEndpoint"] == state.cluster.endpoint
    assert (params["ClusterCertificateAuthority"], params["ServiceCidr"]) == (CA, CIDR)
    assert "Amazon Linux 2023" in step.description and CA not in step.description
    assert step.template is not None
    reason = step.template.reason
    assert "no Amazon Linux 2 AMI for Kubernetes 1.33" in reason
    assert "--node-labels=team=memory (spec.kubelet.flags)" in reason
    assert "--max-pods=58 (spec.kubelet.config.maxPods)" in reason
    assert "+              kind: NodeConfig" in step.template.diff
    assert "-              /etc/eks/bootstrap.sh ${ClusterName} ${BootstrapArguments}" in (
        step.template.diff
    )
    body = yaml.safe_load(step.template.body)
    assert {"ClusterEndpoint", "ClusterCertificateAuthority", "ServiceCidr"} <= set(
        body["Parameters"]
    )
    roll = next(s for s in p.steps if isinstance(s, NodegroupRollStep) and s.stack == MEMORY)
    assert p.steps.index(roll) == p.steps.index(step) + 1
    row = next(r for r in p.context.nodegroups if r.stack == MEMORY)
    assert row.image_to == AL2023_133


def test_two_hops_move_the_group_at_its_one_roll_and_advance_knows_it() -> None:
    state = al2("1.31")
    p = plan(state)
    assert not p.blocked, p.findings
    (step,) = memory_steps(p)  # kubelet skew 3: one roll, at the last hop
    assert step.id == "nodegroup-stack-memory@1.33"
    assert dict(step.parameters)["NodeImageIdSSMParam"] == AL2023_133
    assert step.template is not None and "Amazon Linux 2023" in step.template.reason
    # the state the last hop leaves: the group's stack is on AL2023 and nodeadm
    cfg = config(state, target="1.33")
    current = state
    for hop in hop_targets(state, cfg):
        one = make_plan(current, hop.config, templates=rendered_templates(current, hop.config))
        current = advance(current, hop, one)
    stack = current.stack(MEMORY)
    assert stack is not None and stack.parameter("NodeImageIdSSMParam") == AL2023_133
    assert "kind: NodeConfig" in stack.template_body
    assert current.cluster.version == "1.33"
    assert rendered_templates(current, config(current, target="1.33")) == {}  # nothing left


def test_a_group_rolled_at_1_32_and_1_33_moves_only_at_1_33() -> None:
    state = al2("1.31")
    cfg = config(state, target="1.33")
    hops = hop_targets(state, cfg)
    first = make_plan(state, hops[0].config, templates=rendered_templates(state, hops[0].config))
    assert all(s.template is None for s in memory_steps(first))  # 1.32 still has AL2


def test_1_32_keeps_amazon_linux_2() -> None:
    (step,) = memory_steps(plan(al2("1.31"), "1.32"))
    assert "/amazon-linux-2/" in dict(step.parameters)["NodeImageIdSSMParam"]
    assert step.template is None


def test_ami001_blocks_user_data_that_cannot_be_carried_over() -> None:
    state = al2("1.32", "--container-runtime dockerd", extra="amazon-linux-extras install -y x\n")
    p = plan(state)
    assert p.blocked
    (finding,) = [f for f in p.findings if f.id == "AMI001"]
    assert finding.severity is Severity.BLOCKING and finding.subject == f"stack {MEMORY}"
    assert "`--container-runtime dockerd`" in finding.message
    assert "`amazon-linux-extras install -y x`" in finding.message
    assert "NodeConfig" in finding.message and "plan again" in finding.message


def test_ami001_passes_portable_user_data_and_groups_staying_on_al2() -> None:
    state = al2("1.32")
    assert [
        f for f in run(gate_inputs(state, config(state, target="1.33"))) if f.id == "AMI001"
    ] == []
    bad = al2("1.31", "--enable-docker-bridge true")
    assert [f for f in run(gate_inputs(bad, config(bad, target="1.32"))) if f.id == "AMI001"] == []
    assert rule("AMI001").severity is Severity.BLOCKING


def test_the_rendered_template_is_deterministic_and_keeps_everything_else() -> None:
    state = al2("1.32")
    stack = state.stack(MEMORY)
    assert stack is not None
    one, two = migrate_al2023(stack, max_pods=None), migrate_al2023(stack, max_pods=None)
    assert one == two
    body = yaml.safe_load(one)
    before = yaml.safe_load(
        stack.template_body.replace("!Base64", "")
        .replace("!Not", "")
        .replace("!Equals", "")
        .replace("!Ref", "")
        .replace("!If", "")
        .replace("!GetAtt", "")
    )
    assert set(body["Resources"]) == set(before["Resources"])
    data = body["Resources"]["NodeLaunchTemplate"]["Properties"]["LaunchTemplateData"]
    assert data["InstanceType"] == {"Ref": "NodeInstanceType"}
    user_data = data["UserData"]["Fn::Base64"]["Fn::Sub"]
    assert user_data.startswith("MIME-Version: 1.0\n") and "bootstrap.sh" not in user_data
    # the migrated user data reads back as no bootstrap.sh call
    assert read_bootstrap("NodeLaunchTemplate", data["UserData"], {}).problems


def test_the_runbook_says_the_group_moves_and_what_was_carried() -> None:
    book = render(plan(al2("1.32")))
    assert "so the group moves to Amazon Linux 2023 and its user data" in book
    assert "--node-labels=team=memory (spec.kubelet.flags)" in book
    assert "kind: NodeConfig" in book  # the diff


def test_the_runbook_of_a_blocked_plan_says_what_to_port() -> None:
    book = render(plan(al2("1.32", "--enable-docker-bridge true")))
    assert "**Port first (AMI001):**" in book
    assert "`--enable-docker-bridge true`: AL2023 runs containerd only" in book


def test_max_pods_follows_prefix_delegation_when_the_call_set_none() -> None:
    state = al2("1.32", "")
    plain = max_pods_settings(state, config(state, target="1.33"))
    assert plain == {MEMORY: None}  # nodeadm's own ENI-formula default, as AL2's table
    cfg = config(state, target="1.33", env={"ENABLE_PREFIX_DELEGATION": "true"})
    (pods,) = max_pods_settings(state, cfg).values()
    assert pods == 110  # r5.xlarge: 4 vCPUs, the max-pods calculator's cap
    body = rendered_templates(state, cfg)[MEMORY]
    assert "maxPods: 110" in body


def test_a_2019_stack_on_a_launch_configuration_moves_to_a_launch_template_and_al2023() -> None:
    state = al2("1.32", "--kubelet-extra-args '--node-labels=x=y'", template=aws_2019_nodegroup())
    p = plan(state)
    assert not p.blocked, p.findings
    (step,) = memory_steps(p)
    assert step.template is not None
    reason = step.template.reason
    assert reason.index("launch configuration NodeLaunchConfig") < reason.index("Amazon Linux 2023")
    body = yaml.safe_load(step.template.body)
    assert "NodeLaunchConfig" not in body["Resources"]
    data = body["Resources"]["NodeLaunchTemplate"]["Properties"]["LaunchTemplateData"]
    text = data["UserData"]["Fn::Base64"]["Fn::Sub"]
    assert "kind: NodeConfig" in text and "/opt/aws/bin/cfn-signal --exit-code $?" in text


def test_cfn_lint_finds_no_error_in_the_migrated_2019_template() -> None:
    state = al2("1.32", LABELS, template=aws_2019_nodegroup())
    body = rendered_templates(state, config(state, target="1.33"))[MEMORY]
    assert not [f for f in lint(body) if f.severity == "error"]
    assert not [f for f in lint(body) if f.path[:2] == ("Parameters", "ServiceCidr")]
