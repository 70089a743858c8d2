"""Everything discovery found about one cluster, and its fingerprint."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from upgrader.model.aws import (
    AutoScalingGroup,
    EksCluster,
    Eni,
    Instance,
    ManagedNodegroup,
    Pairs,
    Stack,
    Subnet,
)
from upgrader.model.kube import DaemonSet, LiveObject, Node, Pdb, Pod, Workload


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterState:
    """The discovered state a plan is made from (AWS and Kubernetes, one region)."""

    region: str
    cluster: EksCluster
    subnets: tuple[Subnet, ...]
    stacks: tuple[Stack, ...]
    asgs: tuple[AutoScalingGroup, ...]
    managed_nodegroups: tuple[ManagedNodegroup, ...]
    instances: tuple[Instance, ...]
    enis: tuple[Eni, ...]
    ami_parameters: Pairs  # SSM path -> AMI ID, for the versions the plan may need
    server_version: str  # /version gitVersion
    nodes: tuple[Node, ...]
    pods: tuple[Pod, ...]
    daemonsets: tuple[DaemonSet, ...]
    workloads: tuple[Workload, ...]
    pdbs: tuple[Pdb, ...]
    live_objects: tuple[LiveObject, ...] = ()

    def subnet(self, subnet_id: str) -> Subnet | None:
        return next((s for s in self.subnets if s.subnet_id == subnet_id), None)

    def stack(self, name: str) -> Stack | None:
        return next((s for s in self.stacks if s.name == name), None)

    def daemonset(self, namespace: str, name: str) -> DaemonSet | None:
        return next(
            (d for d in self.daemonsets if d.namespace == namespace and d.name == name), None
        )

    def workload(self, kind: str, namespace: str, name: str) -> Workload | None:
        return next(
            (
                w
                for w in self.workloads
                if w.kind == kind and w.namespace == namespace and w.name == name
            ),
            None,
        )

    def pods_on(self, node: str) -> tuple[Pod, ...]:
        return tuple(p for p in self.pods if p.node == node)

    def fingerprint(self) -> str:
        """Hash of what the plan's steps derive from.

        Versions, stacks (status, parameters, template), node groups and their
        instances, nodes, add-on specs and PDB specs. Pods, free addresses and
        PDB counters are left out: they move all the time, and every gate
        re-measures them live right before its step.
        """
        doc = {
            "region": self.region,
            "cluster": [self.cluster.name, self.cluster.version, self.cluster.status],
            "stacks": sorted(
                [
                    s.name,
                    s.status,
                    list(s.parameters),
                    hashlib.sha256(s.template_body.encode()).hexdigest(),
                    sorted(c.name for c in s.change_sets if not c.created_by_upgrader),
                ]
                for s in self.stacks
            ),
            "asgs": sorted(
                [
                    a.name,
                    a.launch_template_id,
                    a.launch_template_version,
                    a.launch_configuration,
                    a.min_size,
                    a.max_size,
                    a.desired,
                    sorted(a.instance_ids),
                ]
                for a in self.asgs
            ),
            "managed": sorted(
                [m.name, m.version, m.release_version, m.desired] for m in self.managed_nodegroups
            ),
            "nodes": sorted([n.name, n.instance_id, n.kubelet_version] for n in self.nodes),
            "daemonsets": sorted(
                [d.namespace, d.name, [[c.image, list(c.env)] for c in d.containers]]
                for d in self.daemonsets
            ),
            "workloads": sorted(
                [w.kind, w.namespace, w.name, [c.image for c in w.containers]]
                for w in self.workloads
                if w.namespace == "kube-system"
            ),
            "pdbs": sorted(
                [p.namespace, p.name, p.min_available, p.max_unavailable, list(p.selector)]
                for p in self.pdbs
            ),
        }
        text = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
