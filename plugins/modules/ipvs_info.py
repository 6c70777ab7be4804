# Copyright: (c) 2025, lvs.ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ipvs_info
short_description: Read the IPVS table (services, real servers, counters)
version_added: 0.1.0
description:
  - Returns the IPVS virtual services of the host with their settings, their real servers with weights,
    thresholds and active/inactive connection counts, and the traffic counters of both.
  - Optionally only the service named by O(address) and O(port), or by O(fwmark) and O(family).
  - Never changes anything.
options:
  address:
    description:
      - Only services with this virtual address (and O(port) and O(protocol), when O(port) is given).
    type: str
  port:
    description:
      - Only the service with this port (needs O(address)).
    type: int
extends_documentation_fragment:
  - lvs.ha.ipvs
  - lvs.ha.ipvs.SERVICE_KEY
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module never changes anything.
  diff_mode:
    support: none
  platform:
    platforms: posix
    details: Linux only, with the ip_vs kernel module loaded.
notes:
  - With O(backend=ipvsadm) the table is read with C(ipvsadm -S -n), C(ipvsadm -L -n --thresholds) and
    C(ipvsadm -L -n --stats --exact).
seealso:
  - module: lvs.ha.ipvs_service
  - module: lvs.ha.ipvs_realserver
author:
  - lvs.ha maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Read the whole IPVS table
  lvs.ha.ipvs_info:
  register: ipvs

- name: Show the weights of the HTTP service
  ansible.builtin.debug:
    msg: "{{ ipvs.services[0].realservers | items2dict(key_name='address', value_name='weight') }}"

- name: Only one service
  lvs.ha.ipvs_info:
    address: 192.168.100.100
    port: 80
  register: http
"""

RETURN = r"""
services:
  description: The services, sorted by family, address, protocol and port (firewall marks last), each with its settings (as returned by M(lvs.ha.ipvs_service)).
  returned: always
  type: list
  elements: dict
  contains:
    protocol:
      description: V(tcp), V(udp) or V(sctp); null for a firewall-mark service.
      type: str
    address:
      description: Virtual address; null for a firewall-mark service.
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
      description: Persistence granularity as a prefix length.
      type: int
    sched_flags:
      description: Scheduler flags.
      type: list
      elements: str
    one_packet:
      description: Whether one-packet scheduling is on.
      type: bool
    stats:
      description: Counters since the service was created.
      type: dict
      sample: {connections: 12, packets_in: 80, packets_out: 0, bytes_in: 5120, bytes_out: 0}
    realservers:
      description: The real servers of the service.
      type: list
      elements: dict
      contains:
        address:
          description: Real server address.
          type: str
        port:
          description: Real server port.
          type: int
        family:
          description: V(ipv4) or V(ipv6).
          type: str
        forwarding:
          description: V(dr), V(nat) or V(tunnel).
          type: str
        weight:
          description: Weight (V(0) is quiescent).
          type: int
        upper_threshold:
          description: Upper connection threshold.
          type: int
        lower_threshold:
          description: Lower connection threshold.
          type: int
        active_connections:
          description: Active connections now.
          type: int
        inactive_connections:
          description: Inactive connections now.
          type: int
        stats:
          description: Counters of the real server, as for the service.
          type: dict
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
    IPVSError,
    check_address,
    check_range,
    get_backend,
    sort_table,
)

ARGUMENT_SPEC = {
    **SERVICE_KEY_SPEC,
    "address": {"type": "str"},
    "port": {"type": "int"},
    **BACKEND_SPEC,
}
MUTUALLY_EXCLUSIVE = [("fwmark", "address"), ("fwmark", "port")]
REQUIRED_BY = {"port": "address"}


def service_filter(params: dict):
    """A predicate selecting the services the options name (all when none is named)."""
    if params["fwmark"] is not None:
        check_range("fwmark", params["fwmark"], 1, 0xFFFFFFFF)
        family = params["family"] or "ipv4"
        return lambda s: s["fwmark"] == params["fwmark"] and s["family"] == family
    if params["address"] is not None:
        address = check_address("address", params["address"])
        check_range("port", params["port"], 0, 65535)
        if params["port"] is None:
            return lambda s: s["address"] == address
        return lambda s: (s["address"], s["port"], s["protocol"]) == (address, params["port"], params["protocol"])
    if params["family"]:
        return lambda s: s["family"] == params["family"]
    return lambda s: True


def run(module: AnsibleModule) -> dict:
    wanted = service_filter(module.params)
    backend = get_backend(module, module.params["backend"])
    table = sort_table(backend.read(counters=True))
    return {"changed": False, "services": [s for s in table if wanted(s)], "backend": backend.name}


def main():
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        mutually_exclusive=MUTUALLY_EXCLUSIVE,
        required_by=REQUIRED_BY,
        supports_check_mode=True,
    )
    try:
        result = run(module)
    except IPVSError as e:
        module.fail_json(**e.fail_args())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
