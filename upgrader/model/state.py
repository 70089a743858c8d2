"""Everything discovery found about one cluster, and its fingerprint."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from upgrader.model.addons import AddonVersions, EksAddon
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
from upgrader.model.insights import NO_INSIGHTS, UpgradeInsights
from upgrader.model.kube import DaemonSet, LiveObject, Node, Pdb, Pod, Workload
from upgrader.model.unowned import FargateProfile, NodeClass, NodePool, node_owner


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
    insights: UpgradeInsights = NO_INSIGHTS  # EKS upgrade insights (not hashed)
    addons: tuple[EksAddon, ...] = ()  # EKS managed add-ons
    addon_versions: tuple[AddonVersions, ...] = ()  # DescribeAddonVersions (not hashed)
    fargate_profiles: tuple[FargateProfile, ...] = ()
    nodepools: tuple[NodePool, ...] = ()  # Karpenter
    nodeclasses: tuple[NodeClass, ...] = ()  # Karpenter EC2NodeClasses

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

    def addon_versions_for(self, addon: str, kubernetes: str) -> AddonVersions | None:
        return next(
            (v for v in self.addon_versions if (v.addon, v.kubernetes) == (addon, kubernetes)),
            None,
        )

    def pods_on(self, node: str) -> tuple[Pod, ...]:
        return tuple(p for p in self.pods if p.node == node)

    def fingerprint(self) -> str:
        """Hash of what the plan's steps derive from.

        Versions, stacks (status, parameters, template), node groups and their
        instances, nodes, add-on specs, EKS managed add-ons (version,
        configurationValues, role, stack) and PDB specs. Pods, free addresses, PDB
        counters and Fargate and Karpenter nodes are left out: they move all the
        time, and every gate re-measures them live right before its step.
        EKS upgrade insights are left out too: EKS refreshes them by itself (times,
        counts), and INS001 re-reads them right before the control-plane step.
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
            # Fargate and Karpenter nodes come and go by themselves; VER001 re-counts them live
            "nodes": sorted(
                [n.name, n.instance_id, n.kubelet_version]
                for n in self.nodes
                if node_owner(n) is None
            ),
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
        if self.addons:  # only when present: fingerprints of clusters without stay as they were
            doc["addons"] = [a.fingerprint() for a in sorted(self.addons, key=lambda a: a.name)]
        text = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
