# Copyright: (c) 2025, lvs.ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ipvs_table
short_description: Manage a whole IPVS table in one task
version_added: 0.2.0
description:
  - Takes the desired IPVS table, virtual services each with its real servers, reads the kernel's table once,
    works out the smallest set of changes (add, edit and delete of services and real servers) and applies them
    in one batch. With O(backend=netlink) the batch goes over one netlink socket; with O(backend=ipvsadm) it is
    one C(ipvsadm -R) run fed only the lines of the changes (C(-A), C(-E), C(-D), C(-a), C(-e), C(-d)).
  - >-
    Every service and real server is declared in full, with the options and defaults of
    M(lvs.ha.ipvs_service) and M(lvs.ha.ipvs_realserver); bad input fails naming the entry and option, for
    example C(services[3].real_servers[0].weight: 70000 is outside 0..65535), before anything is read or written.
  - A service is identified by its protocol, address and port (or firewall mark and family), a real server by its
    address and port. Every other setting is changed in place (C(ipvsadm -E) or C(-e)), which keeps the
    connections of the service or real server; a new key is another service or real server (added, and the old
    one removed as O(purge) says).
  - Changes are applied additions and edits first, deletions last, so a service whose real servers are replaced
    always has some.
  - What is not listed is removed as O(purge) says. The default removes only what this task owns, see O(purge).
  - Optionally saves the listed services to a rules file that C(ipvsadm -R) restores at boot (O(save_to)).
options:
  services:
    description:
      - The virtual services, each with its real servers. An empty list is allowed (with O(purge=all) it empties
        the table).
      - Each entry is named by O(services[].address) and O(services[].port) (with O(services[].protocol)) or by
        O(services[].fwmark) (with O(services[].family)); an entry may not be listed twice.
    type: list
    elements: dict
    required: true
    suboptions:
      protocol:
        description:
          - Protocol of a service keyed by address and port. Ignored with O(services[].fwmark).
        type: str
        choices: [tcp, udp, sctp]
        default: tcp
      address:
        description:
          - Virtual IPv4 or IPv6 address. Required unless O(services[].fwmark) is given.
        type: str
      port:
        description:
          - Virtual port, 1 to 65535; V(0) (all ports) only with O(services[].persistence_timeout).
          - Required with O(services[].address).
        type: int
      fwmark:
        description:
          - Firewall mark (1 to 4294967295) of a service keyed by mark instead of protocol, address and port.
          - Mutually exclusive with O(services[].address) and O(services[].port).
        type: int
      family:
        description:
          - Address family of a service keyed by O(services[].fwmark) (V(ipv4) when not given).
          - For a service keyed by address it follows from the address; if given it must agree.
        type: str
        choices: [ipv4, ipv6]
      scheduler:
        description:
          - Scheduling algorithm; the kernel must have the matching C(ip_vs_<name>) module (C(twos) needs
            Linux 6.2 or later).
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
          - Granularity of persistence as a prefix length (V(24) groups clients by /24; for IPv6 up to V(128)).
          - Defaults to the full length. Needs O(services[].persistence_timeout).
        type: int
      sched_flags:
        description:
          - Scheduler flags; C(sh-*) only with O(services[].scheduler=sh), C(mh-*) only with
            O(services[].scheduler=mh).
        type: list
        elements: str
        choices: [sh-fallback, sh-port, mh-fallback, mh-port]
        default: []
      one_packet:
        description:
          - One-packet scheduling (C(ops)), for UDP services.
        type: bool
        default: false
      real_servers:
        description:
          - The real servers of the service. With O(purge=managed) or O(purge=all) the service has exactly these;
            with O(purge=none) others already in the kernel stay.
        type: list
        elements: dict
        default: []
        suboptions:
          address:
            description:
              - IPv4 or IPv6 address of the real server; of the service's family except with
                O(services[].real_servers[].forwarding=tunnel).
            type: str
            required: true
          port:
            description:
              - Port of the real server, 1 to 65535; only meaningful with
                O(services[].real_servers[].forwarding=nat), where it defaults to the service port.
              - With V(dr) and V(tunnel) the real server port is the service port; another value is replaced, with
                a warning.
            type: int
          forwarding:
            description:
              - Forwarding method. V(dr) is direct routing, V(nat) masquerading, V(tunnel) IP-in-IP.
            type: str
            choices: [dr, nat, tunnel]
            default: dr
          weight:
            description:
              - Weight, 0 to 65535. V(0) makes the real server quiescent (no new connections).
            type: int
            default: 1
          upper_threshold:
            description:
              - Upper connection threshold; V(0) means no limit.
            type: int
            default: 0
          lower_threshold:
            description:
              - Lower connection threshold; V(0) means unset.
            type: int
            default: 0
  purge:
    description:
      - What is removed from the kernel besides what O(services) changes.
      - V(managed) (the default) removes, in each listed service, the real servers that are not listed, and the
        services that the rules file of O(save_to) held from the previous run but O(services) no longer lists.
        Without O(save_to) only the real servers. A service this task never listed is never touched.
      - V(all) makes the kernel table exactly O(services), removing every other service, also those of
        keepalived, another tool or a person.
      - V(none) removes nothing; a listed service keeps real servers that are not listed.
      - V(managed) is the default because the kernel has one IPVS table for every program on the host, and
        deleting a service that someone else created drops its connections. Use V(all) only where this task owns
        the whole table.
    type: str
    choices: [managed, all, none]
    default: managed
  save_to:
    description:
      - Write the listed services with their real servers, as this task leaves them, to this file in the format
        that C(ipvsadm -R) reads, for a unit that restores the table at boot (for example
        C(grep -v '^#' FILE | ipvsadm -R), as the restore unit of the C(lvs.ha.director) role runs it).
      - Services of the kernel that O(services) does not list are not written.
      - The file holds rule lines only, because C(ipvsadm -R) stops at a comment line (exit code 255), so
        C(ipvsadm -R < FILE) restores it as well as the role's command does. It is written atomically (a temporary
        file in the same folder, then renamed), with mode C(0644), and its folder is created when missing. The task reports a change only
        when the content (or the mode) changes; in check mode it reports it and writes nothing.
      - The next run reads the services it holds for O(purge=managed). The file is the task's record of what it
        owns, so give each task its own file (two tasks sharing one would purge each other's services).
    type: path
  return_table:
    description:
      - Return the whole kernel table after the task as RV(table).
      - Off by default, because with thousands of real servers the table is most of the result, and Ansible
        walks and serialises every value of a result, on the target and again on the controller. RV(changes) is
        returned either way, and diff mode shows the table before and after as text.
    type: bool
    default: false
extends_documentation_fragment:
  - lvs.ha.ipvs
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads the kernel and the rules file, reports the same changes and writes nothing.
  diff_mode:
    support: full
    details: The whole table before and after as text, after C(ipvsadm -L -n), without counters.
  platform:
    platforms: posix
    details: Linux only, with the ip_vs kernel module loaded.
notes:
  - The batch is applied in order. With O(backend=netlink) it stops at the first change the kernel refuses and
    the failure names that change and how many went before. C(ipvsadm -R) goes on with the next lines after a
    refused one and may still exit 0, so any output on its stderr fails the task, with C(cmd), C(rc), C(stdout)
    and C(stderr). Either way the result lists the planned changes in RV(changes); run the task again to finish,
    as it plans from what the kernel then holds.
  - Do not let this module and keepalived's C(virtual_server) manage the same service.
seealso:
  - module: lvs.ha.ipvs_service
  - module: lvs.ha.ipvs_realserver
  - module: lvs.ha.ipvs_info
author:
  - lvs.ha maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: The whole static table of a director, saved for the next boot
  lvs.ha.ipvs_table:
    services:
      - address: 192.168.100.10
        port: 80
        scheduler: wrr
        real_servers:
          - {address: 192.168.100.221, weight: 2}
          - {address: 192.168.100.222, weight: 1}
      - address: 192.168.100.10
        port: 443
        scheduler: wlc
        persistence_timeout: 600
        persistence_netmask: 24
        real_servers:
          - address: 192.168.100.221
          - address: 192.168.100.222
      - fwmark: 7
        scheduler: sh
        sched_flags: [sh-port]
        real_servers:
          - address: 192.168.100.223
    save_to: /etc/lvs-ha/ipvs.rules

- name: Drain web1 (weight 0) and leave every service not listed alone
  lvs.ha.ipvs_table:
    services:
      - address: 192.168.100.10
        port: 80
        scheduler: wrr
        real_servers:
          - {address: 192.168.100.221, weight: 0}
          - {address: 192.168.100.222, weight: 1}
    purge: none

- name: What would change, without changing anything
  lvs.ha.ipvs_table:
    services: "{{ my_services }}"
    purge: all
  check_mode: true
  diff: true
  register: plan

- name: Show the planned changes
  ansible.builtin.debug:
    msg: "{{ plan.changes | map(attribute='description') }}"

- name: The table as the kernel holds it after the task, for later tasks
  lvs.ha.ipvs_table:
    services: "{{ my_services }}"
    return_table: true
  register: ipvs

- name: Show the addresses of the virtual services
  ansible.builtin.debug:
    msg: "{{ ipvs.table | map(attribute='address') }}"
"""

RETURN = r"""
changes:
  description:
    - The changes, in the order they were applied (would be, in check mode); empty when the kernel already
      matched.
  returned: always
  type: list
  elements: dict
  sample:
    - action: edit
      kind: realserver
      description: "edit real server 192.168.100.221:80 of tcp 192.168.100.10:80: weight 2 -> 0"
      rule: "-e -t 192.168.100.10:80 -r 192.168.100.221:80 -g -w 0 -x 0 -y 0"
      service: {protocol: tcp, address: 192.168.100.10, port: 80, fwmark: null, family: ipv4, scheduler: wrr,
                persistence_timeout: 0, persistence_netmask: 32, sched_flags: [], one_packet: false}
      realserver: {address: 192.168.100.221, port: 80, family: ipv4, forwarding: dr, weight: 0,
                   upper_threshold: 0, lower_threshold: 0}
  contains:
    action:
      description: V(add), V(edit) or V(delete).
      type: str
    kind:
      description: V(service) or V(realserver).
      type: str
    description:
      description: The change in words; an edit names each setting with its old and new value.
      type: str
    rule:
      description: The change as a line of C(ipvsadm -R) input (what the ipvsadm backend runs).
      type: str
    service:
      description: The service (for a real server, the service it belongs to), in the form of RV(table).
      type: dict
    realserver:
      description: The real server, in the form of the real servers of RV(table); null for a service.
      type: dict
table:
  description:
    - The whole kernel table after the task (as it would be, in check mode), sorted like M(lvs.ha.ipvs_info)
      sorts it, without counters. Includes services the task did not list, unless O(purge=all).
  returned: when O(return_table=true)
  type: list
  elements: dict
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
    realservers:
      description: The real servers, sorted by family, address and port.
      type: list
      elements: dict
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
saved:
  description: The rules file of O(save_to) and whether its content or mode changed (would change, in check mode).
  returned: when O(save_to) is given
  type: dict
  sample: {path: /etc/lvs-ha/ipvs.rules, changed: true}
  contains:
    path:
      description: The file.
      type: str
    changed:
      description: Whether the file was (would be) written or its mode set.
      type: bool
backend:
  description: The backend that was used, V(netlink) or V(ipvsadm).
  returned: always
  type: str
  sample: netlink
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.lvs.ha.plugins.module_utils.ipvs import (
    BACKEND_SPEC,
    PURGE_MODES,
    REALSERVER_SPEC,
    SERVICE_KEY_SPEC,
    SERVICE_SPEC,
    IPVSError,
    change,
    config_of,
    describe_change,
    describe_service,
    format_endpoint,
    get_backend,
    ipvsadm_line,
    parse_ipvsadm_save,
    realserver_from_params,
    realserver_key,
    rules_text,
    service_from_params,
    service_key,
    service_key_rules,
    sort_table,
    table_text,
)

ARGUMENT_SPEC = {
    "services": {
        "type": "list",
        "elements": "dict",
        "required": True,
        "options": {
            **SERVICE_KEY_SPEC,
            "address": {"type": "str"},
            "port": {"type": "int"},
            **SERVICE_SPEC,
            "real_servers": {"type": "list", "elements": "dict", "default": [], "options": REALSERVER_SPEC},
        },
        **service_key_rules(),
    },
    "purge": {"type": "str", "default": "managed", "choices": PURGE_MODES},
    "save_to": {"type": "path"},
    "return_table": {"type": "bool", "default": False},
    **BACKEND_SPEC,
}
RULES_MODE = 0o644


def desired_table(services: list[dict]) -> tuple[list[dict], list[str]]:
    """(the table the task asks for, sorted, warnings); raises IPVSError naming the entry and option."""
    table, warnings, listed = [], [], {}
    for i, params in enumerate(services):
        where = f"services[{i}]."
        svc = service_from_params(params, where=where)
        key = service_key(svc)
        if key in listed:
            raise IPVSError(f"services[{i}]: {describe_service(svc)} is listed twice (also services[{listed[key]}])")
        listed[key] = i
        svc["realservers"], seen = [], {}
        for j, rs_params in enumerate(params["real_servers"]):
            rs, rs_warnings = realserver_from_params(rs_params, svc, where=f"{where}real_servers[{j}].")
            warnings += rs_warnings
            rkey = realserver_key(rs)
            if rkey in seen:
                raise IPVSError(
                    f"{where}real_servers[{j}]: {format_endpoint(*rkey)} is listed twice in {describe_service(svc)} "
                    f"(also real_servers[{seen[rkey]}])"
                )
            seen[rkey] = j
            svc["realservers"].append(rs)
        table.append(svc)
    return sort_table(table), warnings


def plan(current: list[dict], desired: list[dict], purge: str = "managed", managed: frozenset = frozenset()):
    """The smallest list of changes from `current` to `desired`, in the order to apply them: services added or
    edited, real servers added or edited, real servers deleted, services deleted. `managed`: the keys of the
    services the previous run saved (purge=managed deletes those no longer desired)."""
    now = {service_key(svc): svc for svc in current}
    services, realservers, gone_realservers, gone_services = [], [], [], []
    for svc in desired:
        config = config_of(svc)
        have = now.get(service_key(svc))
        if have is None:
            services.append(change("add", config))
        elif config_of(have) != config:
            services.append(change("edit", config))
        have_rs = {realserver_key(rs): rs for rs in (have or {}).get("realservers", [])}
        for rs in svc["realservers"]:
            old = have_rs.pop(realserver_key(rs), None)
            if old is None:
                realservers.append(change("add", config, rs))
            elif config_of(old) != rs:
                realservers.append(change("edit", config, rs))
        if purge != "none":
            gone_realservers += [change("delete", config, config_of(rs)) for rs in have_rs.values()]
    if purge != "none":
        wanted = {service_key(svc) for svc in desired}
        for svc in current:
            key = service_key(svc)
            if key not in wanted and (purge == "all" or key in managed):
                gone_services.append(change("delete", config_of(svc)))
    return services + realservers + gone_realservers + gone_services


def simulate(current: list[dict], changes: list[dict]) -> list[dict]:
    """The table after `changes` (config only, sorted): what the task returns, in check mode too."""
    table = {
        service_key(svc): (config_of(svc), {realserver_key(rs): config_of(rs) for rs in svc["realservers"]})
        for svc in current
    }
    for chg in changes:
        key, svc, rs = service_key(chg["service"]), chg["service"], chg["realserver"]
        if chg["kind"] == "service":
            if chg["action"] == "delete":
                del table[key]
            else:
                table[key] = (dict(svc), table[key][1] if chg["action"] == "edit" else {})
        elif chg["action"] == "delete":
            del table[key][1][realserver_key(rs)]
        else:
            table[key][1][realserver_key(rs)] = dict(rs)
    return sort_table([dict(svc, realservers=list(rss.values())) for svc, rss in table.values()])


def explain(chg: dict, now: dict) -> dict:
    """The change as the task returns it: structured, with a description and its ipvsadm -R line. `now`: the
    services read from the kernel by key (an edit names each setting with its old and new value)."""
    text = describe_change(chg)
    if chg["action"] == "edit":
        old = now[service_key(chg["service"])]
        new = chg["service"]
        if chg["kind"] == "realserver":
            new = chg["realserver"]
            old = next(rs for rs in old["realservers"] if realserver_key(rs) == realserver_key(new))
        text += ": " + ", ".join(f"{k} {_show(old[k])} -> {_show(new[k])}" for k in new if old[k] != new[k])
    return dict(chg, description=text, rule=ipvsadm_line(chg))


def _show(value) -> str:
    if isinstance(value, list):
        return ",".join(value) or "none"
    return str(value)


def saved_services(path: str, text: str | None) -> frozenset:
    """The keys of the services (-A lines) of a rules file written before."""
    lines = [line for line in (text or "").splitlines() if line.split()[:1] == ["-A"]]
    try:
        return frozenset(service_key(svc) for svc in parse_ipvsadm_save("\n".join(lines)))
    except (ValueError, KeyError, IndexError) as e:
        raise IPVSError(f"save_to: {path} has a service line this module cannot read ({e}); fix or remove it") from e


def read_rules(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        raise IPVSError(f"save_to: cannot read {path}: {e}") from e


def save_rules(module: AnsibleModule, path: str, old: str | None, text: str) -> bool:
    """Write `text` to `path` atomically with mode 0644 when it differs; whether it did (would, in check mode)."""
    changed = old != text
    if changed and not module.check_mode:
        folder = os.path.dirname(path) or "."
        try:
            os.makedirs(folder, mode=0o755, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".ipvs_table.")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.chmod(tmp, RULES_MODE)
        except OSError as e:
            raise IPVSError(f"save_to: cannot write {path}: {e}") from e
        module.atomic_move(tmp, path)
    if os.path.exists(path):
        changed = module.set_mode_if_different(path, RULES_MODE, changed)
    return changed


def run(module: AnsibleModule) -> dict:
    params = module.params
    desired, warnings = desired_table(params["services"])
    for warning in warnings:
        module.warn(warning)
    save_to = params["save_to"]
    old_rules = read_rules(save_to) if save_to else None
    managed = saved_services(save_to, old_rules) if params["purge"] == "managed" else frozenset()
    backend = get_backend(module, params["backend"])
    current = sort_table(backend.read())
    planned = plan(current, desired, params["purge"], managed)
    now = {service_key(svc): svc for svc in current}
    changes = [explain(chg, now) for chg in planned]
    result = {"changes": changes, "backend": backend.name}
    if planned and not module.check_mode:
        try:
            backend.apply(planned)
        except IPVSError as e:
            e.result = result
            raise
    after = simulate(current, planned) if params["return_table"] or module._diff else None
    if params["return_table"]:
        result["table"] = after
    changed = bool(planned)
    if save_to:
        saved = save_rules(module, save_to, old_rules, rules_text(desired))
        result["saved"] = {"path": save_to, "changed": saved}
        changed |= saved
    if module._diff:
        result["diff"] = {
            "before_header": "IPVS table",
            "before": table_text(current),
            "after_header": "IPVS table",
            "after": table_text(after),
        }
    return dict(result, changed=changed)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        result = run(module)
    except IPVSError as e:
        module.fail_json(**e.fail_args(), **getattr(e, "result", {}))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
