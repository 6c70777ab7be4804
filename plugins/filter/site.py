# Copyright: (c) 2025, lvs.ha maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters over the lvs.ha site model (lvs_subnet, lvs_services, lvs_vrrp and the directors' host_vars).

- site_check: the list of problems in the model, each naming the variable at fault (empty when it is good).
- site_services: the services with every real server resolved to an address and defaults filled in.
- site_vips: the VIPs a given real server must hold on lo.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

try:
    import netaddr
except ImportError:
    netaddr = None

PROTOCOLS = ('TCP', 'UDP', 'SCTP')
SCHEDULERS = ('rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos')
FORWARDINGS = ('dr', 'nat', 'tunnel')
CHECK_TYPES = ('tcp', 'http_get', 'none')
VRRP_STATES = ('MASTER', 'BACKUP')
AUTH_PASS_MAX = 8  # keepalived keeps the first 8 characters of a PASS authentication


def _need_netaddr():
    if netaddr is None:
        raise AnsibleFilterError("the lvs.ha site filters need the Python library netaddr on the controller "
                                 "(pip install netaddr)")


def _ip(text):
    """netaddr.IPAddress of text, or None when text is not a plain IPv4/IPv6 address."""
    if not isinstance(text, str) or '/' in text:
        return None
    try:
        return netaddr.IPAddress(text.strip())
    except (netaddr.AddrFormatError, ValueError, TypeError):
        return None


def _int_in(value, low, high):
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _host_address(hostvars, host):
    """The address of an inventory host: its ansible_host, else its name when that is an address."""
    if host not in hostvars:
        return None
    return hostvars[host].get('ansible_host', host)


def _check_service(idx, svc, net, subnet_name, hostvars, host_addresses):
    name = f"lvs_services[{idx}]"
    errors = []
    if not isinstance(svc, Mapping):
        return [f"{name}: must be a mapping with vip, port, real_servers, ..."]
    vip = _ip(svc.get('vip'))
    if vip is None:
        errors.append(f"{name}.vip: {svc.get('vip')!r} is not an IP address (write e.g. 192.168.100.10)")
    else:
        if net is not None and vip not in net:
            errors.append(f"{name}.vip: {vip} is outside {subnet_name} {net}; direct routing needs the VIP on the "
                          f"directors' L2 subnet")
        for host, addr in sorted(host_addresses.items()):
            if _ip(addr) == vip:
                errors.append(f"{name}.vip: {vip} is the address of inventory host {host}; pick a free address")
    if not _int_in(svc.get('port'), 1, 65535):
        errors.append(f"{name}.port: {svc.get('port')!r} is not a port number 1..65535")
    if str(svc.get('protocol', 'TCP')).upper() not in PROTOCOLS:
        errors.append(f"{name}.protocol: {svc.get('protocol')!r} is not one of {', '.join(PROTOCOLS)}")
    if svc.get('scheduler', 'rr') not in SCHEDULERS:
        errors.append(f"{name}.scheduler: {svc.get('scheduler')!r} is not one of {', '.join(SCHEDULERS)}")
    if svc.get('forwarding', 'dr') not in FORWARDINGS:
        errors.append(f"{name}.forwarding: {svc.get('forwarding')!r} is not one of {', '.join(FORWARDINGS)}")
    if not _int_in(svc.get('persistence_timeout', 0), 0, 2 ** 31 - 1):
        errors.append(f"{name}.persistence_timeout: {svc.get('persistence_timeout')!r} is not a number of "
                      f"seconds >= 0 (0: no persistence)")
    if not _int_in(svc.get('delay_loop', 2), 1, 86400):
        errors.append(f"{name}.delay_loop: {svc.get('delay_loop')!r} is not a number of seconds >= 1")
    check = svc.get('check', {'type': 'tcp'})
    if not isinstance(check, Mapping) or check.get('type', 'tcp') not in CHECK_TYPES:
        errors.append(f"{name}.check.type: must be one of {', '.join(CHECK_TYPES)}")
    if 'quorum' in svc and not _int_in(svc['quorum'], 1, 2 ** 31 - 1):
        errors.append(f"{name}.quorum: {svc['quorum']!r} is not a number >= 1")
    if 'sorry_server' in svc and _ip(svc['sorry_server']) is None:
        errors.append(f"{name}.sorry_server: {svc['sorry_server']!r} is not an IP address")
    reals = svc.get('real_servers')
    if not isinstance(reals, list) or not reals:
        errors.append(f"{name}.real_servers: must be a non-empty list of {{host: INVENTORY_HOST, weight: N}}")
        return errors
    seen = set()
    for ridx, real in enumerate(reals):
        rname = f"{name}.real_servers[{ridx}]"
        host = real.get('host') if isinstance(real, Mapping) else None
        if not isinstance(host, str) or not host:
            errors.append(f"{rname}.host: missing; name the real server by its inventory host")
            continue
        if host in seen:
            errors.append(f"{rname}.host: {host} is listed twice in this service")
        seen.add(host)
        if host not in hostvars:
            errors.append(f"{rname}.host: {host} is not in the inventory; add it (with ansible_host) or fix the name")
        else:
            addr = _ip(_host_address(hostvars, host))
            if addr is None:
                errors.append(f"{rname}.host: {host} has no IP address as ansible_host "
                              f"({_host_address(hostvars, host)!r}); set ansible_host to its address")
            elif net is not None and addr not in net:
                errors.append(f"{rname}.host: {host} ({addr}) is outside {subnet_name} {net}; direct routing needs "
                              f"real servers on the directors' L2 subnet")
        if not _int_in(real.get('weight', 1), 0, 65535):
            errors.append(f"{rname}.weight: {real.get('weight')!r} is not a weight 0..65535")
        if 'port' in real and not _int_in(real['port'], 1, 65535):
            errors.append(f"{rname}.port: {real['port']!r} is not a port number 1..65535")
    return errors


def _check_vrrp(vrrp, vrrp_name, hostvars, directors, net, subnet_name):
    errors = []
    if not isinstance(vrrp, Mapping):
        return [f"{vrrp_name}: must be a mapping with virtual_router_id, advert_int, auth_pass"]
    if not _int_in(vrrp.get('virtual_router_id'), 1, 255):
        errors.append(f"{vrrp_name}.virtual_router_id: {vrrp.get('virtual_router_id')!r} is not in 1..255 "
                      f"(pick one no other VRRP router on the segment uses)")
    advert = vrrp.get('advert_int', 1)
    if isinstance(advert, bool) or not isinstance(advert, (int, float)) or advert <= 0:
        errors.append(f"{vrrp_name}.advert_int: {advert!r} is not a positive number of seconds")
    auth = vrrp.get('auth_pass')
    if auth is not None and (not isinstance(auth, str) or not 1 <= len(auth) <= AUTH_PASS_MAX):
        # Never echo the password itself.
        errors.append(f"{vrrp_name}.auth_pass: must be a string of 1 to {AUTH_PASS_MAX} characters")
    states = {}
    for host in directors:
        # not hostvars.get(): Ansible's HostVars returns an undefined marker, not the default
        hv = hostvars[host] if host in hostvars else {}  # noqa: SIM401
        state = hv.get('lvs_vrrp_state')
        prio = hv.get('lvs_vrrp_priority')
        if state not in VRRP_STATES:
            errors.append(f"{host}: lvs_vrrp_state {state!r} is not MASTER or BACKUP (set it in host_vars/{host})")
        if not _int_in(prio, 1, 255):
            errors.append(f"{host}: lvs_vrrp_priority {prio!r} is not in 1..255 (set it in host_vars/{host})")
        else:
            states[host] = (state, prio)
        addr = _ip(_host_address(hostvars, host)) if host in hostvars else None
        if addr is not None and net is not None and addr not in net:
            errors.append(f"{host}: ansible_host {addr} is outside {subnet_name} {net}")
    if not directors:
        errors.append("directors: no director hosts were given to the site check")
    masters = [h for h, (s, _p) in states.items() if s == 'MASTER']
    prios = [p for _s, p in states.values()]
    if len(states) == len(directors) and len(masters) != 1 and len(set(prios)) != len(prios):
        errors.append(f"lvs_vrrp_state/lvs_vrrp_priority: {len(masters)} MASTER and equal priorities among "
                      f"{', '.join(directors)}; make exactly one MASTER or give every director its own priority")
    if len(masters) == 1:
        top = max(prios) if prios else 0
        mprio = states[masters[0]][1]
        if any(p >= mprio for h, (_s, p) in states.items() if h != masters[0]):
            errors.append(f"{masters[0]}: lvs_vrrp_priority {mprio} is the MASTER's but not the highest ({top}); "
                          f"give the MASTER a priority above every BACKUP")
    return errors


def site_check(model, hostvars, directors):
    """Problems in the site model, as messages naming the variable; empty when the model is sound.

    model: {'lvs_subnet': ..., 'lvs_services': [...], 'lvs_vrrp': {...}} (the keys name the variables);
    hostvars: Ansible's hostvars; directors: the inventory names of the directors.
    """
    _need_netaddr()
    if not isinstance(model, Mapping):
        raise AnsibleFilterError("site_check: expects a mapping of the site model variables")
    errors = []
    subnet_name, services_name, vrrp_name = 'lvs_subnet', 'lvs_services', 'lvs_vrrp'
    net = None
    try:
        net = netaddr.IPNetwork(str(model.get(subnet_name)))
        if str(net.network) != str(net.ip):
            errors.append(f"{subnet_name}: {model.get(subnet_name)} has host bits set; write {net.cidr}")
            net = net.cidr
    except (netaddr.AddrFormatError, ValueError, TypeError):
        errors.append(f"{subnet_name}: {model.get(subnet_name)!r} is not a network such as 192.168.100.0/24")
    directors = list(directors or [])
    host_addresses = {h: _host_address(hostvars, h) for h in hostvars}
    services = model.get(services_name)
    if not isinstance(services, list) or not services:
        errors.append(f"{services_name}: must be a non-empty list of virtual services")
        services = []
    keys = {}
    for idx, svc in enumerate(services):
        errors.extend(_check_service(idx, svc, net, subnet_name, hostvars, host_addresses))
        if isinstance(svc, Mapping):
            key = (str(svc.get('protocol', 'TCP')).upper(), str(svc.get('vip')), svc.get('port'))
            if key in keys:
                errors.append(f"{services_name}[{idx}]: same protocol, vip and port as {services_name}[{keys[key]}]")
            keys.setdefault(key, idx)
    errors.extend(_check_vrrp(model.get(vrrp_name), vrrp_name, hostvars, directors, net, subnet_name))
    return errors


def site_services(services, hostvars):
    """The services with defaults filled in and each real server given its address (from the inventory)."""
    out = []
    for svc in services or []:
        port = svc['port']
        reals = []
        for real in svc.get('real_servers', []):
            address = real.get('address') or _host_address(hostvars, real['host'])
            if address is None:
                raise AnsibleFilterError(f"site_services: real server {real['host']!r} is not in the inventory")
            reals.append({'host': real['host'], 'address': str(address), 'port': real.get('port', port),
                          'weight': real.get('weight', 1)})
        shaped = {
            'name': svc.get('name', f"{svc['vip']}:{port}"),
            'vip': str(svc['vip']),
            'port': port,
            'protocol': str(svc.get('protocol', 'TCP')).upper(),
            'scheduler': svc.get('scheduler', 'rr'),
            'forwarding': svc.get('forwarding', 'dr'),
            'persistence_timeout': svc.get('persistence_timeout', 0),
            'delay_loop': svc.get('delay_loop', 2),
            'check': dict(svc.get('check') or {'type': 'tcp'}),
            'real_servers': reals,
        }
        for optional in ('quorum', 'sorry_server', 'sorry_server_port'):
            if optional in svc:
                shaped[optional] = svc[optional]
        if 'persistence_netmask' in svc:
            # keepalived's persistence_granularity is a netmask; the model gives a prefix length.
            shaped['persistence_granularity'] = str(ipaddress.ip_network(
                f"{'::' if ':' in shaped['vip'] else '0.0.0.0'}/{int(svc['persistence_netmask'])}").netmask)
        out.append(shaped)
    return out


def site_vips(services, host):
    """Sorted unique VIPs of the services that list `host` among their real servers."""
    vips = {str(svc['vip']) for svc in services or []
            if any(real.get('host') == host for real in svc.get('real_servers', []))}
    return sorted(vips, key=lambda v: ipaddress.ip_address(v).packed.rjust(16, b'\0'))


class FilterModule:
    """lvs.ha site model filters."""

    def filters(self):
        return {
            'site_check': site_check,
            'site_services': site_services,
            'site_vips': site_vips,
        }
