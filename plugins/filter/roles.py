# Copyright: (c) 2025, lvs.ha maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The roles' own input checks: the rules of plugin_utils/site_rules.py applied to the role variables, so a
role used without the site playbook refuses what the site preflight refuses (characters, ranges, cross-field
rules that an argument spec cannot say).

- director_check: problems in a mapping of lvs.ha.director variables (name -> value).
- realserver_check: problems in a mapping of lvs.ha.realserver variables.
- director_table_diff: how the kernel's IPVS table (lvs.ha.ipvs_info services) differs from director_services.
- director_ipvs_purge: which IPVS entries a static table removes (those that left the model).
- realserver_vip_plan: which VIPs to add (with a stable label) and which to remove on a real server's lo.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible_collections.lvs.ha.plugins.plugin_utils import site_rules as rules


def _mapping(variables, name):
    if not isinstance(variables, Mapping):
        raise AnsibleFilterError(f"{name}: expects a mapping of role variable names to values")
    return variables


def director_check(variables):
    """Messages naming each director_* variable at fault; empty when the input is sound."""
    return rules.director_errors(_mapping(variables, "director_check"))


def realserver_check(variables):
    """Messages naming each realserver_* variable at fault; empty when the input is sound."""
    return rules.realserver_errors(_mapping(variables, "realserver_check"))


def _wanted(services):
    table = {}
    for svc in services or []:
        key = (str(svc.get("protocol", "TCP")).lower(), str(svc["vip"]), int(svc["port"]))
        table[key] = {
            (str(rs["address"]), int(rs.get("port", svc["port"]))): int(rs.get("weight", 1))
            for rs in svc.get("real_servers", [])
        }
    return table


def director_table_diff(ipvs_services, services):
    """Differences between the IPVS table read from the kernel and the services the director should carry,
    as sentences (empty when they agree). Weights count; counters and other services' settings do not."""
    have = {}
    for svc in ipvs_services or []:
        if svc.get("address") is None:
            continue
        key = (str(svc["protocol"]), str(svc["address"]), int(svc["port"]))
        have[key] = {(str(rs["address"]), int(rs["port"])): int(rs["weight"]) for rs in svc.get("realservers", [])}
    diff = []
    want = _wanted(services)
    for key in sorted(set(want) | set(have)):
        name = f"{key[0].upper()} {key[1]}:{key[2]}"
        if key not in have:
            diff.append(f"{name}: missing from the kernel")
            continue
        if key not in want:
            diff.append(f"{name}: in the kernel but not in the model")
            continue
        for real in sorted(set(want[key]) | set(have[key])):
            rname = f"{name} -> {real[0]}:{real[1]}"
            if real not in have[key]:
                diff.append(f"{rname}: missing from the kernel")
            elif real not in want[key]:
                diff.append(f"{rname}: in the kernel but not in the model")
            elif want[key][real] != have[key][real]:
                diff.append(f"{rname}: weight {have[key][real]} in the kernel, {want[key][real]} in the model")
    return diff


RULES_SERVICE = re.compile(r"-A\s+(-t|-u|--sctp-service)\s+(\[[0-9a-fA-F:.]+\]|[0-9.]+):(\d+)")
RULES_PROTOCOL = {"-t": "tcp", "-u": "udp", "--sctp-service": "sctp"}


def director_ipvs_purge(ipvs_services, services, previous_rules="", mode="managed"):
    """The IPVS entries a static table removes, as {'services': [...], 'real_servers': [...]}.

    ipvs_services: lvs.ha.ipvs_info services (the kernel now); services: director_services (the model);
    previous_rules: the rules file the role wrote last time (the services it managed); mode: V(managed)
    removes services of that file that left the model, V(all) every service not in the model, V(none)
    nothing. Real servers not in the model are removed from every service of the model.
    """
    if mode not in rules.IPVS_PURGE_MODES:
        raise AnsibleFilterError(
            f"director_ipvs_purge: mode {mode!r} is not one of {', '.join(rules.IPVS_PURGE_MODES)}"
        )
    managed = set()
    for match in RULES_SERVICE.finditer(previous_rules or ""):
        managed.add((RULES_PROTOCOL[match.group(1)], match.group(2).strip("[]"), int(match.group(3))))
    want = _wanted(services)
    out = {"services": [], "real_servers": []}
    if mode == "none":
        return out
    for svc in ipvs_services or []:
        if svc.get("address") is None:
            continue
        key = (str(svc["protocol"]), str(svc["address"]), int(svc["port"]))
        if key not in want:
            if mode == "all" or key in managed:
                out["services"].append({"protocol": key[0], "address": key[1], "port": key[2]})
            continue
        for real in svc.get("realservers", []):
            if (str(real["address"]), int(real["port"])) not in want[key]:
                out["real_servers"].append(
                    {
                        "protocol": key[0],
                        "service_address": key[1],
                        "service_port": key[2],
                        "address": str(real["address"]),
                        "port": int(real["port"]),
                    }
                )
    return out


def realserver_vip_plan(links, vips, interface):
    """The VIP changes on `interface`, from its addresses now (`links`: the parsed ``ip -json addr show dev``).

    Returns {'present': [{'address', 'prefix', 'label'}...], 'absent': [address...]}. The role owns the IPv4
    addresses labelled ``<interface>:<number>``: those not in `vips` are removed. A VIP already there keeps its
    label, so adding or removing one VIP never relabels (deletes and re-adds) the others; a new one takes the
    lowest free number. IPv6 addresses have no label.
    """
    owned = re.compile(rf"{re.escape(str(interface))}:(\d+)")
    now = {}
    for link in links or []:
        for addr in link.get("addr_info", []):
            if addr.get("family") == "inet":
                now[str(addr.get("local"))] = str(addr.get("label", interface))
    wanted = sorted({str(v) for v in vips or []}, key=lambda v: ipaddress.ip_address(v).packed.rjust(16, b"\0"))
    absent = sorted(a for a, label in now.items() if owned.fullmatch(label) and a not in wanted)
    taken = {now[v] for v in wanted if v in now and owned.fullmatch(now[v])}
    present = []
    number = 0
    for vip in wanted:
        if ipaddress.ip_address(vip).version == 6:
            present.append({"address": vip, "prefix": 128, "label": None})
            continue
        label = now.get(vip)
        if label is None or not owned.fullmatch(label):
            while f"{interface}:{number}" in taken:
                number += 1
            label = f"{interface}:{number}"
            taken.add(label)
        present.append({"address": vip, "prefix": 32, "label": label})
    return {"present": present, "absent": absent}


class FilterModule:
    """lvs.ha role input filters."""

    def filters(self):
        return {
            "director_check": director_check,
            "realserver_check": realserver_check,
            "director_table_diff": director_table_diff,
            "realserver_vip_plan": realserver_vip_plan,
            "director_ipvs_purge": director_ipvs_purge,
        }
