"""apply's logic on fakes of every outside call (``tests/support/fake_cluster.py``) and a
fake clock: waves, surge and drain, the per-node CNI gate and the #59 remediation, restore
on every failure path, and resuming from each journal state. The same code runs end to end
against the twin in ``tests/integration/test_apply_*.py``; here it runs in seconds."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from tests.support.fake_cluster import FOREVER, FakeAws, FakeKube, FakeWorld, eviction_failure
from tests.unit.cluster_states import ECR, config, staging, with_unowned
from upgrader.adapters.errors import CloudError, CloudUnreachableError
from upgrader.config import Config
from upgrader.errors import ExitCode, UpgraderError
from upgrader.executor.journal import JOURNAL_NAME, NAMESPACE, Journal
from upgrader.executor.progress import Event
from upgrader.executor.run import ApplyResult, Outside, run_plan
from upgrader.executor.session import JOURNAL_KEY, Session
from upgrader.executor.verify import STARTING_SECONDS, verify
from upgrader.model.actions import Rollout
from upgrader.model.plan import Plan
from upgrader.model.state import ClusterState
from upgrader.model.steps import StepKind, VerifyStep
from upgrader.planner import make_plan

ENV = {"WARM_ENI_TARGET": "1"}
HOLDER = "test-host/1/abc"


def _daemonset(name: str, image: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": "kube-system"},
        "spec": {
            "selector": {"matchLabels": {"k8s-app": name}},
            "template": {"spec": {"containers": [{"name": name, "image": image}]}},
        },
    }


MANIFESTS = {
    "kube-proxy": [_daemonset("kube-proxy", f"{ECR}/eks/kube-proxy:v1.13.12")],
    "coredns": [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "coredns", "namespace": "kube-system"},
            "spec": {"selector": {"matchLabels": {"k8s-app": "kube-dns"}}},
        }
    ],
    "aws-node@v1.4.1": [_daemonset("aws-node", f"{ECR}/amazon-k8s-cni:v1.4.1")],
    "aws-node@v1.5.5": [_daemonset("aws-node", f"{ECR}/amazon-k8s-cni:v1.5.5")],
}


class Run:
    """One staging cluster in a fake world, its plan, and the events of every apply."""

    def __init__(self, state: ClusterState | None = None, **gates: int) -> None:
        state = state or staging()
        self.config: Config = config(state, target="1.13", cni="v1.5.5", env=ENV, gates=gates)
        self.plan: Plan = make_plan(state, self.config, manifests=MANIFESTS)
        assert not self.plan.blocked, self.plan.findings
        self.world = FakeWorld(state=state, target="1.13")
        self.events: list[Event] = []
        self.old = tuple(i.instance_id for i in state.instances)

    def apply(self) -> ApplyResult:
        outside = Outside(
            aws=FakeAws(self.world),
            kube=FakeKube(self.world),
            discover=self.world.discover,
            clock=self.world.clock,
        )
        return run_plan(
            self.plan.dumps(),
            self.plan,
            self.config,
            outside,
            sink=self.events.append,
            holder=HOLDER,
        )

    def fails(self) -> UpgraderError:
        with pytest.raises(UpgraderError) as caught:
            self.apply()
        return caught.value

    def journal(self) -> Journal:
        data = self.world.config_maps[(NAMESPACE, JOURNAL_NAME)]
        return Journal.from_json(data[JOURNAL_KEY])

    def said(self, kind: str) -> list[str]:
        return [e.message for e in self.events if e.kind == kind]

    @property
    def asg(self) -> Any:
        (group,) = self.world.state.asgs
        return group

    def terminated(self) -> list[str]:
        return [str(args[0]) for name, args in self.world.calls if name == "terminate"]

    def assert_upgraded(self) -> None:
        state = self.world.state
        assert {n.kubelet_version for n in state.nodes} == {"v1.13.0-eks"}
        assert sorted(self.terminated()) == sorted(self.old)  # each old node once
        assert (self.asg.desired, self.asg.min_size, self.asg.max_size) == (2, 2, 4)
        assert self.asg.suspended_processes == ()
        assert state.cluster.version == "1.13"
        (aws_node,) = [d for d in state.daemonsets if d.name == "aws-node"]
        assert aws_node.containers[0].image.endswith(":v1.5.5")
        assert not [p for p in state.pods if p.stuck_creating]


def test_a_healthy_apply_runs_every_step_in_order() -> None:
    run = Run()
    result = run.apply()
    assert result.steps_run == tuple(s.id for s in run.plan.steps)
    run.assert_upgraded()
    # the CNI moved one minor per step, each rolled node by node and gated per node
    applied = [args for name, args in run.world.calls if name == "apply"]
    assert [key for kind, key in applied if kind == "DaemonSet"] == [
        ("kube-system", "kube-proxy"),
        ("kube-system", "aws-node"),
        ("kube-system", "aws-node"),
    ]
    assert len([m for m in run.said("gate") if m.startswith("POD001 ok on")]) == 4
    assert run.world.leases[(NAMESPACE, "upgrader-lock")] == ""  # released


def test_fargate_pods_are_restarted_and_karpenter_nodes_reported_behind() -> None:
    """upgrader never rolls Fargate or Karpenter nodes: it restarts the Deployments with
    pods on Fargate after the control-plane step, and verify does not wait for Karpenter
    nodes while their kubelets stay within the skew policy (it says how they follow)."""
    state = with_unowned(staging(), fargate_kubelet="v1.12.10-eks", karpenter_kubelet="v1.12.10")
    run = Run(state)
    run.apply()
    restarted = [args for name, args in run.world.calls if name == "restart_deployment"]
    assert restarted == [("jobs/runner",)]
    fargate = [n for n in run.world.state.nodes if n.name.startswith("fargate-")]
    assert {n.kubelet_version for n in fargate} == {"v1.13.0-eks"}
    info = run.said("info")
    karpenter = next(m for m in info if m.startswith("2 karpenter node(s) are not at 1.13 yet"))
    assert "drift" in karpenter
    assert run.journal().complete


def _verify_session(run: Run) -> tuple[Session, VerifyStep]:
    session = Session(
        plan=run.plan,
        config=run.config,
        aws=FakeAws(run.world),
        kube=FakeKube(run.world),
        journal=Journal(plan="sha256:0", fingerprint=run.plan.fingerprint),
        sink=run.events.append,
        holder=HOLDER,
        clock=run.world.clock,
        discoverer=run.world.discover,
    )
    (step,) = [s for s in run.plan.steps if isinstance(s, VerifyStep)]
    return session, step


def test_verify_fails_on_an_unowned_node_outside_the_skew() -> None:
    """A Fargate node outside the skew policy at the end (its pods were never restarted)
    stops verify, naming the nodes and how they follow."""
    run = Run(with_unowned(staging()))
    run.world.state = replace(
        run.world.state,
        nodes=tuple(
            replace(n, kubelet_version="v1.10.13-eks") if n.name.startswith("fargate-") else n
            for n in run.world.state.nodes
        ),
    )
    session, step = _verify_session(run)
    with pytest.raises(UpgraderError) as caught:
        verify(session, step, cleanup_leaked_enis=False)
    assert caught.value.exit_code == ExitCode.STEP_FAILED
    assert "2 fargate node(s) run a kubelet outside the version-skew policy of 1.13" in (
        caught.value.message
    )
    assert "kubectl rollout restart" in caught.value.message


def _creating(run: Run, count: int) -> list[str]:
    """The first ``count`` pods put in ContainerCreating, as a wave just moved them."""
    pods = list(run.world.state.pods)
    moved = [i for i, p in enumerate(pods) if not p.host_network][:count]
    for i in moved:
        pods[i] = replace(pods[i], phase="Pending", waiting_reason="ContainerCreating")
    run.world.state = replace(run.world.state, pods=tuple(pods))
    return [f"{pods[i].namespace}/{pods[i].name}" for i in moved]


def test_verify_waits_for_pods_the_last_wave_moved_to_start() -> None:
    run = Run()
    run.apply()
    _creating(run, 2)

    def start() -> None:  # the kubelet starts them a few seconds later
        if run.world.clock.slept > 3:
            run.world.state = replace(
                run.world.state,
                pods=tuple(
                    replace(p, phase="Running", waiting_reason=None) for p in run.world.state.pods
                ),
            )

    run.world.clock.on_sleep.append(start)
    session, step = _verify_session(run)
    verify(session, step, cleanup_leaked_enis=False)
    assert "waiting for 2 pod(s) in ContainerCreating to start" in run.said("wait")


def test_verify_fails_on_pods_still_creating_after_the_start_window() -> None:
    run = Run()
    run.apply()
    stuck = _creating(run, 1)
    session, step = _verify_session(run)
    started = run.world.clock.monotonic()
    with pytest.raises(UpgraderError) as caught:
        verify(session, step, cleanup_leaked_enis=False)
    assert f"pod(s) stuck in ContainerCreating: {stuck[0]}" in caught.value.message
    assert run.world.clock.monotonic() - started >= STARTING_SECONDS


def test_every_old_node_still_to_go_is_cordoned_before_a_wave_evicts() -> None:
    """A pod the first wave evicts must not land on the node the second wave drains: both
    old nodes are cordoned before the first eviction; the second stays cordoned (and
    journaled) once the first wave's termination begins."""
    run = Run(max_wave_nodes=1)
    first, second = sorted(n.name for n in run.world.state.nodes)
    run.apply()
    calls = [(name, args) for name, args in run.world.calls if name in ("cordon", "evict")]
    first_evict = next(i for i, (name, _) in enumerate(calls) if name == "evict")
    assert {args[0] for name, args in calls[:first_evict] if name == "cordon"} == {first, second}
    run.assert_upgraded()


def test_a_stop_mid_roll_uncordons_the_old_nodes_a_later_wave_would_have_taken() -> None:
    run = Run(max_wave_nodes=1)
    run.world.autoscaler = 3
    run.world.fail["terminate"] = CloudError("EC2 instance i-1", "boom", "retry")
    _stopped(run)
    # the first wave's node was drained and is due to go; the second is schedulable again
    _assert_restored(run, cordoned=1)
    run.apply()
    run.assert_upgraded()


def test_capacity_allows_one_wave_of_both_nodes() -> None:
    run = Run()
    run.apply()
    sizes = [args[1] for name, args in run.world.calls if name == "set_capacity"]
    assert sizes[0] == 4  # surge both at once: 2 + 2
    assert len(run.said("wave")) == 1


def test_max_wave_nodes_makes_one_wave_per_node_surging_one_each() -> None:
    run = Run(max_wave_nodes=1)
    run.apply()
    waves = [e for e in run.events if e.kind == "wave"]
    assert [e.wave for e in waves] == [(1, 1), (2, 2)]
    surges = [args[1] for name, args in run.world.calls if name == "set_capacity"]
    assert surges[:2] == [3, 3]  # original 2 + 1, again after the first wave's terminate
    # the first wave's node is terminated before the second wave surges
    order = [name for name, _ in run.world.calls if name in ("set_capacity", "terminate")]
    assert order[:4] == ["set_capacity", "terminate", "set_capacity", "terminate"]
    run.assert_upgraded()


def test_a_pdb_429_is_retried_and_named_until_the_budget_allows() -> None:
    run = Run()
    pod = next(p for p in run.world.state.pods if p.owner_kind == "ReplicaSet")
    run.world.refusals[f"{pod.namespace}/{pod.name}"] = 3
    run.apply()
    evictions = [args[0] for name, args in run.world.calls if name == "evict"]
    assert evictions.count(f"{pod.namespace}/{pod.name}") == 4
    assert any(f"refuses to evict {pod.namespace}/{pod.name}" in m for m in run.said("wait"))
    run.assert_upgraded()


def test_a_budget_that_refuses_is_asked_once_per_poll_not_once_per_pod() -> None:
    """Two pods of one ReplicaSet on the drained nodes, the budget refusing: each poll sends
    one eviction for that owner, not one per pod (the rest would get the same 429)."""
    run = Run()
    pods = [p for p in run.world.state.pods if p.owner_kind == "ReplicaSet"]
    owner = pods[0].owner_name
    same = [p for p in pods if p.owner_name == owner]
    assert len(same) >= 2
    for pod in same:
        run.world.refusals[f"{pod.namespace}/{pod.name}"] = 2
    run.apply()
    asked = [args[0] for name, args in run.world.calls if name == "evict"]
    first, second = (f"{p.namespace}/{p.name}" for p in same[:2])
    # the first is refused twice then evicted; the second is not asked while it is refused
    assert asked.count(first) == 3
    assert asked.index(second) > [i for i, a in enumerate(asked) if a == first][1]
    run.assert_upgraded()


def test_a_drain_that_never_ends_fails_the_step_and_restores_everything() -> None:
    run = Run()
    run.world.autoscaler = 2
    pod = next(p for p in run.world.state.pods if p.owner_kind == "ReplicaSet")
    run.world.refusals[f"{pod.namespace}/{pod.name}"] = FOREVER
    error = run.fails()
    assert error.exit_code == ExitCode.STEP_FAILED
    assert f"{pod.namespace}/{pod.name} (PDB {pod.namespace}/pdb)" in error.message
    # the drained nodes schedulable again; the ASG keeps every instance (no undrained node
    # is left to the ASG to pick) with its processes resumed; the autoscaler back at 2
    assert not [n for n in run.world.state.nodes if n.unschedulable]
    assert run.asg.suspended_processes == ()
    assert run.asg.desired == len(run.asg.instance_ids) == 4
    assert run.world.autoscaler == 2
    assert run.world.leases[(NAMESPACE, "upgrader-lock")] == ""


@pytest.mark.parametrize("call", ["set_capacity", "cordon", "terminate", "suspend_processes"])
def test_a_failure_at_any_roll_call_restores_the_group_and_the_autoscaler(call: str) -> None:
    run = Run()
    run.world.autoscaler = 3
    run.world.fail[call] = UpgraderError(f"fake {call}", "failed", "re-run")
    error = run.fails()
    assert error.subject == f"fake {call}"
    assert run.asg.suspended_processes == ()
    assert run.asg.min_size == 2 and run.asg.max_size >= 4
    assert run.asg.desired == len(run.asg.instance_ids)
    assert run.world.autoscaler == 3
    # and the re-run finishes the job, terminating every old node exactly once
    run.apply()
    run.assert_upgraded()


def test_new_nodes_that_never_come_ready_time_out_and_restore() -> None:
    run = Run()
    run.world.boot_seconds = 10**6
    error = run.fails()
    assert error.exit_code == ExitCode.STEP_FAILED
    assert "new node(s) of workers Ready at 1.13" in error.message
    assert run.asg.suspended_processes == ()
    assert run.terminated() == []  # no old node goes before its replacement is Ready


def test_59_a_stuck_node_gets_its_aws_node_restarted_once_then_passes() -> None:
    run = Run()
    node = sorted(n.name for n in run.world.state.nodes)[0]
    run.world.stuck_nodes[node] = 1  # the upgrade's restart sticks; the next one heals
    run.apply()
    deleted = [args[0] for name, args in run.world.calls if name == "delete_pod"]
    assert len(deleted) == 1 and str(deleted[0]).startswith("kube-system/aws-node")
    assert any("restarting its aws-node once" in m for m in run.said("gate"))
    assert any(f"#59 remediated by restarting aws-node on {node}" in m for m in run.said("gate"))
    run.assert_upgraded()


def test_59_a_node_still_stuck_after_the_second_restart_stops_with_the_diagnosis() -> None:
    run = Run()
    node = sorted(n.name for n in run.world.state.nodes)[0]
    run.world.stuck_nodes[node] = FOREVER
    error = run.fails()
    assert error.exit_code == ExitCode.STEP_FAILED  # the CNI step started: re-run resumes
    assert error.subject == f"node {node}"
    assert "ContainerCreating after aws-node restarted twice" in error.message
    assert "IPAMD004" in error.message and "free address" in error.message
    assert run.world.count("delete_pod") == 1  # remediated once, never in a loop
    journal = run.journal()
    assert any("IPAMD004" in note for note in journal.notes)


def test_a_stuck_node_on_a_dry_subnet_stops_at_once_naming_the_subnet() -> None:
    run = Run()
    node = sorted(n.name for n in run.world.state.nodes)[0]
    run.world.stuck_nodes[node] = FOREVER
    run.world.ipamd_full.add(node)
    instance = next(n.instance_id for n in run.world.state.nodes if n.name == node)
    subnet = next(i.subnet_id for i in run.world.state.instances if i.instance_id == instance)
    enis = tuple(
        e for e in run.world.state.enis if e.instance_id != instance or e.eni_id[-1] in "01"
    )
    subnets = tuple(
        replace(s, available_ips=6) if s.subnet_id == subnet else s for s in run.world.state.subnets
    )
    run.world._set(enis=enis, subnets=subnets)  # two ENIs attached: room for a third, no addresses
    error = run.fails()
    assert error.exit_code == ExitCode.STEP_FAILED
    assert "IPAMD001" in error.message and subnet in error.message
    assert run.world.count("delete_pod") == 0  # a restart cannot create addresses


JOURNAL_WRITES = 25  # a healthy apply of this plan: fingerprint, every step's start and
# finish, each CNI step's aws-node pods before it, the ASG snapshot, the autoscaler, the
# wave's cordoned nodes (set, then cleared when their termination begins), each terminate,
# and "complete"


def test_the_journal_is_written_at_every_state() -> None:
    run = Run()
    run.apply()
    assert run.world.count("write_config_map") == JOURNAL_WRITES


@pytest.mark.parametrize("crash_at", range(1, JOURNAL_WRITES + 1))
def test_a_stop_anywhere_resumes_to_the_same_end(crash_at: int) -> None:
    """Stop right after each journal write in turn: the re-run reads the journal back from
    the cluster and finishes the job, terminating every old node once."""
    run = Run()
    writes = 0
    original = FakeKube.write_config_map

    def crashing(self: FakeKube, name: str, namespace: str, data: dict[str, str]) -> None:
        nonlocal writes
        original(self, name, namespace, data)
        writes += 1
        if name == JOURNAL_NAME and writes == crash_at:
            raise UpgraderError("fake stop", f"after journal write {crash_at}", "re-run")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(FakeKube, "write_config_map", crashing)
        with pytest.raises(UpgraderError, match="fake stop"):
            run.apply()
    result = run.apply()
    assert result.resumed
    run.assert_upgraded()
    assert run.apply().already_done  # a third run has nothing to do


def test_a_cni_step_resumed_after_a_stop_gates_the_nodes_restarted_before_it() -> None:
    run = Run()
    node = sorted(n.name for n in run.world.state.nodes)[0]  # the first the rollout restarts
    run.world.stuck_nodes[node] = 1  # stuck after the upgrade's restart, healed by the next
    original = FakeKube.daemonset_rollout
    stopped = False

    def stopping(self: FakeKube, namespace: str, name: str) -> Rollout:
        nonlocal stopped
        rollout = original(self, namespace, name)
        if name == "aws-node" and 0 < rollout.updated < rollout.desired and not stopped:
            stopped = True
            raise UpgraderError("fake stop", "mid CNI rollout, a node restarted", "re-run")
        return rollout

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(FakeKube, "daemonset_rollout", stopping)
        error = run.fails()
        assert error.subject == "fake stop"
        assert [p for p in run.world.state.pods if p.node == node and p.stuck_creating]
        run.apply()
    assert any(f"stuck ContainerCreating on {node}" in m for m in run.said("gate"))
    run.assert_upgraded()


def test_resume_skips_the_steps_the_journal_has_done() -> None:
    run = Run()
    run.world.fail["cordon"] = UpgraderError("fake", "stop in the roll", "re-run")
    run.fails()
    applied_before = run.world.count("apply")
    result = run.apply()
    assert result.steps_run[0] == "nodegroup-roll-workers"
    assert run.world.count("apply") == applied_before  # add-ons not applied again
    assert [s for s in run.plan.steps if s.kind is StepKind.VERIFY]


def test_another_holder_of_the_lock_is_exit_6() -> None:
    run = Run()
    run.world.leases[(NAMESPACE, "upgrader-lock")] = "other-host/99/xyz"
    error = run.fails()
    assert error.exit_code == ExitCode.LOCKED
    assert "other-host/99/xyz" in error.message
    assert run.world.count("set_capacity") == 0


def test_a_cluster_changed_since_planning_is_exit_5() -> None:
    run = Run()
    state = run.world.state
    run.world.state = replace(state, asgs=(replace(state.asgs[0], max_size=9),))
    error = run.fails()
    assert error.exit_code == ExitCode.STALE_PLAN
    assert run.world.count("execute_change_set") == 0


# apply's failure contract: an outside call failing mid-step is exit 4 naming the step, the
# call and its cause; everything apply changed is put back; the re-run resumes.


def _stopped(run: Run) -> UpgraderError:
    error = run.fails()
    assert error.exit_code == ExitCode.STEP_FAILED, error.render()
    assert error.subject == "step nodegroup-roll-workers"
    return error


def _assert_restored(run: Run, *, cordoned: int = 0) -> None:
    assert run.asg.suspended_processes == ()
    assert run.asg.min_size == 2 and run.asg.desired == len(run.asg.instance_ids)
    assert run.world.autoscaler == 3
    assert len([n for n in run.world.state.nodes if n.unschedulable]) == cordoned
    assert run.world.leases[(NAMESPACE, "upgrader-lock")] == ""
    journal = run.world.config_maps[(NAMESPACE, JOURNAL_NAME)]["journal.json"]
    assert '"current": "nodegroup-roll-workers"' in journal  # the re-run resumes the step


def test_an_aws_throttle_mid_wave_is_exit_4_naming_the_call_and_restores() -> None:
    run = Run()
    run.world.autoscaler = 3
    run.world.fail["set_capacity"] = CloudError(
        "Auto Scaling group workers-asg",
        "UpdateAutoScalingGroup failed: Throttling: Rate exceeded",
        "retry; if it keeps failing, check the AWS service health and this message",
    )
    error = _stopped(run)
    assert "UpdateAutoScalingGroup failed: Throttling: Rate exceeded" in error.message
    assert "re-run apply: it resumes" in error.hint
    _assert_restored(run)
    assert run.terminated() == []
    run.apply()
    run.assert_upgraded()


def test_a_kubernetes_500_mid_drain_is_exit_4_and_uncordons_the_wave() -> None:
    run = Run()
    run.world.autoscaler = 3
    run.world.fail["evict"] = CloudError(
        "pod app/web-1",
        "evicting it failed: POST /api/v1/namespaces/app/pods/web-1/eviction answered "
        "HTTP 500: Internal error occurred",
        "retry; if it keeps failing, check the object and the API server's health",
    )
    error = _stopped(run)
    assert "POST /api/v1/namespaces/app/pods/web-1/eviction answered HTTP 500" in error.message
    _assert_restored(run)  # the wave had not begun terminating: its nodes schedulable again
    assert run.world.count("uncordon") == 2
    assert run.terminated() == []
    run.apply()
    run.assert_upgraded()


def test_an_unexpected_eviction_answer_is_exit_4_naming_the_call() -> None:
    """The error KubeActions.evict raises for a status other than 2xx, 404 and 429."""
    unexpected = eviction_failure(422, 'Eviction.policy "web-1" is invalid')
    run = Run()
    run.world.autoscaler = 3
    run.world.fail["evict"] = unexpected
    error = _stopped(run)
    assert "/eviction answered HTTP 422" in error.message
    assert "is invalid" in error.message
    _assert_restored(run)


def test_a_failure_once_termination_began_keeps_the_drained_nodes_cordoned() -> None:
    run = Run()
    run.world.autoscaler = 3
    run.world.fail["terminate"] = CloudError(
        "EC2 instance i-1",
        "TerminateInstanceInAutoScalingGroup failed: InternalFailure: boom",
        "retry",
    )
    error = _stopped(run)
    assert "TerminateInstanceInAutoScalingGroup" in error.message
    _assert_restored(run, cordoned=2)  # drained and due to go: never schedulable again
    run.apply()
    run.assert_upgraded()


def test_restore_tries_every_part_and_reports_what_it_could_not_put_back() -> None:
    run = Run()
    run.world.autoscaler = 3
    run.world.fail["evict"] = CloudError("pod a/b", "evicting it failed", "retry")
    run.world.fail["resume_processes"] = CloudError("ASG workers", "ResumeProcesses failed", "x")
    _stopped(run)
    assert any("could not put back ASG" in m and "ResumeProcesses" in m for m in run.said("stop"))
    assert run.world.autoscaler == 3  # the autoscaler came back all the same
    assert not [n for n in run.world.state.nodes if n.unschedulable]


def test_a_cluster_unreachable_before_the_first_step_stays_exit_2() -> None:
    run = Run()
    run.world.fail["discover"] = CloudUnreachableError(
        "Kubernetes API https://127.0.0.1:1", "GET /version: no answer after 6 attempt(s)", "check"
    )
    error = run.fails()
    assert error.exit_code == ExitCode.BAD_INPUT
    assert run.world.count("set_capacity") == 0


def test_an_outside_failure_before_any_step_is_exit_4() -> None:
    run = Run()
    run.world.fail["discover"] = CloudError("EKS cluster staging", "DescribeCluster failed", "x")
    error = run.fails()
    assert error.exit_code == ExitCode.STEP_FAILED
    assert "outside any step" in error.subject and "DescribeCluster failed" in error.message
