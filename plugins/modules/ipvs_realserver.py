# Copyright: (c) 2025, lvs.ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ipvs_realserver
short_description: Manage one real server of an IPVS virtual service
version_added: 0.1.0
description:
  - Adds, changes or removes one real server (destination) of an existing IPVS virtual service. The service
    is named like in M(lvs.ha.ipvs_service) (protocol, address and port, or firewall mark and family) and
    must exist for O(state=present); create it first with M(lvs.ha.ipvs_service).
  - The real server is declared in full; options left out take their defaults (O(forwarding=dr),
    O(weight=1), no thresholds).
  - With O(forwarding=dr) or O(forwarding=tunnel) the packet keeps its destination port, so the real server
    port is always the service port (ipvsadm enforces this too). A different O(port) is replaced by the
    service port with a warning, and the task stays idempotent.
options:
  service_address:
    description:
      - Virtual address of the service. Required unless O(fwmark) is given.
    type: str
  service_port:
    description:
      - Virtual port of the service (V(0) for a persistent all-ports service). Required with O(service_address).
    type: int
  address:
    description:
      - IPv4 or IPv6 address of the real server.
      - Must be of the service's address family, except with O(forwarding=tunnel).
    type: str
    required: true
  port:
    description:
      - Port of the real server, 1 to 65535; only meaningful with O(forwarding=nat).
      - Defaults to the service port, which is also what O(forwarding=dr) and O(forwarding=tunnel) use.
    type: int
  forwarding:
    description:
      - Forwarding method. V(dr) is direct routing (gatewaying), V(nat) masquerading, V(tunnel) IP-in-IP.
    type: str
    choices: [dr, nat, tunnel]
    default: dr
  weight:
    description:
      - Weight, 0 to 65535. V(0) makes the real server quiescent (no new connections, existing ones stay).
    type: int
    default: 1
  upper_threshold:
    description:
      - Upper connection threshold; no new connections above it. V(0) means no limit.
    type: int
    default: 0
  lower_threshold:
    description:
      - Lower connection threshold, at which a real server over its upper threshold gets connections again.
        V(0) means unset.
    type: int
    default: 0
  state:
    description:
      - Whether the real server should be in the service.
      - V(absent) succeeds without change when the service itself does not exist.
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
  - module: lvs.ha.ipvs_service
  - module: lvs.ha.ipvs_info
author:
  - lvs.ha maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Real server behind the HTTP service, direct routing
  lvs.ha.ipvs_realserver:
    service_address: 192.168.100.100
    service_port: 80
    address: 192.168.100.21
    weight: 2

- name: Drain a real server (quiescent, existing connections stay)
  lvs.ha.ipvs_realserver:
    service_address: 192.168.100.100
    service_port: 80
    address: 192.168.100.21
    weight: 0

- name: NAT to another port, with connection thresholds
  lvs.ha.ipvs_realserver:
    service_address: 192.168.100.100
    service_port: 443
    address: 10.0.0.5
    port: 8443
    forwarding: nat
    upper_threshold: 1000
    lower_threshold: 800

- name: Real server of a firewall-mark service
  lvs.ha.ipvs_realserver:
    fwmark: 7
    address: 192.168.100.22

- name: Remove a real server
  lvs.ha.ipvs_realserver:
    service_address: 192.168.100.100
    service_port: 80
    address: 192.168.100.21
    state: absent
"""

RETURN = r"""
realserver:
  description:
    - The real server as it is after the task (as it would be, in check mode); empty when O(state=absent).
  returned: always
  type: dict
  sample:
    address: 192.168.100.21
    port: 80
    family: ipv4
    forwarding: dr
    weight: 2
    upper_threshold: 0
    lower_threshold: 0
  contains:
    address:
      description: Real server address, normalised.
      type: str
    port:
      description: Real server port (the service port for V(dr) and V(tunnel)).
      type: int
    family:
      description: V(ipv4) or V(ipv6).
      type: str
    forwarding:
      description: V(dr), V(nat) or V(tunnel).
      type: str
    weight:
      description: Weight.
      type: int
    upper_threshold:
      description: Upper connection threshold (V(0) is none).
      type: int
    lower_threshold:
      description: Lower connection threshold (V(0) is none).
      type: int
backend:
  description: The backend that was used, V(netlink) or V(ipvsadm).
  returned: always
  type: str
  sample: ipvsadm
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.lvs.ha.plugins.module_utils.ipvs import (
    BACKEND_SPEC,
    REALSERVER_SPEC,
    SERVICE_KEY_SPEC,
    IPVSError,
    config_of,
    describe_service,
    find_realserver,
    find_service,
    get_backend,
    realserver_from_params,
    realserver_key,
    service_key,
    service_key_from_params,
    service_key_rules,
    service_record,
)

ARGUMENT_SPEC = {
    **SERVICE_KEY_SPEC,
    "service_address": {"type": "str"},
    "service_port": {"type": "int"},
    **REALSERVER_SPEC,
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    **BACKEND_SPEC,
}
KEY_RULES = service_key_rules("service_address", "service_port")


def desired_realserver(params: dict) -> tuple[dict, dict, list[str]]:
    """(service key record, real server, warnings) the task asks for; raises IPVSError naming the option."""
    service = service_record(**service_key_from_params(params, "service_address", "service_port"))
    rs, warnings = realserver_from_params(params, service)
    return service, rs, warnings


def plan(wanted_service: dict, service: dict | None, current: dict | None, desired: dict, state: str) -> str | None:
    """What to do: 'add', 'edit', 'delete' or None (already as asked)."""
    if state == "absent":
        return "delete" if current else None
    if service is None:
        raise IPVSError(
            f"service {describe_service(wanted_service)} does not exist: create it first with lvs.ha.ipvs_service"
        )
    if current is None:
        return "add"
    return "edit" if config_of(current) != desired else None


def run(module: AnsibleModule) -> dict:
    service_key_record, desired, warnings = desired_realserver(module.params)
    for warning in warnings:
        module.warn(warning)
    backend = get_backend(module, module.params["backend"])
    service = find_service(backend.read(), service_key(service_key_record))
    current = find_realserver(service, realserver_key(desired))
    state = module.params["state"]
    action = plan(service_key_record, service, current, desired, state)
    if action and not module.check_mode:
        getattr(backend, f"{action}_realserver")(config_of(service), desired)
    after = desired if state == "present" else {}
    return {
        "changed": action is not None,
        "realserver": after,
        "backend": backend.name,
        "diff": {"before": config_of(current) if current else {}, "after": after},
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
