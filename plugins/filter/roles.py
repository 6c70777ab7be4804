# Copyright: (c) 2025, lvs.ha maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The roles' own input checks: the rules of plugin_utils/site_rules.py applied to the role variables, so a
role used without the site playbook refuses what the site preflight refuses (characters, ranges, cross-field
rules that an argument spec cannot say).

- director_check: problems in a mapping of lvs.ha.director variables (name -> value).
- realserver_check: problems in a mapping of lvs.ha.realserver variables.
- director_table_diff: how the kernel's IPVS table (lvs.ha.ipvs_info services) differs from director_services.
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible_collections.lvs.ha.plugins.plugin_utils import site_rules as rules


def _mapping(variables, name):
    if not isinstance(variables, Mapping):
        raise AnsibleFilterError(f"{name}: expects a mapping of role variable names to values")
    return variables


def director_check(variables):
    """Messages naming each director_* variable at fault; empty when the input is sound."""
    return rules.director_errors(_mapping(variables, 'director_check'))


def realserver_check(variables):
    """Messages naming each realserver_* variable at fault; empty when the input is sound."""
    return rules.realserver_errors(_mapping(variables, 'realserver_check'))


def _wanted(services):
    table = {}
    for svc in services or []:
        key = (str(svc.get('protocol', 'TCP')).lower(), str(svc['vip']), int(svc['port']))
        table[key] = {(str(rs['address']), int(rs.get('port', svc['port']))): int(rs.get('weight', 1))
                      for rs in svc.get('real_servers', [])}
    return table


def director_table_diff(ipvs_services, services):
    """Differences between the IPVS table read from the kernel and the services the director should carry,
    as sentences (empty when they agree). Weights count; counters and other services' settings do not."""
    have = {}
    for svc in ipvs_services or []:
        if svc.get('address') is None:
            continue
        key = (str(svc['protocol']), str(svc['address']), int(svc['port']))
        have[key] = {(str(rs['address']), int(rs['port'])): int(rs['weight']) for rs in svc.get('realservers', [])}
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


class FilterModule:
    """lvs.ha role input filters."""

    def filters(self):
        return {
            'director_check': director_check,
            'realserver_check': realserver_check,
            'director_table_diff': director_table_diff,
        }
