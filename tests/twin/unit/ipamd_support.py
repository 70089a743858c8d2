"""The twin's ipamd on the in-process EC2 twin: instances launched in fresh subnets, pods
asking for addresses, virtual time advanced pass by pass (no HTTP call is made)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from ekstwin.aws import AwsTwin
from ekstwin.clock import VirtualClock
from ekstwin.controllers.ipamd import Ipamd, IpamdConfig, NodePool
from ekstwin.controllers.maxpods import kubelet_max_pods
from upgrader.catalog.instances import bundled
from upgrader.semver import Version

REGION = "us-west-2"
PASS = 5.0


class Ec2World:
    """One EC2 twin per test module; every test takes fresh subnets."""

    def __init__(self) -> None:
        self.clock = VirtualClock(speed=1.0, wall=lambda: 0.0)
        self.twin = AwsTwin(self.clock, region=REGION)
        self.twin.start()  # activates the twin's EC2 behaviour; the tests call it in-process
        self.twin.seed_eks_amis()
        self.ipamd = Ipamd(self.twin, self.clock)
        self._net = itertools.count(1)

    def subnet(self, prefix: int = 24) -> str:
        return self.subnets(1, prefix)[0]

    def subnets(self, count: int, prefix: int = 24) -> list[str]:
        """``count`` subnets of one fresh VPC, all in us-west-2a."""
        n = next(self._net)
        vpc = self.twin.create_vpc(f"10.{n}.0.0/16", f"vpc-{n}")
        return [
            self.twin.create_subnet(vpc, f"10.{n}.{64 * i}.0/{prefix}", "us-west-2a", f"s{n}{i}")
            for i in range(count)
        ]

    def launch(self, instance_type: str, subnet: str) -> str:
        with self.twin.lock:
            reservation = self.twin.ec2.run_instances(
                self.twin.ami_for("1.13"),
                1,
                "",
                [],
                subnet_id=subnet,
                instance_type=instance_type,
                is_instance_type_default=False,
            )
        return str(reservation.instances[0].id)

    def free(self, subnet: str) -> int:
        return self.twin.subnet_free(subnet)


class Node:
    """One instance with its ipamd; ``start`` runs aws-node of ``version`` with ``env``."""

    _ids = itertools.count(1)

    def __init__(
        self, world: Ec2World, instance_type: str, subnet: str, *, max_pods: int | None = None
    ) -> None:
        self.world = world
        self.subnet = subnet
        self.instance_id = world.launch(instance_type, subnet)
        self.name = f"node-{next(self._ids)}"
        self.pool = NodePool(
            instance_id=self.instance_id,
            instance_type=instance_type,
            subnet_id=subnet,
            az="us-west-2a",
            max_pods=max_pods or kubelet_max_pods(bundled().get(instance_type)),
        )
        world.ipamd.add_node(self.name, self.pool)
        self._pods = itertools.count(1)
        self._cni = itertools.count(1)

    def start(self, version: str, **env: str) -> Node:
        config = IpamdConfig.from_env(Version.parse(version), env)
        self.world.ipamd.cni_started(self.name, f"aws-node-{next(self._cni)}", config)
        self.world.ipamd.reconcile(self.name)
        return self

    def passes(self, count: int = 1) -> None:
        """``count`` pool-manager passes, 5 virtual seconds apart."""
        for _ in range(count):
            self.world.clock.advance(PASS)
            self.world.ipamd.reconcile(self.name)

    def pods(self, count: int) -> list[str | None]:
        """``count`` new pods ask for an address, one pass between each (as pods trickle in)."""
        got = []
        for _ in range(count):
            got.append(self.world.ipamd.assign(self.name, f"{self.name}-pod-{next(self._pods)}"))
            self.passes()
        return got

    def delete(self, *uids: str) -> None:
        for uid in uids:
            self.world.ipamd.release(self.name, uid)

    def enis(self) -> list[Any]:
        return self.world.twin.enis_of(self.instance_id)

    def shape(self) -> list[int]:
        """Secondary IPs on each attached ENI, by device index."""
        return [len(e.secondary_ips) for e in self.enis()]

    def log(self) -> str:
        return "\n".join(line for _, line in self.pool.log)


@pytest.fixture(scope="module")
def world() -> Iterator[Ec2World]:
    made = Ec2World()
    yield made
    made.twin.stop()
