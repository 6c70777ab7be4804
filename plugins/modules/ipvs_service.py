# Copyright: (c) 2025, lvs.ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ipvs_service
short_description: Manage one IPVS virtual service
version_added: 0.1.0
description:
  - Creates, changes or deletes one IPVS (Linux Virtual Server) virtual service, keyed by protocol, address
    and port, or by firewall mark and address family.
  - The service is declared in full; options left out take their defaults (for example O(scheduler=wlc),
    no persistence), so an existing service is changed to match the task.
  - Real servers are managed with M(lvs.ha.ipvs_realserver); changing a service keeps its real servers.
  - Deleting a service (O(state=absent)) also deletes all of its real servers (the kernel removes them
    with it).
options:
  address:
    description:
      - Virtual IPv4 or IPv6 address of a service keyed by address. Required unless O(fwmark) is given.
    type: str
  port:
    description:
      - Port of a service keyed by address, 1 to 65535.
      - V(0) (all ports) is accepted only together with O(persistence_timeout), as ipvsadm requires.
      - Required with O(address).
    type: int
  scheduler:
    description:
      - Scheduling algorithm; the kernel must have the matching C(ip_vs_<name>) module (C(twos) needs
        Linux 6.2 or later), else the task fails saying the kernel refused the scheduler.
    type: str
    choices: [rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh, twos]
    default: wlc
  persistence_timeout:
    description:
      - Persistence timeout in seconds; V(0) means the service is not persistent.
    type: int
    default: 0
  persistence_netmask:
    description:
      - Granularity of persistence, as a prefix length (V(24) groups clients by /24; for IPv6 up to V(128)).
      - Defaults to the full length (each client on its own). Needs O(persistence_timeout).
    type: int
  sched_flags:
    description:
      - Scheduler flags, named as the kernel names them; C(sh-*) only with O(scheduler=sh), C(mh-*) only
        with O(scheduler=mh).
    type: list
    elements: str
    choices: [sh-fallback, sh-port, mh-fallback, mh-port]
    default: []
  one_packet:
    description:
      - One-packet scheduling (C(ops)), for UDP services; every packet is scheduled on its own.
    type: bool
    default: false
  state:
    description:
      - Whether the service should exist. V(absent) deletes it together with its real servers.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - lvs.ha.ipvs
  - lvs.ha.ipvs.SERVICE_KEY
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
    details: Linux only, with the ip_vs kernel module loaded.
seealso:
  - module: lvs.ha.ipvs_realserver
  - module: lvs.ha.ipvs_info
author:
  - lvs.ha maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: HTTP virtual service, weighted round robin
  lvs.ha.ipvs_service:
    address: 192.168.100.100
    port: 80
    scheduler: wrr

- name: HTTPS with persistence per /24 of clients
  lvs.ha.ipvs_service:
    address: 192.168.100.100
    port: 443
    scheduler: wlc
    persistence_timeout: 600
    persistence_netmask: 24

- name: Source hashing with fallback, over IPv6
  lvs.ha.ipvs_service:
    address: 2001:db8::100
    port: 80
    scheduler: sh
    sched_flags: [sh-fallback, sh-port]

- name: DNS over UDP with one-packet scheduling
  lvs.ha.ipvs_service:
    protocol: udp
    address: 192.168.100.100
    port: 53
    scheduler: rr
    one_packet: true

- name: Service keyed by firewall mark 7
  lvs.ha.ipvs_service:
    fwmark: 7
    family: ipv4
    scheduler: rr

- name: Remove a service and its real servers
  lvs.ha.ipvs_service:
    address: 192.168.100.100
    port: 80
    state: absent
"""

RETURN = r"""
service:
  description:
    - The service as it is after the task (as it would be, in check mode); empty when O(state=absent).
  returned: always
  type: dict
  sample:
    protocol: tcp
    address: 192.168.100.100
    port: 80
    fwmark: null
    family: ipv4
    scheduler: wrr
    persistence_timeout: 0
    persistence_netmask: 32
    sched_flags: []
    one_packet: false
  contains:
    protocol:
      description: V(tcp), V(udp) or V(sctp); null for a firewall-mark service.
      type: str
    address:
      description: Virtual address, normalised; null for a firewall-mark service.
      type: str
    port:
      description: Virtual port; null for a firewall-mark service.
      type: int
    fwmark:
      description: Firewall mark; null for a service keyed by address.
      type: int
    family:
      description: V(ipv4) or V(ipv6).
      type: str
    scheduler:
      description: Scheduler name.
      type: str
    persistence_timeout:
      description: Persistence timeout in seconds, V(0) when not persistent.
      type: int
    persistence_netmask:
      description: Persistence granularity as a prefix length (the full length when not persistent).
      type: int
    sched_flags:
      description: Scheduler flags, sorted.
      type: list
      elements: str
    one_packet:
      description: Whether one-packet scheduling is on.
      type: bool
backend:
  description: The backend that was used, V(netlink) or V(ipvsadm).
  returned: always
  type: str
  sample: netlink
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.lvs.ha.plugins.module_utils.ipvs import (
    BACKEND_SPEC,
    SERVICE_KEY_SPEC,
    SERVICE_SPEC,
    IPVSError,
    config_of,
    find_service,
    get_backend,
    service_from_params,
    service_key,
    service_key_rules,
)

ARGUMENT_SPEC = {
    **SERVICE_KEY_SPEC,
    "address": {"type": "str"},
    "port": {"type": "int"},
    **SERVICE_SPEC,
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    **BACKEND_SPEC,
}
KEY_RULES = service_key_rules()


def desired_service(params: dict) -> dict:
    """The service the task asks for, validated and normalised; raises IPVSError naming the option."""
    return service_from_params(params, present=params["state"] == "present")


def plan(current: dict | None, desired: dict, state: str) -> str | None:
    """What to do: 'add', 'edit', 'delete' or None (already as asked)."""
    if state == "absent":
        return "delete" if current else None
    if current is None:
        return "add"
    return "edit" if config_of(current) != desired else None


def apply(backend, action: str | None, desired: dict) -> None:
    if action == "add":
        backend.add_service(desired)
    elif action == "edit":
        backend.edit_service(desired)
    elif action == "delete":
        backend.delete_service(desired)


def run(module: AnsibleModule) -> dict:
    desired = desired_service(module.params)
    backend = get_backend(module, module.params["backend"])
    current = find_service(backend.read(), service_key(desired))
    state = module.params["state"]
    action = plan(current, desired, state)
    if action and not module.check_mode:
        apply(backend, action, desired)
    before = config_of(current) if current else {}
    after = desired if state == "present" else {}
    return {
        "changed": action is not None,
        "service": after,
        "backend": backend.name,
        "diff": {"before": before, "after": after},
    }


def main():
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        **KEY_RULES,
        supports_check_mode=True,
    )
    try:
        result = run(module)
    except IPVSError as e:
        module.fail_json(**e.fail_args())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
