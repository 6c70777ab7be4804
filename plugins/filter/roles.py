# Copyright: (c) 2025, lvs.ha maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The roles' own input checks: the rules of plugin_utils/site_rules.py applied to the role variables, so a
role used without the site playbook refuses what the site preflight refuses (characters, ranges, cross-field
rules that an argument spec cannot say).

- director_check: problems in a mapping of lvs.ha.director variables (name -> value).
- realserver_check: problems in a mapping of lvs.ha.realserver variables.
- director_table_diff: how the kernel's IPVS table (lvs.ha.ipvs_info services) differs from director_services.
- director_ipvs_table: director_services as the services option of lvs.ha.ipvs_table (the static table).
- director_drained: the addresses of a director's drained list (the file lvs.ha.drain writes).
- director_drain: director_services with weight 0 for each drained real server.
- director_keepalived_weights: a keepalived.conf the role wrote, with the real servers' weights of given services.
- director_vip_holders: what is wrong with where the VIPs are (each on exactly one director; none on one away).
- director_vip_holding: which directors hold any of some VIPs.
- director_handback: how far to lower a director's priority while it comes back from maintenance.
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


def _netmask_prefix(value, var):
    """A persistence granularity (a netmask such as 255.255.255.0, or a prefix length) as a prefix length."""
    text = str(value)
    if text.isdigit():
        return int(text)
    try:
        return ipaddress.ip_network(f"0.0.0.0/{text}").prefixlen
    except ValueError as e:
        raise AnsibleFilterError(f"{var}: {text!r} is not a netmask (such as 255.255.255.0) or a prefix length") from e


def director_ipvs_table(services):
    """director_services (or director_drain's output) as the services option of lvs.ha.ipvs_table.

    Defaults are the role's (protocol TCP, scheduler rr, forwarding dr, weight 1). A real server's port is kept
    only with forwarding nat, where it may differ from the service port.
    """
    table = []
    for idx, svc in enumerate(services or []):
        forwarding = str(svc.get("forwarding", "dr"))
        entry = {
            "protocol": str(svc.get("protocol", "TCP")).lower(),
            "address": str(svc["vip"]),
            "port": int(svc["port"]),
            "scheduler": str(svc.get("scheduler", "rr")),
            "persistence_timeout": int(svc.get("persistence_timeout", 0)),
        }
        if entry["persistence_timeout"] > 0 and svc.get("persistence_granularity") is not None:
            entry["persistence_netmask"] = _netmask_prefix(
                svc["persistence_granularity"], f"director_services[{idx}].persistence_granularity"
            )
        entry["real_servers"] = []
        for real in svc.get("real_servers", []):
            rs = {"address": str(real["address"]), "forwarding": forwarding, "weight": int(real.get("weight", 1))}
            if forwarding == "nat":
                rs["port"] = int(real.get("port", svc["port"]))
            entry["real_servers"].append(rs)
        table.append(entry)
    return table


def director_drained(text, path="the drained list"):
    """The addresses in a director's drained list (the text of the file lvs.ha.drain writes): one address a line,
    blank lines and what follows a '#' ignored. Anything else fails naming the file and the line."""
    out = []
    for number, line in enumerate(str(text or "").splitlines(), 1):
        word = line.split("#", 1)[0].strip()
        if not word:
            continue
        try:
            address = str(ipaddress.ip_address(word))
        except ValueError:
            raise AnsibleFilterError(f"{path}, line {number}: {word!r} is not an IP address") from None
        if address not in out:
            out.append(address)
    return out


def _canonical(address):
    try:
        return str(ipaddress.ip_address(str(address)))
    except ValueError:
        return str(address)


def director_drain(services, drained):
    """director_services with weight 0 for every real server whose address is in `drained`: no new connection
    goes to it, and those it has keep going (IPVS quiescent real servers)."""
    gone = {_canonical(address) for address in drained or []}
    out = []
    for svc in services or []:
        reals = [
            dict(real, weight=0) if _canonical(real.get("address")) in gone else real
            for real in svc.get("real_servers", [])
        ]
        out.append(dict(svc, real_servers=reals))
    return out


KEEPALIVED_VS = re.compile(r"^\s*virtual_server\s+(\S+)\s+(\d+)\s*\{")
KEEPALIVED_RS = re.compile(r"^\s*real_server\s+(\S+)\s+(\d+)\s*\{")
KEEPALIVED_PROTOCOL = re.compile(r"^\s*protocol\s+(\S+)")
KEEPALIVED_WEIGHT = re.compile(r"^(\s*weight\s+)(\d+)(\s*)$")


def director_keepalived_weights(text, services):
    """A keepalived.conf that the director role wrote, with each real server's weight line set to its weight in
    `services` (as director_services, e.g. after director_drain): the file the role would write with these
    weights, without the role's other variables. Fails when a service or real server of `services` is not in
    the file (it was written from another model: run the role)."""
    wanted = {}
    for svc in services or []:
        key = (str(svc.get("protocol", "TCP")).upper(), _canonical(svc["vip"]), int(svc["port"]))
        for real in svc.get("real_servers", []):
            wanted[key + (_canonical(real["address"]), int(real.get("port", svc["port"])))] = int(real.get("weight", 1))
    lines = str(text).splitlines(keepends=True)
    # A virtual_server's protocol line may come anywhere in its block: read the blocks first.
    blocks, current = [], None
    for number, line in enumerate(lines):
        if KEEPALIVED_VS.match(line):
            current = {"match": KEEPALIVED_VS.match(line), "protocol": None, "lines": []}
            blocks.append(current)
        elif current is not None:
            found = KEEPALIVED_PROTOCOL.match(line)
            if found and current["protocol"] is None:
                current["protocol"] = found.group(1).upper()
            current["lines"].append(number)
    seen = set()
    for block in blocks:
        vs = (block["protocol"] or "TCP", _canonical(block["match"].group(1)), int(block["match"].group(2)))
        real = None
        for number in block["lines"]:
            found = KEEPALIVED_RS.match(lines[number])
            if found:
                real = vs + (_canonical(found.group(1)), int(found.group(2)))
                continue
            weight = KEEPALIVED_WEIGHT.match(lines[number].rstrip("\n"))
            if weight and real is not None and real in wanted:
                end = lines[number][len(lines[number].rstrip("\n")) :]
                lines[number] = f"{weight.group(1)}{wanted[real]}{weight.group(3)}{end}"
                seen.add(real)
                real = None
    missing = sorted(set(wanted) - seen)
    if missing:
        names = ", ".join(f"{k[0]} {k[1]}:{k[2]} -> {k[3]}:{k[4]}" for k in missing)
        raise AnsibleFilterError(f"director_keepalived_weights: not in keepalived.conf: {names}; run the director role")
    return "".join(lines)


def director_vip_holders(holdings, vips, away=""):
    """Sentences saying what is wrong with where the VIPs are (empty when all is well): every VIP must be on exactly
    one director, and none on `away` (a director being taken out of service).

    holdings: {director: [addresses on its VRRP interface]}; vips: the VIPs of the pair.
    """
    if not isinstance(holdings, Mapping):
        raise AnsibleFilterError("director_vip_holders: expects a mapping of directors to their addresses")
    held = {host: {_canonical(a) for a in addresses or []} for host, addresses in holdings.items()}
    problems = []
    for vip in sorted({_canonical(v) for v in vips or []}):
        holders = sorted(host for host, addresses in held.items() if vip in addresses)
        if away and away in holders:
            problems.append(f"{vip} is still on {away}")
        elif len(holders) != 1:
            problems.append(f"{vip} is on {len(holders)} directors ({', '.join(holders) or 'none'}), not one")
    return problems


def director_vip_holding(holdings, vips):
    """The directors (sorted) whose addresses include any of `vips`; holdings as for director_vip_holders."""
    if not isinstance(holdings, Mapping):
        raise AnsibleFilterError("director_vip_holding: expects a mapping of directors to their addresses")
    wanted = {_canonical(v) for v in vips or []}
    return sorted(host for host, addresses in holdings.items() if wanted & {_canonical(a) for a in addresses or []})


def director_handback(records, host):
    """The offset (0 or negative) for `host`'s priority offset file while lvs.ha.maintenance brings it back: it
    returns one below the highest priority of the other directors for its VIPs, so it comes back BACKUP and
    takes the VIPs only when their holder steps down (a priority-0 advert, after a hold). 0 when it would not take
    them back (nopreempt, a priority not above the others') or cannot be lowered: its record has no offset file
    (an address owner, several VRRP instances, a record of a role before 0.2.0), or another director's record
    does not say its priority.

    records: {director: the director role's record (/etc/lvs-ha/director.json)}.
    """
    if not isinstance(records, Mapping) or not isinstance(records.get(host), Mapping):
        raise AnsibleFilterError(f"director_handback: expects a mapping of directors to records, with {host!r}")
    own = records[host]
    instances = own.get("vrrp_instances") or []
    if not own.get("priority_offset_path") or len(instances) != 1 or not own.get("vrrp_preempt", False):
        return 0
    vips = {_canonical(v) for v in instances[0].get("vips", [])}
    others = []
    for name, record in records.items():
        if name == host:
            continue
        if not isinstance(record, Mapping) or "vrrp_instances" not in record:
            return 0
        others += [
            int(inst["priority"])
            for inst in record["vrrp_instances"]
            if vips & {_canonical(v) for v in inst.get("vips", [])}
        ]
    mine = int(instances[0]["priority"])
    if not others or mine <= max(others) or max(others) < 2:
        return 0
    return max(others) - 1 - mine


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
            "director_ipvs_table": director_ipvs_table,
            "director_drained": director_drained,
            "director_drain": director_drain,
            "director_keepalived_weights": director_keepalived_weights,
            "director_vip_holders": director_vip_holders,
            "director_vip_holding": director_vip_holding,
            "director_handback": director_handback,
        }
