# Copyright: (c) 2025, lvs.ha maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters over the lvs.ha site model (lvs_subnet, lvs_services, lvs_vrrp, lvs_health_path and host_vars).

- site_check: the list of problems in the model, each naming the variable at fault (empty when it is good).
- site_address: a host's address on lvs_subnet (lvs_address, else ansible_host on it, else its facts).
- site_peers: the addresses of the other directors (unicast VRRP peers).
- site_services: the services with every real server resolved to its address and defaults filled in.
- site_vips / site_ports: the VIPs a real server holds on lo, the ports it serves.
- site_interface: the interface that holds a host's address (lvs_realserver_interface, else its facts).
- site_rollout_order: the directors in the order a rollout changes them (BACKUP first, MASTER last).
- site_vrrp_instances: a director's VRRP instances (active-active, lvs_vrrp.instances) for the director role.
- site_vip_plan: which director holds which VIPs when some directors run keepalived (the rollout check).

The rules for single values live in plugin_utils/site_rules.py, shared with the roles' own checks.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible_collections.lvs.ha.plugins.plugin_utils import site_rules as rules

try:
    import netaddr
except ImportError:
    netaddr = None

SUBNET = "lvs_subnet"
SERVICES = "lvs_services"
VRRP = "lvs_vrrp"
HEALTH_PATH = "lvs_health_path"

SITE_REAL_SERVER = {"host": rules.pattern(rules.NAME), "port": rules.PORT, "weight": rules.WEIGHT}
SITE_SERVICE_EXTRA = {"persistence_netmask": rules.integer(0, 128, "a prefix length")}
VRRP_FIELDS = {
    "name": rules.pattern(rules.NAME),
    "version": rules.choice(rules.VRRP_VERSIONS),
    "virtual_router_id": rules.integer(1, 255, "a VRRP router id (unique on the segment)"),
    "advert_int": None,  # depends on the version
    "auth_pass": None,  # a secret, checked without echo
    "vip_label": None,  # depends on each director's interface
    "unicast": rules.boolean,
    "preempt": rules.boolean,
    "preempt_delay": rules.PREEMPT_DELAY,
    "garp": None,  # checked with GARP_FIELDS
    "track_interfaces": None,  # checked with the directors' interfaces
    "track_scripts": None,
    "notify": None,  # checked with NOTIFY_FIELDS
    "sync": None,  # checked with SYNC_FIELDS
    "instances": None,  # active-active: checked with SITE_INSTANCE_FIELDS
}
# lvs_vrrp.instances[N]: several VRRP instances, each with its VIPs and every director's priority in it.
SITE_INSTANCE_FIELDS = {
    "name": rules.pattern(rules.NAME),
    "virtual_router_id": rules.integer(1, 255, "a VRRP router id (unique on the segment)"),
    "vips": None,  # each a VIP of lvs_services, in one instance only
    "priorities": None,  # a mapping of every director to its priority
}


def _need_netaddr():
    if netaddr is None:
        raise AnsibleFilterError(
            "the lvs.ha site filters need the Python library netaddr on the controller (pip install netaddr)"
        )


def _hostvars_of(hostvars, host):
    # not hostvars.get(): Ansible's HostVars returns an undefined marker, not the default
    return hostvars[host] if host in hostvars else {}  # noqa: SIM401


def _network(subnet):
    """netaddr.IPNetwork of a subnet written as a network, else None."""
    if not isinstance(subnet, str):
        return None
    try:
        net = netaddr.IPNetwork(subnet)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        return None
    return net if str(net.network) == str(net.ip) else None


def _in(addr, net):
    return net is None or netaddr.IPAddress(str(addr)) in net


def _vips(services):
    return {str(s.get("vip")) for s in services or [] if isinstance(s, Mapping)}


def _canonical(vip):
    """A VIP as Python's ipaddress writes it (how `ip addr` shows it, and how VIPs are compared)."""
    return str(ipaddress.ip_address(str(vip)))


def _vips_canonical(services):
    """The services' VIPs that are addresses, written canonically (as an instance's VIPs are compared)."""
    return {_canonical(v) for v in _vips(services) if rules.ip_address(v) is not None}


def resolve_address(hv: Mapping, host: str, net, vips=()):
    """(address, None) or (None, message naming the variable to set) for a host's address on lvs_subnet.

    In order: lvs_address; ansible_host when it is an address on lvs_subnet; the one address on lvs_subnet
    among the host's gathered facts (VIPs left out: a director or real server may hold them too).
    """
    where = f"host_vars/{host}"
    if "lvs_address" in hv:
        addr = rules.ip_address(hv["lvs_address"])
        if addr is None:
            return None, f"{host}: lvs_address {rules.show(hv['lvs_address'])} is not an IP address written plainly"
        if not _in(addr, net):
            return None, f"{host}: lvs_address {addr} is outside {SUBNET} {net}; set it to the host's address there"
        return str(addr), None
    target = hv.get("ansible_host", host)
    addr = rules.ip_address(target)
    if addr is not None and _in(addr, net):
        return str(addr), None
    facts = hv.get("ansible_facts") or {}
    known = list(facts.get("all_ipv4_addresses") or []) + list(facts.get("all_ipv6_addresses") or [])
    found = sorted(
        {a for a in known if rules.ip_address(a) is not None and net is not None and _in(a, net) and a not in vips}
    )
    if len(found) == 1:
        return found[0], None
    if len(found) > 1:
        return None, (
            f"{host}: has several addresses on {SUBNET} {net} ({', '.join(found)}); set lvs_address in "
            f"{where} to the one the directors reach it at"
        )
    seen = (
        f"none of its addresses ({', '.join(known)}) is on {SUBNET} {net}"
        if known
        else "no facts were gathered from it"
    )
    return None, (
        f"{host}: no address on {SUBNET} {net}: ansible_host {rules.show(target)} is not an address "
        f"there and {seen}; set lvs_address in {where}"
    )


def site_address(hostvars, host, subnet=None):
    """A host's address on lvs_subnet, or None when it cannot be told (site_check says why)."""
    _need_netaddr()
    hv = _hostvars_of(hostvars, host)
    net = _network(subnet if subnet is not None else hv.get(SUBNET))
    return resolve_address(hv, host, net, _vips(hv.get(SERVICES)))[0]


def _check_service(chk, idx, svc, net, hostvars, host_addresses):
    name = f"{SERVICES}[{idx}]"
    if not rules.check_service(chk, name, svc, SITE_SERVICE_EXTRA, SITE_REAL_SERVER, real_required=("host",)):
        return
    vip = rules.ip_address(svc.get("vip"))
    if vip is not None:
        if net is not None and not _in(vip, net):
            chk.add(
                f"{name}.vip",
                f"{vip} is outside {SUBNET} {net}; direct routing needs the VIP on the directors' L2 subnet",
            )
        for host, addr in sorted(host_addresses.items()):
            if addr == str(vip):
                chk.add(f"{name}.vip", f"{vip} is the address of inventory host {host}; pick a free address")
    netmask = svc.get("persistence_netmask")
    if vip is not None and rules.is_int(netmask) and netmask > vip.max_prefixlen:
        chk.add(f"{name}.persistence_netmask", f"{netmask} is longer than an IPv{vip.version} address")
    seen = set()
    for ridx, real in enumerate(svc.get("real_servers") or []):
        host = real.get("host") if isinstance(real, Mapping) else None
        if not rules.NAME.matches(host):
            continue
        rname = f"{name}.real_servers[{ridx}].host"
        if host in seen:
            chk.add(rname, f"{host} is listed twice in this service")
        seen.add(host)
        if host not in hostvars:
            chk.add(rname, f"{host} is not in the inventory; add it or fix the name")
        elif host in host_addresses and host_addresses[host] is None:
            chk.add(rname, f"{host} has no address on {SUBNET}; see the message for {host}")
        elif (
            vip is not None
            and host in host_addresses
            and svc.get("forwarding", "dr") != "tunnel"
            and rules.ip_address(host_addresses[host]).version != vip.version
        ):
            chk.add(rname, f"{host} ({host_addresses[host]}) is not IPv{vip.version} like the VIP {vip}")


def _check_instances(chk, vrrp, directors, vips):
    """Active-active (lvs_vrrp.instances): each instance named once with its own router id, each VIP of
    lvs_services in exactly one instance, every director given its own priority in every instance (the highest
    is the instance's MASTER). The host variables lvs_vrrp_state and lvs_vrrp_priority are not read then."""
    var = f"{VRRP}.instances"
    for key in ("name", "virtual_router_id"):
        if key in vrrp:
            chk.add(f"{VRRP}.{key}", f"not used with {var}: each instance has its own {key}; remove it")
    if vrrp.get("preempt") is False:
        # The rollout check and the maintenance would have to accept any director for each instance's VIPs.
        chk.add(f"{VRRP}.preempt", f"false is not supported with {var} yet; leave it out (or use preempt_delay)")
    names, ids, placed = {}, {}, {}
    instances = vrrp["instances"]
    # whether every instance's VIPs could be read: only then can a VIP of the services be found in none
    vips_read = isinstance(instances, list) and len(instances) > 0
    for idx, inst in enumerate(chk.list_of(var, instances, lambda _v: None, allow_empty=False)):
        ivar = f"{var}[{idx}]"
        if not chk.fields(ivar, inst, SITE_INSTANCE_FIELDS, required=tuple(SITE_INSTANCE_FIELDS)):
            vips_read = False
            continue
        rules.check_own_name_and_id(chk, var, idx, inst, SITE_INSTANCE_FIELDS, names, ids)
        inst_vips = inst.get("vips")
        vips_read = vips_read and isinstance(inst_vips, list) and len(inst_vips) > 0
        if "vips" in inst:
            for vidx, vip in enumerate(chk.list_of(f"{ivar}.vips", inst_vips, rules.address, allow_empty=False)):
                if rules.address(vip) is not None:
                    vips_read = False
                    continue
                canonical = _canonical(vip)
                if canonical not in vips:
                    chk.add(f"{ivar}.vips[{vidx}]", f"{vip} is the VIP of no service in {SERVICES}")
                    vips_read = False
                elif canonical in placed:
                    chk.add(
                        f"{ivar}.vips[{vidx}]", f"{vip} is also in {placed[canonical]}; a VIP belongs to one instance"
                    )
                    vips_read = False
                placed.setdefault(canonical, ivar)
        if "priorities" in inst:
            _check_priorities(chk, f"{ivar}.priorities", inst["priorities"], directors)
    if vips_read:
        for vip in sorted(vips - set(placed)):
            chk.add(var, f"{vip} ({SERVICES}) is in no instance; each VIP belongs to exactly one")


def _check_priorities(chk, var, priorities, directors):
    if not isinstance(priorities, Mapping):
        chk.add(var, f"{rules.show(priorities)} is not a mapping of each director to its priority")
        return
    for host in priorities:
        if host not in directors:
            chk.add(f"{var}.{host}", f"{rules.show(host)} is not a director ({', '.join(directors)})")
    by_priority = {}
    for host in directors:
        if host not in priorities:
            chk.add(var, f"{host} has no priority here; give every director its own")
        elif chk.value(f"{var}.{host}", priorities[host], rules.INSTANCE_FIELDS["priority"]):
            by_priority.setdefault(priorities[host], []).append(host)
    for prio, hosts in sorted(by_priority.items()):
        if len(hosts) > 1:
            chk.add(
                var,
                f"{' and '.join(hosts)} share priority {prio}; the highest is the instance's MASTER, so each "
                "director needs its own",
            )


def _check_vrrp(chk, vrrp, hostvars, directors, net, host_addresses, vips=frozenset()):
    multi = isinstance(vrrp, Mapping) and "instances" in vrrp
    if not chk.fields(VRRP, vrrp, VRRP_FIELDS, required=() if multi else ("virtual_router_id",)):
        vrrp = {}
    if multi:
        _check_instances(chk, vrrp, directors, vips)
    version = vrrp.get("version", 2)
    if "sync" in vrrp:
        chk.fields(f"{VRRP}.sync", vrrp["sync"], rules.SYNC_FIELDS)
    if "notify" in vrrp:
        chk.fields(f"{VRRP}.notify", vrrp["notify"], rules.NOTIFY_FIELDS)
    if "garp" in vrrp:
        chk.fields(f"{VRRP}.garp", vrrp["garp"], rules.GARP_FIELDS)
    rules.check_advert_int(chk, f"{VRRP}.advert_int", vrrp.get("advert_int", 1), version)
    rules.check_vrrp_auth(chk, f"{VRRP}.version", version, f"{VRRP}.auth_pass", vrrp.get("auth_pass"))
    states = {}
    interfaces = {}
    for host in directors:
        hv = _hostvars_of(hostvars, host)
        state, prio = hv.get("lvs_vrrp_state"), hv.get("lvs_vrrp_priority")
        interface = hv.get("lvs_director_interface", "ens33")
        if chk.value(f"{host}: lvs_director_interface", interface, rules.pattern(rules.INTERFACE)):
            interfaces.setdefault(str(interface), []).append(host)
        if multi:
            continue  # the instances give each director its priorities; the states follow from them
        if state not in rules.VRRP_STATES:
            chk.add(host, f"lvs_vrrp_state {rules.show(state)} is not MASTER or BACKUP (set it in host_vars/{host})")
        if not rules.is_int(prio) or not 1 <= prio <= 255:
            chk.add(host, f"lvs_vrrp_priority {rules.show(prio)} is not in 1..255 (set it in host_vars/{host})")
        else:
            states[host] = (state, prio)
    if "vip_label" in vrrp:
        # One label for every director: it must suit each interface (leave it out and each director labels
        # the VIPs <its interface>:0).
        for interface, hosts in sorted(interfaces.items()):
            rules.check_label(
                chk,
                f"{VRRP}.vip_label",
                vrrp["vip_label"],
                interface,
                f" ({', '.join(hosts)} use {interface}; or leave vip_label out)",
            )
    if "track_interfaces" in vrrp or "track_scripts" in vrrp:
        own = {name: f"lvs_director_interface of {', '.join(hosts)}" for name, hosts in interfaces.items()}
        rules.check_tracking(
            chk,
            f"{VRRP}.track_interfaces",
            vrrp.get("track_interfaces", []),
            f"{VRRP}.track_scripts",
            vrrp.get("track_scripts", []),
            own,
        )
    if not directors:
        chk.add("directors", "no director hosts were given to the site check")
    rules.check_preemption(
        chk,
        f"{VRRP}.preempt",
        vrrp.get("preempt") is False,
        f"{VRRP}.preempt_delay",
        vrrp.get("preempt_delay"),
        [f"lvs_vrrp_state in host_vars/{h}" for h, (s, _p) in states.items() if s == "MASTER"],
    )
    if vrrp.get("unicast") is True:
        _check_unicast(chk, directors, host_addresses)
    masters = [h for h, (s, _p) in states.items() if s == "MASTER"]
    prios = [p for _s, p in states.values()]
    if len(states) == len(directors) and len(masters) != 1 and len(set(prios)) != len(prios):
        chk.add(
            "lvs_vrrp_state/lvs_vrrp_priority",
            f"{len(masters)} MASTER and equal priorities among "
            f"{', '.join(directors)}; make exactly one MASTER or give every director its own priority",
        )
    if len(masters) == 1:
        mprio = states[masters[0]][1]
        if any(p >= mprio for h, (_s, p) in states.items() if h != masters[0]):
            chk.add(
                masters[0],
                f"lvs_vrrp_priority {mprio} is the MASTER's but not the highest ({max(prios)}); "
                f"give the MASTER a priority above every BACKUP",
            )


def _check_unicast(chk, directors, host_addresses):
    """Unicast VRRP: each director sends its adverts to the others' addresses on lvs_subnet (IPv4)."""
    if len(directors) < 2:
        chk.add(f"{VRRP}.unicast", f"needs at least two directors to be peers (found {len(directors)})")
    for host in directors:
        addr = host_addresses.get(host)
        if addr is not None and rules.ipv4(addr) is not None:
            chk.add(f"{VRRP}.unicast", f"{host}'s address {addr} is not IPv4; unicast VRRP here is IPv4")


def site_check(model, hostvars, directors):
    """Problems in the site model, as messages naming the variable; empty when the model is sound.

    model: {'lvs_subnet': ..., 'lvs_services': [...], 'lvs_vrrp': {...}, 'lvs_health_path': ...} (the keys name
    the variables; a missing lvs_health_path is not checked); hostvars: Ansible's hostvars; directors: the
    inventory names of the directors.
    """
    _need_netaddr()
    if not isinstance(model, Mapping):
        raise AnsibleFilterError("site_check: expects a mapping of the site model variables")
    chk = rules.Checker()
    subnet = model.get(SUBNET)
    net = _network(subnet)
    if net is None:
        try:
            cidr = netaddr.IPNetwork(str(subnet)).cidr if isinstance(subnet, str) else None
        except (netaddr.AddrFormatError, ValueError, TypeError):
            cidr = None
        chk.add(
            SUBNET,
            f"{rules.show(subnet)} has host bits set; write {cidr}"
            if cidr is not None
            else f"{rules.show(subnet)} is not a network such as 192.168.100.0/24",
        )
        net = cidr
    directors = list(directors or [])
    services = model.get(SERVICES)
    if not isinstance(services, list) or not services:
        chk.add(SERVICES, "must be a non-empty list of virtual services")
        services = []
    vips = _vips(services)
    real_hosts = sorted(
        {
            r.get("host")
            for s in services
            if isinstance(s, Mapping)
            for r in (s.get("real_servers") or [])
            if isinstance(r, Mapping) and rules.NAME.matches(r.get("host")) and r.get("host") in hostvars
        }
    )
    host_addresses = {}
    for host in sorted(set(directors) | set(real_hosts)):
        addr, problem = resolve_address(_hostvars_of(hostvars, host), host, net, vips)
        host_addresses[host] = addr
        if problem:
            chk.errors.append(problem)
    for host in hostvars:
        if host not in host_addresses:
            addr = rules.ip_address(_hostvars_of(hostvars, host).get("ansible_host", host))
            if addr is not None:
                host_addresses[host] = str(addr)
    keys = {}
    for idx, svc in enumerate(services):
        _check_service(chk, idx, svc, net, hostvars, host_addresses)
        if isinstance(svc, Mapping):
            key = (str(svc.get("protocol", "TCP")).upper(), str(svc.get("vip")), svc.get("port"))
            if key in keys:
                chk.add(f"{SERVICES}[{idx}]", f"same protocol, vip and port as {SERVICES}[{keys[key]}]")
            keys.setdefault(key, idx)
    if HEALTH_PATH in model:
        chk.value(HEALTH_PATH, model[HEALTH_PATH], rules.pattern(rules.URL_PATH))
    for host in real_hosts:
        hv = _hostvars_of(hostvars, host)
        if "lvs_page_text" in hv:
            chk.value(f"{host}: lvs_page_text", hv["lvs_page_text"], rules.pattern(rules.PAGE_TEXT))
        if "lvs_realserver_interface" in hv:
            chk.value(
                f"{host}: lvs_realserver_interface", hv["lvs_realserver_interface"], rules.pattern(rules.INTERFACE)
            )
    _check_vrrp(chk, model.get(VRRP), hostvars, directors, net, host_addresses, _vips_canonical(services))
    return chk.errors


def site_services(services, hostvars, subnet=None):
    """The services with defaults filled in and each real server given its address on lvs_subnet."""
    _need_netaddr()
    out = []
    vips = _vips(services)
    for svc in services or []:
        port = svc["port"]
        reals = []
        for real in svc.get("real_servers", []):
            host = real["host"]
            if host not in hostvars:
                raise AnsibleFilterError(f"site_services: real server {host!r} is not in the inventory")
            hv = _hostvars_of(hostvars, host)
            address, problem = resolve_address(
                hv, host, _network(subnet if subnet is not None else hv.get(SUBNET)), vips
            )
            if address is None:
                raise AnsibleFilterError(f"site_services: {problem}")
            reals.append(
                {"host": host, "address": address, "port": real.get("port", port), "weight": real.get("weight", 1)}
            )
        shaped = {
            "name": svc.get("name", f"{svc['vip']}:{port}"),
            "vip": str(svc["vip"]),
            "port": port,
            "protocol": str(svc.get("protocol", "TCP")).upper(),
            "scheduler": svc.get("scheduler", "rr"),
            "forwarding": svc.get("forwarding", "dr"),
            "persistence_timeout": svc.get("persistence_timeout", 0),
            "delay_loop": svc.get("delay_loop", 2),
            "check": dict(svc.get("check") or {"type": "tcp"}),
            "real_servers": reals,
        }
        for optional in ("quorum", "sorry_server", "sorry_server_port"):
            if optional in svc:
                shaped[optional] = svc[optional]
        if "persistence_netmask" in svc:
            # keepalived's persistence_granularity is a netmask; the model gives a prefix length.
            shaped["persistence_granularity"] = str(
                ipaddress.ip_network(
                    f"{'::' if ':' in shaped['vip'] else '0.0.0.0'}/{int(svc['persistence_netmask'])}"
                ).netmask
            )
        out.append(shaped)
    return out


def site_peers(hostvars, host, directors):
    """The addresses on lvs_subnet of the directors other than `host`: its unicast VRRP peers."""
    _need_netaddr()
    peers = []
    for other in directors or []:
        if other == host:
            continue
        address = site_address(hostvars, other)
        if address is None:
            raise AnsibleFilterError(f"site_peers: director {other} has no address on {SUBNET}; run the preflight")
        peers.append(address)
    return peers


def _serves(svc, host):
    return any(real.get("host") == host for real in svc.get("real_servers", []))


def site_vips(services, host):
    """Sorted unique VIPs of the services that list `host` among their real servers."""
    vips = {str(svc["vip"]) for svc in services or [] if _serves(svc, host)}
    return sorted(vips, key=lambda v: ipaddress.ip_address(v).packed.rjust(16, b"\0"))


def site_ports(services, host):
    """Sorted unique ports `host` must serve: each service's port (or the real server's own, for NAT)."""
    ports = {
        real.get("port", svc["port"])
        for svc in services or []
        for real in svc.get("real_servers", [])
        if real.get("host") == host
    }
    return sorted(ports)


def site_interface(hostvars, host, address):
    """The interface that holds `address` on a host: lvs_realserver_interface when set, else from its facts."""
    hv = _hostvars_of(hostvars, host)
    if "lvs_realserver_interface" in hv:
        return hv["lvs_realserver_interface"]
    facts = hv.get("ansible_facts") or {}
    for name in facts.get("interfaces") or []:
        entry = facts.get(str(name).replace("-", "_")) or {}
        ipv4 = [entry.get("ipv4") or {}] + list(entry.get("ipv4_secondaries") or [])
        ipv6 = list(entry.get("ipv6") or [])
        if name != "lo" and any(a.get("address") == address for a in ipv4 + ipv6):
            return entry.get("device", name)
    raise AnsibleFilterError(
        f"site_interface: {host} has no interface with {address} in its facts; set "
        f"lvs_realserver_interface in host_vars/{host}"
    )


def site_rollout_order(directors, hostvars):
    """Directors in rollout order: BACKUPs by rising priority, then the MASTER (the VIP moves at most once)."""

    def key(host):
        hv = _hostvars_of(hostvars, host)
        return (hv.get("lvs_vrrp_state") == "MASTER", hv.get("lvs_vrrp_priority", 0), host)

    return sorted(directors or [], key=key)


def site_vrrp_instances(vrrp, host):
    """`host`'s VRRP instances for the director role (director_vrrp_instances) from lvs_vrrp.instances: each
    instance's name, router id, VIPs (canonical), the host's priority there, and state MASTER where that
    priority is the instance's highest, BACKUP elsewhere; BACKUP on every director when preemption is off or
    delayed (keepalived ignores both on an initial MASTER), the priorities electing the first MASTER. [] when
    lvs_vrrp has no instances (one instance from lvs_vrrp and the host's lvs_vrrp_state/priority)."""
    if not isinstance(vrrp, Mapping):
        raise AnsibleFilterError("site_vrrp_instances: expects lvs_vrrp, a mapping")
    all_backup = vrrp.get("preempt") is False or (vrrp.get("preempt_delay") or 0) > 0
    out = []
    for inst in vrrp.get("instances") or []:
        priorities = inst["priorities"]
        if host not in priorities:
            raise AnsibleFilterError(
                f"site_vrrp_instances: {host} has no priority in {inst['name']}; run the preflight"
            )
        mine = priorities[host]
        master = not all_backup and all(mine > p for other, p in priorities.items() if other != host)
        out.append(
            {
                "name": inst["name"],
                "virtual_router_id": inst["virtual_router_id"],
                "state": "MASTER" if master else "BACKUP",
                "priority": mine,
                "vips": [_canonical(v) for v in inst["vips"]],
            }
        )
    return out


def site_vip_plan(vrrp, active, hostvars, vips):
    """Where the priorities put the VIPs when the directors in `active` run keepalived (with preemption):
    {director: [VIPs it holds, in the order of `vips`]} for every director of `active`. One instance: the
    MASTER of the rollout order (site_rollout_order's last) holds them all; several (lvs_vrrp.instances): each
    instance's VIPs go to its active director of highest priority."""
    active = list(active or [])
    plan = {host: set() for host in active}
    instances = (vrrp or {}).get("instances") if isinstance(vrrp, Mapping) else None
    if active and not instances:
        plan[site_rollout_order(active, hostvars)[-1]] = {str(v) for v in vips}
    for inst in instances or []:
        running = [h for h in active if h in inst["priorities"]]
        if running:
            elected = max(running, key=lambda h: inst["priorities"][h])
            plan[elected] |= {_canonical(v) for v in inst["vips"]}
    return {host: [str(v) for v in vips if str(v) in held] for host, held in plan.items()}


class FilterModule:
    """lvs.ha site model filters."""

    def filters(self):
        return {
            "site_check": site_check,
            "site_address": site_address,
            "site_peers": site_peers,
            "site_services": site_services,
            "site_vips": site_vips,
            "site_ports": site_ports,
            "site_interface": site_interface,
            "site_rollout_order": site_rollout_order,
            "site_vrrp_instances": site_vrrp_instances,
            "site_vip_plan": site_vip_plan,
        }
