"""One pass of ipamd's pool manager (every 5 s of virtual time), per release.

v1.5+ (v1.5.5/v1.6.4:ipamd.go updateIPPoolIfRequired, HEAD updateIPPoolIfRequired):
``if tooLow: increase elif tooHigh: decrease; if shouldRemoveExtraENIs: tryFreeENI``.
v1.3/v1.4 (v1.3.2:ipamd/ipamd.go): ``retryAllocENIIP; if tooLow: increaseIPPool elif
tooHigh: decreaseIPPool`` (whole ENIs only). Each rule cites R§ of research/vpc-cni.md.
"""

from __future__ import annotations

from ekstwin.aws import AwsError
from ekstwin.controllers.ipamd.awsutils import ATTACH_LIMIT, LIMIT_EXCEEDED, SHORT_SUBNET, Ec2
from ekstwin.controllers.ipamd.datastore import EniEntry
from ekstwin.controllers.ipamd.node import NodePool
from ekstwin.controllers.ipamd.release import (
    DECREASE_INTERVAL,
    ENI_COOLING_SECONDS,
    ENI_MIN_LIFETIME,
    INSUFFICIENT_BACKOFF,
    PREFIX_SIZE,
    RECONCILE_SECONDS,
)


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def targets(p: NodePool) -> tuple[int, int]:
    """(short, over) of WARM_IP_TARGET/MINIMUM_IP_TARGET, in prefixes under PD
    (ipTargetState v1.6.4; datastoreTargetState HEAD; R§2.3)."""
    assert p.config is not None
    ds, w, m = p.datastore, p.config.warm_ip_target, p.config.minimum_ip_target
    short = max(w - ds.available, 0, m - ds.total)
    over = max(min(max(ds.available - w, 0), ds.total - m), 0)
    if not p.pd:
        return short, over
    need_w = _ceil(ds.assigned_count + w, PREFIX_SIZE)
    free = len(ds.free_prefixes())
    over_p = max(
        min(free, ds.total_prefixes - need_w, ds.total_prefixes - _ceil(m, PREFIX_SIZE)), 0
    )
    return _ceil(short, PREFIX_SIZE), over_p


def _warm_target(p: NodePool) -> int:
    assert p.config is not None
    return p.config.warm_prefix_target if p.pd else p.config.warm_eni_target


def too_low(p: NodePool) -> bool:
    """isDatastorePoolTooLow / nodeIPPoolTooLow (R§2.3)."""
    assert p.config is not None
    ds, r = p.datastore, p.release
    if r.max_pods_caps_pool and ds.total >= p.max_pods:  # v1.17.1, #2745
        return False
    if p.config.warm_ip_mode:
        return targets(p)[0] > 0
    warm, per = _warm_target(p), (PREFIX_SIZE if p.pd else p.slots)
    empty = warm == 0 and ds.available == 0 and (p.pd or r.warm_eni_zero_fix)  # #587
    return ds.available < per * warm or empty


def too_high(p: NodePool) -> bool:
    """Only WARM_IP_TARGET/MINIMUM or WARM_PREFIX_TARGET ever trim single addresses."""
    assert p.config is not None
    if p.config.warm_ip_mode:
        return targets(p)[1] > 0
    return p.pd and len(p.datastore.free_prefixes()) > p.config.warm_prefix_target


def should_remove_extra(p: NodePool) -> bool:
    """shouldRemoveExtraENIs: always under WARM_IP_TARGET, else a whole spare ENI beyond W."""
    assert p.config is not None
    ds = p.datastore
    if p.config.warm_ip_mode:
        return True
    if ds.available >= (_warm_target(p) + 1) * p.slots * p.unit:
        return True
    return p.pd and any(not e.primary and not ds.assigned_on(e) for e in ds.enis.values())


def prefixes_needed(p: NodePool) -> int:
    """getPrefixesNeeded (HEAD): at least one; WARM_IP_TARGET beats WARM_PREFIX_TARGET."""
    assert p.config is not None
    if p.config.warm_ip_mode:
        return max(1, targets(p)[0])
    return max(1, p.config.warm_prefix_target - len(p.datastore.free_prefixes()))


def eni_resources(p: NodePool) -> int:
    """What a new ENI asks for (GetENIResourcesToAllocate; v1.5 tryAllocateENI)."""
    assert p.config is not None
    if p.pd:
        return min(prefixes_needed(p), p.slots)
    if p.config.warm_ip_mode:
        return min(targets(p)[0], p.slots)
    return p.slots


def allocatable(p: NodePool) -> list[EniEntry]:
    """ENIs with a free slot; never the primary under custom networking (R§2.5)."""
    assert p.config is not None
    skip_primary = p.config.custom_networking
    return [
        e
        for e in p.datastore.ordered()
        if not (skip_primary and e.primary) and p.datastore.units(e) < p.slots
    ]


def sync_eni(p: NodePool, ec2: Ec2, eni_id: str, now: float) -> bool:
    """Re-read one ENI's addresses from EC2 into the datastore; True if they changed."""
    found = next((a for a in ec2.attached() if a.eni_id == eni_id), None)
    entry = p.datastore.enis.get(eni_id)
    if found is None:
        return False
    if entry is None:
        p.datastore.enis[eni_id] = EniEntry(
            eni_id=eni_id,
            device_index=found.device_index,
            primary=found.device_index == 0,
            subnet_id=found.subnet_id,
            created=now,
            ips=list(found.ips),
            prefixes=list(found.prefixes),
        )
        return True
    before = (list(entry.ips), list(entry.prefixes))
    entry.ips, entry.prefixes = list(found.ips), list(found.prefixes)
    return before != (entry.ips, entry.prefixes)


def _grab(p: NodePool, ec2: Ec2, eni_id: str, count: int) -> None:
    if p.pd:
        ec2.alloc_prefixes(eni_id, count)
    else:
        ec2.alloc_ips(eni_id, count)


def try_assign(p: NodePool, ec2: Ec2, now: float) -> tuple[bool, bool]:
    """tryAssignIPs/tryAssignPrefixes: top up the first ENI with room, falling back to one
    address when EC2 refuses the lot (v1.5.0+). Returns (an ENI was tried, addresses grew)."""
    assert p.config is not None
    warm_ip = p.config.warm_ip_mode
    short = targets(p)[0] if warm_ip else 0
    if warm_ip and short == 0 and not p.pd:
        return False, False
    enis = allocatable(p)
    if not enis:
        return False, False
    eni = enis[0]
    room = p.slots - p.datastore.units(eni)
    if p.pd:
        want = min(room, prefixes_needed(p))
    elif warm_ip and not p.release.top_up_fills_eni:  # v1.9.0 #1279
        want = min(room, short)
    else:
        want = room  # a whole ENI, trimmed later under WARM_IP_TARGET (#730)
    try:
        _grab(p, ec2, eni.eni_id, want)
    except AwsError as err:
        if err.code != LIMIT_EXCEEDED:
            p.say(now, f"failed to allocate all available IP addresses on ENI {eni.eni_id}: {err}")
            try:
                _grab(p, ec2, eni.eni_id, 1)
            except AwsError as again:
                if again.code != LIMIT_EXCEEDED:
                    raise
    return True, sync_eni(p, ec2, eni.eni_id, now)


def _eni_subnet(p: NodePool, now: float) -> str | None:
    """The node's subnet, or its ENIConfig's under custom networking (MyENIConfig)."""
    assert p.config is not None
    if not p.config.custom_networking:
        return p.subnet_id
    if p.eniconfig_subnet is None:
        p.error(now, f"Failed to get pod ENI config {p.eniconfig_name!r}", "MissingENIConfig")
    return p.eniconfig_subnet


def allocate_eni(p: NodePool, ec2: Ec2, now: float) -> bool:
    """tryAllocateENI: a new ENI with its addresses (one call from v1.16.0; before, a bare
    ENI first, then an AssignPrivateIpAddresses whose failure leaves it short)."""
    subnet = _eni_subnet(p, now)
    count = eni_resources(p)
    if subnet is None or count <= 0:
        return False
    if p.release.creates_eni_with_addresses:
        eni_id = ec2.alloc_eni(subnet, ips=0 if p.pd else count, prefix_count=count if p.pd else 0)
    else:
        eni_id = ec2.alloc_eni(subnet)
        try:
            _grab(p, ec2, eni_id, count)
        except AwsError as err:
            if err.code != LIMIT_EXCEEDED:
                p.say(now, f"Failed to allocate {count} IP addresses on an ENI: {err}")
    p.say(now, f"Successfully created and attached a new ENI {eni_id} to instance")
    sync_eni(p, ec2, eni_id, now)
    return True


def increase(p: NodePool, ec2: Ec2, now: float) -> bool:
    """increaseIPPool (v1.5+) / increaseDatastorePool (HEAD)."""
    r = p.release
    if r.insufficient_backoff and now - p.last_insufficient < INSUFFICIENT_BACKOFF:
        return False
    try:
        tried, grew = try_assign(p, ec2, now)
    except AwsError as err:
        p.error(
            now,
            f"failed to allocate one IP address: {err}",
            fn="increaseIPPoolAllocIPAddressesFailed",
        )
        if r.insufficient_backoff:  # HEAD returns here: no ENI after a failed top-up
            if err.code in SHORT_SUBNET:
                p.last_insufficient = now
            return False
        tried, grew = False, False
    if tried:
        if grew:
            p.last_action = now  # lastNodeIPPoolAction
        return grew
    if len(p.datastore.enis) >= p.max_enis:
        return False
    try:
        added = allocate_eni(p, ec2, now)
    except AwsError as err:
        p.error(
            now,
            f"Failed to increase pool size due to not able to allocate ENI {err}",
            fn="increaseIPPoolAllocENI",
        )
        if r.insufficient_backoff and err.code in SHORT_SUBNET:
            p.last_insufficient = now
        return False
    if added:
        p.last_action = now
    return added


def deletable(p: NodePool, now: float) -> EniEntry | None:
    """getDeletableENI: not primary, older than a minute, nothing cooling, no pods, and
    not needed for WARM_IP_TARGET (v1.5+), MINIMUM_IP_TARGET, WARM_PREFIX_TARGET (v1.9+)."""
    assert p.config is not None
    ds, r, cfg = p.datastore, p.release, p.config
    for e in reversed(ds.ordered()):
        if e.primary or now - e.created < ENI_MIN_LIFETIME or ds.assigned_on(e):
            continue
        if r.eni_cooling_is_ip_cooldown:
            if ds.cooling_on(e, now):
                continue
        elif now - e.last_unassigned < ENI_COOLING_SECONDS:
            continue
        others = [o for o in ds.enis.values() if o.eni_id != e.eni_id]
        spare = sum(len(ds.addresses(o)) - ds.assigned_on(o) for o in others)
        if r.per_ip_release and cfg.warm_ip_target and spare < cfg.warm_ip_target:
            continue
        if cfg.minimum_ip_target and sum(len(ds.addresses(o)) for o in others) < (
            cfg.minimum_ip_target
        ):
            continue
        if (
            p.pd
            and cfg.warm_prefix_target
            and len(ds.free_prefixes(skip=e.eni_id)) < (cfg.warm_prefix_target)
        ):
            continue
        return e
    return None


def free_eni(p: NodePool, ec2: Ec2, now: float) -> bool:
    """tryFreeENI / decreaseIPPool v1.3: detach and delete one deletable ENI."""
    e = deletable(p, now)
    if e is None:
        return False
    del p.datastore.enis[e.eni_id]
    p.datastore.forget(p.datastore.addresses(e))
    p.say(now, f"Start freeing ENI {e.eni_id}")
    ec2.free_eni(e.eni_id)
    return True


def decrease(p: NodePool, ec2: Ec2, now: float) -> bool:
    """tryUnassignIPsFromAll / tryUnassignCidrsFromAll: return ``over`` unassigned IPs or
    prefixes, newest ENI first (upstream walks a Go map; the order is the twin's choice)."""
    assert p.config is not None
    ds = p.datastore
    if p.config.warm_ip_mode:
        over = targets(p)[1]
    else:
        over = len(ds.free_prefixes()) - p.config.warm_prefix_target
    changed = False
    held = set(ds.assigned.values())
    for e in reversed(ds.ordered()):
        if over <= 0:
            break
        if p.pd:
            free = [q for q in e.prefixes if (e, q) in ds.free_prefixes()][-over:]
            ec2.dealloc_prefixes(e.eni_id, free)
            e.prefixes = [q for q in e.prefixes if q not in free]
        else:
            free = [ip for ip in e.ips if ip not in held][-over:]
            ec2.dealloc_ips(e.eni_id, free)
            e.ips = [ip for ip in e.ips if ip not in free]
            ds.forget(free)
        over -= len(free)
        changed = changed or bool(free)
    p.last_action = now
    return changed


def _v13_target(p: NodePool) -> tuple[bool, int]:
    """(WARM_IP_TARGET set, curIPTarget = target - available) of v1.3 getCurWarmIPTarget."""
    assert p.config is not None
    w = p.config.warm_ip_target
    return w > 0, w - p.datastore.available


def retry_alloc_v13(p: NodePool, ec2: Ec2, now: float) -> bool:
    """retryAllocENIIP (v1.3/v1.4): ask S (or curIPTarget) IPs for the first ENI with room.
    EC2 refuses more than the ENI's free slots and ipamd swallows the refusal, so a
    partly filled ENI is never topped up under WARM_ENI_TARGET."""
    warm, cur = _v13_target(p)
    if warm and cur <= 0:
        return False
    if p.limits is None:
        p.error(
            now,
            f"Failed to retrieve ENI IP limit: {p.release.unknown_type_error}",
            "UnknownInstanceType",
        )
        return False
    enis = allocatable(p)
    if not enis:
        return False
    try:
        ec2.alloc_ips(enis[0].eni_id, min(cur if warm else p.slots, p.slots))
    except AwsError as err:
        if err.code != LIMIT_EXCEEDED:
            p.say(now, f"During eni repair: error encountered on allocate IP address {err}")
            return False
    p.last_action = now
    return sync_eni(p, ec2, enis[0].eni_id, now)


def too_low_v13(p: NodePool) -> bool:
    assert p.config is not None
    warm, cur = _v13_target(p)
    if warm:
        return cur > 0
    per = p.slots if p.limits is not None else 1  # unknown type: the addresses seen on an ENI
    return p.datastore.available < per * p.config.warm_eni_target


def too_high_v13(p: NodePool) -> bool:
    assert p.config is not None
    warm, cur = _v13_target(p)
    if warm and cur >= 0:
        return False
    per = p.slots if p.limits is not None else 1
    return p.datastore.available >= (p.config.warm_eni_target + 1) * per


def increase_v13(p: NodePool, ec2: Ec2, now: float) -> bool:  # noqa: PLR0911 - ipamd's early exits
    """increaseIPPool (v1.3/v1.4): always a new ENI. With an unknown instance type the ENI
    is attached but ipamd gives up before asking for addresses (GetENIipLimit fails)."""
    warm, cur = _v13_target(p)
    ds = p.datastore
    if warm and cur <= 0:
        return False
    if p.limits is not None and len(ds.enis) >= p.max_enis:
        return False
    if p.attach_refused_at and p.attach_refused_at == len(ds.enis):
        return False
    subnet = _eni_subnet(p, now)
    if subnet is None:
        return False
    try:
        eni_id = ec2.alloc_eni(subnet)
    except AwsError as err:
        p.error(
            now,
            f"Failed to increase pool size due to not able to allocate ENI {err}",
            fn="increaseIPPoolAllocENI",
        )
        if err.code == ATTACH_LIMIT:
            p.attach_refused_at = len(ds.enis)
        return False
    if p.limits is None:
        p.error(
            now,
            f"Failed to retrieve ENI IP limit: {p.release.unknown_type_error}",
            "UnknownInstanceType",
        )
        return True  # attached, not set up: the 60 s reconcile adds it to the datastore
    try:
        ec2.alloc_ips(eni_id, min(cur if warm else p.slots, p.slots))
    except AwsError as err:
        if err.code != LIMIT_EXCEEDED:
            p.say(now, f"Failed to allocate all available ip addresses on an ENI {err}")
    sync_eni(p, ec2, eni_id, now)
    p.last_action = now
    return True


def reconcile(p: NodePool, ec2: Ec2, now: float) -> bool:
    """nodeIPPoolReconcile: ENIs attached but unknown join the datastore, detached ones
    leave it, addresses follow EC2 (R§2.1, 60 s)."""
    attached = {a.eni_id: a for a in ec2.attached()}
    changed = False
    for eni_id in [e for e in p.datastore.enis if e not in attached]:
        del p.datastore.enis[eni_id]
        changed = True
    for eni_id in attached:
        changed = sync_eni(p, ec2, eni_id, now) or changed
    return changed


def run_pass(p: NodePool, ec2: Ec2, now: float) -> bool:
    """One pool-manager pass; True when it changed EC2 or the datastore."""
    if not p.running:
        return False
    r = p.release
    changed = False
    if now - p.last_action >= RECONCILE_SECONDS:
        changed = reconcile(p, ec2, now)
        p.last_action = now
    try:
        if r.top_up_first:
            if too_low(p):
                changed = increase(p, ec2, now) or changed
            elif too_high(p) and not (
                r.decrease_interval and now - p.last_decrease <= DECREASE_INTERVAL
            ):
                changed = decrease(p, ec2, now) or changed
                p.last_decrease = now
            if should_remove_extra(p):
                changed = free_eni(p, ec2, now) or changed
        else:
            changed = retry_alloc_v13(p, ec2, now) or changed
            if too_low_v13(p):
                changed = increase_v13(p, ec2, now) or changed
            elif too_high_v13(p):
                changed = free_eni(p, ec2, now) or changed
    except AwsError as err:
        p.error(now, str(err))
    return changed
