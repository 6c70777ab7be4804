# SPDX-License-Identifier: GPL-3.0-or-later
"""Choices that YAML repeats from their Python owner equal it, so neither changes alone.

The owners: plugins/module_utils (ipvs: schedulers, forwarding; netdev: the ARP sysctl values) and
plugins/plugin_utils/site_rules.py (the other site rules). The copies: the roles' meta/argument_specs.yml and the
filters' docs, which nothing else compares with the code, so every choice there must have an owner here; and the
modules' DOCUMENTATION for the options whose argument spec takes a shared owner (ansible-test validate-modules
compares every module's documentation with its argument spec too, in make sanity).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml
from ansible_collections.lvs.ha.plugins.module_utils import ipvs, netdev
from ansible_collections.lvs.ha.plugins.plugin_utils import site_rules as rules

ROOT = Path(rules.__file__).resolve().parents[2]

# (file, option) -> its owner. A nested option is named with dots (director_services.check.type).
OWNERS = {
    ("roles/director/meta/argument_specs.yml", "director_vrrp_version"): rules.VRRP_VERSIONS,
    ("roles/director/meta/argument_specs.yml", "director_vrrp_state"): rules.VRRP_STATES,
    ("roles/director/meta/argument_specs.yml", "director_vrrp_instances.state"): rules.VRRP_STATES,
    ("roles/director/meta/argument_specs.yml", "director_ipvs_manager"): rules.IPVS_MANAGERS,
    ("roles/director/meta/argument_specs.yml", "director_ipvs_purge"): rules.IPVS_PURGE_MODES,
    ("roles/director/meta/argument_specs.yml", "director_services.protocol"): rules.PROTOCOLS,
    ("roles/director/meta/argument_specs.yml", "director_services.scheduler"): ipvs.SCHEDULERS,
    ("roles/director/meta/argument_specs.yml", "director_services.forwarding"): ipvs.FORWARDING,
    ("roles/director/meta/argument_specs.yml", "director_services.check.type"): rules.CHECK_TYPES,
    ("roles/realserver/meta/argument_specs.yml", "realserver_arp_ignore"): netdev.ARP_IGNORE,
    ("roles/realserver/meta/argument_specs.yml", "realserver_arp_announce"): netdev.ARP_ANNOUNCE,
    ("plugins/modules/ipvs_table.py", "purge"): rules.IPVS_PURGE_MODES,
    ("plugins/modules/ipvs_service.py", "scheduler"): ipvs.SCHEDULERS,
    ("plugins/modules/ipvs_service.py", "sched_flags"): ipvs.SCHED_FLAGS,
    ("plugins/modules/ipvs_realserver.py", "forwarding"): ipvs.FORWARDING,
    ("plugins/modules/ipvs_table.py", "services.scheduler"): ipvs.SCHEDULERS,
    ("plugins/modules/ipvs_table.py", "services.sched_flags"): ipvs.SCHED_FLAGS,
    ("plugins/modules/ipvs_table.py", "services.real_servers.forwarding"): ipvs.FORWARDING,
    ("plugins/modules/arp_sysctl.py", "arp_ignore"): netdev.ARP_IGNORE,
    ("plugins/modules/arp_sysctl.py", "arp_announce"): netdev.ARP_ANNOUNCE,
}


def choices(options, prefix=""):
    """(dotted option name, choices) of every option that has choices, nested options included."""
    for name, spec in (options or {}).items():
        if "choices" in spec:
            yield f"{prefix}{name}", spec["choices"]
        yield from choices(spec.get("options") or spec.get("suboptions"), f"{prefix}{name}.")


def yaml_choices():
    """Every choice of the roles' argument specs and the filters' docs: (file, option) -> choices."""
    found = {}
    for path in sorted(ROOT.glob("roles/*/meta/argument_specs.yml")):
        for entry in yaml.safe_load(path.read_text())["argument_specs"].values():
            for option, values in choices(entry.get("options")):
                found[(str(path.relative_to(ROOT)), option)] = values
    for path in sorted(ROOT.glob("plugins/filter/*.yml")):
        for option, values in choices(yaml.safe_load(path.read_text())["DOCUMENTATION"].get("options")):
            found[(str(path.relative_to(ROOT)), option)] = values
    return found


def module_choices(path):
    """Choices of a module's own DOCUMENTATION (not its doc fragments)."""
    module = importlib.import_module(f"ansible_collections.lvs.ha.plugins.modules.{Path(path).stem}")
    return dict(choices(yaml.safe_load(module.DOCUMENTATION)["options"]))


@pytest.mark.parametrize(("where", "option"), sorted(yaml_choices()))
def test_yaml_choices_have_a_python_owner_and_equal_it(where, option):
    values = yaml_choices()[(where, option)]
    assert (where, option) in OWNERS, f"{where}: {option} has choices but no Python owner in OWNERS"
    assert values == list(OWNERS[(where, option)])


@pytest.mark.parametrize(("where", "option"), sorted(k for k in OWNERS if k[0].startswith("plugins/modules/")))
def test_module_docs_state_the_shared_choices(where, option):
    assert module_choices(where)[option] == list(OWNERS[(where, option)])


def test_every_owner_entry_names_a_choice_that_exists():
    found = yaml_choices()
    stale = [
        key
        for key in OWNERS
        if key not in found and not (key[0].startswith("plugins/modules/") and key[1] in module_choices(key[0]))
    ]
    assert not stale
