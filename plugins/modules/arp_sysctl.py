# Copyright: (c) 2025, lvs.ha maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: arp_sysctl
short_description: Set the ARP behaviour an LVS direct-routing real server needs
version_added: 0.1.0
description:
  - Sets C(net.ipv4.conf.<interface>.arp_ignore) and C(net.ipv4.conf.<interface>.arp_announce) for a list of
    interfaces, live through C(/proc/sys/net/ipv4/conf) and persisted in one file the module owns.
  - With the defaults (V(1) and V(2) on C(all) and C(lo)) a real server holding the VIP on C(lo) neither answers
    ARP requests for the VIP nor uses it as the source of its own ARP requests, so only the director owns it.
  - The file is written atomically, only when its content changes; its content is deterministic (a header
    comment and sorted lines), so the module owns it entirely.
  - O(state=absent) restores the kernel defaults (V(0) and V(0)) on the listed interfaces and removes the file.
options:
  interfaces:
    description:
      - Interfaces to configure, as named under C(/proc/sys/net/ipv4/conf), including the pseudo interfaces
        V(all) and V(default). Each must exist.
      - The kernel uses the higher of the C(all) value and the interface's value for both settings.
    type: list
    elements: str
    default: [all, lo]
  arp_ignore:
    description:
      - Value of C(arp_ignore) on every listed interface. V(1) answers ARP requests only for addresses on the
        interface the request arrived on.
      - The kernel documents V(0) to V(3) and V(8); V(4) to V(7) are reserved and refused here.
      - Ignored with O(state=absent).
    type: int
    choices: [0, 1, 2, 3, 8]
    default: 1
  arp_announce:
    description:
      - Value of C(arp_announce) on every listed interface. V(2) always uses the best local address of the
        outgoing interface as the source of ARP requests.
      - Ignored with O(state=absent).
    type: int
    choices: [0, 1, 2]
    default: 2
  path:
    description:
      - The sysctl file the module owns and rewrites as a whole. Its directory must exist.
    type: path
    default: /etc/sysctl.d/90-lvs-ha-arp.conf
  state:
    description:
      - V(present) applies the values and writes the file; V(absent) sets both values back to V(0) on the
        listed interfaces and removes the file.
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
    details: Linux only (C(/proc/sys/net/ipv4/conf)).
notes:
  - The module writes C(/proc/sys) directly and does not run C(sysctl --system); the file takes effect at boot.
  - Other files in C(/etc/sysctl.d) that set the same keys are not inspected; a later file (by name) wins at boot.
author:
  - lvs.ha maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: ARP silence for a DR real server that holds its VIPs on lo
  lvs.ha.arp_sysctl:

- name: Also on the real interface, with the strictest announce
  lvs.ha.arp_sysctl:
    interfaces: [all, lo, ens33]
    arp_ignore: 1
    arp_announce: 2

- name: Back to kernel defaults and remove the file
  lvs.ha.arp_sysctl:
    interfaces: [all, lo, ens33]
    state: absent
"""

RETURN = r"""
interfaces:
  description: The values on each listed interface after the task (as they would be, in check mode).
  returned: success
  type: dict
  sample: {"all": {"arp_ignore": 1, "arp_announce": 2}, "lo": {"arp_ignore": 1, "arp_announce": 2}}
path:
  description: The file the module owns.
  returned: success
  type: str
  sample: /etc/sysctl.d/90-lvs-ha-arp.conf
content:
  description: Content of the file after the task; V(null) when it is absent.
  returned: success
  type: str
  sample: |
    # Managed by lvs.ha.arp_sysctl; rewritten as a whole on every change.
    # ARP behaviour of an LVS direct-routing real server.
    net.ipv4.conf.all.arp_announce = 2
    net.ipv4.conf.all.arp_ignore = 1
    net.ipv4.conf.lo.arp_announce = 2
    net.ipv4.conf.lo.arp_ignore = 1
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.lvs.ha.plugins.module_utils.netdev import ARP_ANNOUNCE, ARP_IGNORE, IFNAME_MAX

PROC_CONF = "/proc/sys/net/ipv4/conf"
KEYS = ("arp_announce", "arp_ignore")
HEADER = (
    "# Managed by lvs.ha.arp_sysctl; rewritten as a whole on every change.\n"
    "# ARP behaviour of an LVS direct-routing real server.\n"
)


class ArpError(Exception):
    """Bad input or unexpected system state; the message is shown to the user as is."""


def check_interfaces(interfaces):
    """Return the sorted, de-duplicated interface names, refusing names that cannot be a sysctl directory."""
    for name in interfaces:
        if not name or "/" in name or name in (".", "..") or len(name) > IFNAME_MAX:
            raise ArpError(f"interfaces: {name!r} is not a valid interface name")
    return sorted(set(interfaces))


def read_live(interfaces, proc_conf=PROC_CONF):
    """Read both values of every interface; fail naming the first missing interface before anything is written."""
    missing = [name for name in interfaces if not os.path.isdir(os.path.join(proc_conf, name))]
    if missing:
        names = ", ".join(repr(name) for name in missing)
        raise ArpError(
            f"interfaces: {names} {'does' if len(missing) == 1 else 'do'} not exist (no {proc_conf}/{missing[0]})"
        )
    live = {}
    for name in interfaces:
        live[name] = {}
        for key in KEYS:
            with open(os.path.join(proc_conf, name, key)) as handle:
                live[name][key] = int(handle.read().strip())
    return live


def sysctl_key(interface, key):
    """The sysctl.d key; the slash form keeps a dotted interface name (VLAN ens33.100) unambiguous."""
    if "." in interface:
        return f"net/ipv4/conf/{interface}/{key}"
    return f"net.ipv4.conf.{interface}.{key}"


def render(wanted):
    """Deterministic file content for {interface: {key: value}}."""
    lines = sorted(
        f"{sysctl_key(name, key)} = {value}" for name, values in wanted.items() for key, value in values.items()
    )
    return HEADER + "".join(f"{line}\n" for line in lines)


def read_file(path, state):
    """Current content of the owned file (None if absent); a present state needs the directory to exist."""
    directory = os.path.dirname(path) or "."
    if state == "present" and not os.path.isdir(directory):
        raise ArpError(f"path: directory {directory} does not exist")
    try:
        with open(path) as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def plan(live, state, arp_ignore, arp_announce):
    """Return (wanted live values, wanted file content or None) for the given state."""
    if state == "absent":
        values = {"arp_announce": 0, "arp_ignore": 0}
    else:
        values = {"arp_announce": arp_announce, "arp_ignore": arp_ignore}
    wanted = {name: dict(values) for name in live}
    content = render(wanted) if state == "present" else None
    return wanted, content


def write_live(live, wanted, proc_conf=PROC_CONF):
    """Write only the values that differ."""
    for name, values in wanted.items():
        for key, value in values.items():
            if live[name][key] != value:
                with open(os.path.join(proc_conf, name, key), "w") as handle:
                    handle.write(f"{value}\n")


def write_file(module, path, content):
    """Write the whole file through a temporary file in the same directory and an atomic rename."""
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", dir=os.path.dirname(path) or ".")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(content)
        module.atomic_move(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def view(live, path, content):
    """Structured state for diff mode: live values and the file's lines."""
    return {"interfaces": live, "path": path, "file": content.splitlines() if content is not None else None}


def main():
    module = AnsibleModule(
        argument_spec={
            "interfaces": {"type": "list", "elements": "str", "default": ["all", "lo"]},
            "arp_ignore": {"type": "int", "choices": ARP_IGNORE, "default": 1},
            "arp_announce": {"type": "int", "choices": ARP_ANNOUNCE, "default": 2},
            "path": {"type": "path", "default": "/etc/sysctl.d/90-lvs-ha-arp.conf"},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        },
        supports_check_mode=True,
    )
    params = module.params
    path = params["path"]
    try:
        interfaces = check_interfaces(params["interfaces"])
        live = read_live(interfaces, PROC_CONF)
        current_content = read_file(path, params["state"])
        wanted, content = plan(live, params["state"], params["arp_ignore"], params["arp_announce"])
        live_changed = wanted != live
        file_changed = content != current_content
        if not module.check_mode:
            if live_changed:
                write_live(live, wanted, PROC_CONF)
            if file_changed:
                if content is None:
                    os.unlink(path)
                else:
                    write_file(module, path, content)
    except ArpError as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        module.fail_json(msg=f"{exc.filename}: {exc.strerror}")

    module.exit_json(
        changed=live_changed or file_changed,
        interfaces=wanted,
        path=path,
        content=content,
        diff={"before": view(live, path, current_content), "after": view(wanted, path, content)},
    )


if __name__ == "__main__":
    main()
