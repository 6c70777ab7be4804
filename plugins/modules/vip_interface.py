# Copyright: (c) 2025, lvs.ha maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: vip_interface
short_description: Manage one IP address (a VIP) on a network interface
version_added: 0.1.0
description:
  - Adds or removes one IPv4 or IPv6 address on one interface, for example the virtual IP a direct-routing
    real server holds on C(lo), or a VIP with a label such as C(ens33:0).
  - The address on the interface is the object managed; other addresses on the interface are never touched.
  - If the address is already on the interface with a different prefix or label, it is replaced (deleted and
    added again) and the task reports a change.
  - Reads the interface with C(ip -json addr show dev IFACE) and writes with C(ip addr add) and C(ip addr del).
options:
  address:
    description:
      - The IPv4 or IPv6 address, for example V(192.168.100.10) or V(2001:db8::10).
      - May also be written as C(ADDRESS/PREFIX); the prefix then must agree with O(prefix) when both are given.
    type: str
    required: true
  interface:
    description:
      - Name of the network interface, for example V(lo) or V(ens33). It must exist.
    type: str
    required: true
  prefix:
    description:
      - Prefix length of the address.
      - Defaults to the full length of the family (V(32) for IPv4, V(128) for IPv6), which is what a VIP on
        C(lo) needs, and also applies to other interfaces unless given.
      - Ignored with O(state=absent); the address is removed whatever its prefix.
    type: int
  label:
    description:
      - Label of an IPv4 address, for example V(lo:0) or V(ens33:0). IPv6 addresses have no labels.
      - Must be the interface name or start with the interface name followed by a colon, and be at most
        15 characters long (the kernel limit).
      - When not given, the label of an existing address is left as it is and a new address gets the kernel
        default (the interface name).
    type: str
  state:
    description:
      - Whether the address should be on the interface.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
    details: Linux only; needs the iproute2 C(ip) command with JSON output (iproute2 4.13 or later).
notes:
  - The address is not persisted across reboots by this module; the realserver role does that.
  - No host route or scope option; the kernel adds its usual local route for the address.
  - Removal (O(state=absent)) deletes every prefix length the address has on the interface.
author:
  - lvs.ha maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Hold the VIP on lo so the real server accepts direct-routed packets
  lvs.ha.vip_interface:
    address: 192.168.100.10
    interface: lo
    label: lo:0

- name: A VIP with a label on the real interface, /24
  lvs.ha.vip_interface:
    address: 192.168.100.21
    interface: ens33
    prefix: 24
    label: ens33:0

- name: An IPv6 VIP on lo (/128 by default)
  lvs.ha.vip_interface:
    address: 2001:db8::10
    interface: lo

- name: Remove the VIP
  lvs.ha.vip_interface:
    address: 192.168.100.10
    interface: lo
    state: absent
"""

RETURN = r"""
vip:
  description:
    - The managed address as it is on the interface after the task (as it would be, in check mode).
    - V(null) when the address is absent.
  returned: success
  type: dict
  contains:
    interface:
      description: Interface name.
      type: str
      sample: lo
    address:
      description: The address, in its canonical text form.
      type: str
      sample: 192.168.100.10
    prefix:
      description: Prefix length.
      type: int
      sample: 32
    family:
      description: Address family, as C(ip) names it.
      type: str
      sample: inet
    label:
      description: Label of the address; V(null) for IPv6.
      type: str
      sample: lo:0
commands:
  description: The C(ip) commands the task ran (or would run, in check mode), as argument lists.
  returned: success
  type: list
  elements: list
  sample: [["ip", "addr", "add", "192.168.100.10/32", "dev", "lo", "label", "lo:0"]]
"""

import ipaddress
import json

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.lvs.ha.plugins.module_utils.netdev import label_problem

C_ENV = {"LANG": "C", "LC_ALL": "C"}


class VipError(Exception):
    """Bad input or unexpected system state; the message is shown to the user as is."""


def normalise_request(address, interface, prefix=None, label=None, state="present"):
    """Check the user's input; return the wanted object (None for absent) and the canonical address text."""
    text = address.strip()
    given_prefix = None
    if "/" in text:
        text, _sep, plen = text.partition("/")
        try:
            given_prefix = int(plen)
        except ValueError:
            raise VipError(f"address: {address!r} has a prefix that is not a number") from None
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        raise VipError(f"address: {address!r} is not an IPv4 or IPv6 address") from None
    family = "inet" if ip.version == 4 else "inet6"
    if given_prefix is not None and prefix is not None and given_prefix != prefix:
        raise VipError(f"address: prefix /{given_prefix} in {address!r} differs from prefix={prefix}")
    if prefix is None:
        prefix = given_prefix if given_prefix is not None else ip.max_prefixlen
    if not 0 <= prefix <= ip.max_prefixlen:
        raise VipError(f"prefix: {prefix} is out of range for IPv{ip.version} (0-{ip.max_prefixlen})")
    if label is not None:
        if ip.version == 6:
            raise VipError("label: IPv6 addresses have no labels; leave label unset")
        problem = label_problem(label, interface)
        if problem:
            raise VipError(f"label: {label!r} {problem}")
    if state == "absent":
        return None, str(ip)
    wanted = {"interface": interface, "address": str(ip), "prefix": prefix, "family": family, "label": label}
    return wanted, str(ip)


def parse_ip_addr_json(text, interface):
    """Turn `ip -json addr show dev IFACE` output into a list of address dicts of that interface."""
    try:
        links = json.loads(text or "[]")
    except ValueError as exc:
        raise VipError(f"cannot parse the JSON output of 'ip -json addr show dev {interface}': {exc}") from None
    entries = []
    for link in links:
        if link.get("ifname") != interface:
            continue
        for info in link.get("addr_info", []):
            if info.get("family") not in ("inet", "inet6") or "local" not in info:
                continue
            entries.append(
                {
                    "interface": interface,
                    "address": str(ipaddress.ip_address(info["local"])),
                    "prefix": int(info["prefixlen"]),
                    "family": info["family"],
                    "label": info.get("label") if info["family"] == "inet" else None,
                }
            )
    return entries


def _argv(verb, entry):
    argv = ["ip", "addr", verb, f"{entry['address']}/{entry['prefix']}", "dev", entry["interface"]]
    if verb == "add" and entry.get("label"):
        argv += ["label", entry["label"]]
    return argv


def plan(current, address, wanted):
    """Compare the interface's addresses with the wanted object.

    current: entries from parse_ip_addr_json; address: canonical address text; wanted: dict or None (absent).
    Returns (before, after, commands): the entries of this address before and after, and the argv lists to run.
    """
    before = [entry for entry in current if entry["address"] == address]
    if wanted is None:
        return before, [], [_argv("del", entry) for entry in before]
    keep = next(
        (
            entry
            for entry in before
            if entry["prefix"] == wanted["prefix"] and wanted["label"] in (None, entry["label"])
        ),
        None,
    )
    commands = [_argv("del", entry) for entry in before if entry is not keep]
    if keep is None:
        commands.append(_argv("add", wanted))
        keep = dict(wanted)
        if keep["family"] == "inet" and keep["label"] is None:
            keep["label"] = wanted["interface"]  # what the kernel assigns
    return before, [keep], commands


def diff_view(interface, address, entries):
    """Structured, readable view of one address on one interface for diff mode."""
    return {
        "interface": interface,
        "address": address,
        "entries": [{"prefix": entry["prefix"], "label": entry["label"]} for entry in entries],
    }


def run(module, argv):
    rc, out, err = module.run_command(argv, environ_update=C_ENV)
    if rc != 0:
        module.fail_json(
            msg=f"'{' '.join(argv)}' failed: {err.strip() or out.strip()}", rc=rc, stdout=out, stderr=err, cmd=argv
        )


def read_interface(module, ip_cmd, interface):
    argv = [ip_cmd, "-json", "addr", "show", "dev", interface]
    rc, out, err = module.run_command(argv, environ_update=C_ENV)
    if rc != 0:
        if "does not exist" in err:
            module.fail_json(msg=f"interface: {interface!r} does not exist", rc=rc, stdout=out, stderr=err, cmd=argv)
        module.fail_json(msg=f"'{' '.join(argv)}' failed: {err.strip()}", rc=rc, stdout=out, stderr=err, cmd=argv)
    return parse_ip_addr_json(out, interface)


def main():
    module = AnsibleModule(
        argument_spec={
            "address": {"type": "str", "required": True},
            "interface": {"type": "str", "required": True},
            "prefix": {"type": "int"},
            "label": {"type": "str"},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        },
        supports_check_mode=True,
    )
    params = module.params
    ip_cmd = module.get_bin_path("ip", required=True)
    try:
        wanted, address = normalise_request(
            params["address"], params["interface"], params["prefix"], params["label"], params["state"]
        )
    except VipError as exc:
        module.fail_json(msg=str(exc))

    try:
        current = read_interface(module, ip_cmd, params["interface"])
    except VipError as exc:
        module.fail_json(msg=str(exc))
    before, after, commands = plan(current, address, wanted)

    if commands and not module.check_mode:
        for argv in commands:
            run(module, [ip_cmd] + argv[1:])

    module.exit_json(
        changed=bool(commands),
        vip=after[0] if after else None,
        commands=commands,
        diff={
            "before": diff_view(params["interface"], address, before),
            "after": diff_view(params["interface"], address, after),
        },
    )


if __name__ == "__main__":
    main()
