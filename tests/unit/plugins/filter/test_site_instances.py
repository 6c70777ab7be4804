# SPDX-License-Identifier: GPL-3.0-or-later
"""Active-active in the site model (lvs_vrrp.instances): the preflight's rules, each director's instances
for the director role, and where the rollout check expects each VIP."""

from __future__ import annotations

import copy

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.lvs.ha.plugins.filter import site
from ansible_collections.lvs.ha.tests.unit.plugins.filter import edits
from ansible_collections.lvs.ha.tests.unit.plugins.filter.test_site import DIRECTORS, HOSTVARS, MODEL

# Two VIPs, dr1 the MASTER of the first, dr2 of the second. The host variables lvs_vrrp_state and
# lvs_vrrp_priority are not read with instances: the directors below have none.
ACTIVE = copy.deepcopy(MODEL)
ACTIVE["lvs_vrrp"] = {
    "version": 3,
    "advert_int": 0.1,
    "instances": [
        {"name": "VI_A", "virtual_router_id": 51, "vips": ["192.168.100.10"], "priorities": {"dr1": 100, "dr2": 90}},
        {"name": "VI_B", "virtual_router_id": 52, "vips": ["192.168.100.11"], "priorities": {"dr1": 90, "dr2": 100}},
    ],
}
ACTIVE["lvs_services"].append(dict(copy.deepcopy(MODEL["lvs_services"][0]), name="web-b", vip="192.168.100.11"))
PLAIN_HOSTVARS = {
    host: {k: v for k, v in hv.items() if k not in ("lvs_vrrp_state", "lvs_vrrp_priority")}
    for host, hv in HOSTVARS.items()
}


def check(model):
    return site.site_check(model, PLAIN_HOSTVARS, DIRECTORS)


def changed(path, value):
    return edits.with_change(ACTIVE, path, value)


def test_two_instances_one_per_director_are_sound():
    assert check(ACTIVE) == []


INSTANCE = ["lvs_vrrp", "instances", 1]
FAULTS = [
    (["lvs_vrrp", "instances"], [], "lvs_vrrp.instances: must not be empty"),
    (["lvs_vrrp", "instances"], "VI_A", "lvs_vrrp.instances: 'VI_A' is not a list"),
    (INSTANCE, "VI_B", "lvs_vrrp.instances[1]: 'VI_B' is not a mapping"),
    ([*INSTANCE, "name"], "VI_A", "lvs_vrrp.instances[1].name: VI_A is also lvs_vrrp.instances[0]'s"),
    ([*INSTANCE, "name"], "VI B\n}", "lvs_vrrp.instances[1].name: 'VI B\\n}' is not allowed"),
    ([*INSTANCE, "virtual_router_id"], 51, "lvs_vrrp.instances[1].virtual_router_id: 51 is also"),
    ([*INSTANCE, "virtual_router_id"], 256, "lvs_vrrp.instances[1].virtual_router_id: 256 is out of range"),
    ([*INSTANCE, "vips"], [], "lvs_vrrp.instances[1].vips: must not be empty"),
    (
        [*INSTANCE, "vips", 0],
        "192.168.100.12",
        "lvs_vrrp.instances[1].vips[0]: 192.168.100.12 is the VIP of no service",
    ),
    ([*INSTANCE, "vips", 0], "192.168.100.10", "lvs_vrrp.instances[1].vips[0]: 192.168.100.10 is also in"),
    ([*INSTANCE, "vips", 0], "10.0.0.1 dev lo", "lvs_vrrp.instances[1].vips[0]: '10.0.0.1 dev lo' is not an IP"),
    ([*INSTANCE, "priorities"], [100, 90], "lvs_vrrp.instances[1].priorities: [100, 90] is not a mapping"),
    ([*INSTANCE, "priorities", "dr2"], 90, "dr1 and dr2 share priority 90"),
    ([*INSTANCE, "priorities", "dr2"], 256, "lvs_vrrp.instances[1].priorities.dr2: 256 is out of range"),
    ([*INSTANCE, "priorities", "dr2"], "100", "lvs_vrrp.instances[1].priorities.dr2: '100' is not a VRRP priority"),
    ([*INSTANCE, "priorities", "dr3"], 80, "lvs_vrrp.instances[1].priorities.dr3: 'dr3' is not a director"),
    ([*INSTANCE, "state"], "MASTER", "lvs_vrrp.instances[1].state: unknown key"),
    (["lvs_vrrp", "virtual_router_id"], 51, "lvs_vrrp.virtual_router_id: not used with lvs_vrrp.instances"),
    (["lvs_vrrp", "name"], "VI_LVS", "lvs_vrrp.name: not used with lvs_vrrp.instances"),
    (["lvs_vrrp", "preempt"], False, "lvs_vrrp.preempt: false is not supported with lvs_vrrp.instances yet"),
]


@pytest.mark.parametrize(("path", "value", "words"), FAULTS)
def test_each_fault_gives_one_message_naming_the_variable(path, value, words):
    errors = check(changed(path, value))
    assert len(errors) == 1, errors
    assert words in errors[0]


def test_a_director_without_a_priority_and_a_vip_in_no_instance():
    model = copy.deepcopy(ACTIVE)
    del model["lvs_vrrp"]["instances"][1]["priorities"]["dr2"]
    assert check(model) == ["lvs_vrrp.instances[1].priorities: dr2 has no priority here; give every director its own"]
    model = copy.deepcopy(ACTIVE)
    model["lvs_vrrp"]["instances"].pop()
    assert check(model) == [
        "lvs_vrrp.instances: 192.168.100.11 (lvs_services) is in no instance; each VIP belongs to exactly one"
    ]


def test_without_instances_the_host_variables_are_still_required():
    plain = copy.deepcopy(MODEL)
    errors = site.site_check(plain, PLAIN_HOSTVARS, DIRECTORS)
    assert any("lvs_vrrp_state" in e for e in errors), errors


def test_each_director_gets_its_instances_master_where_its_priority_is_highest():
    vrrp = ACTIVE["lvs_vrrp"]
    assert site.site_vrrp_instances(vrrp, "dr1") == [
        {"name": "VI_A", "virtual_router_id": 51, "state": "MASTER", "priority": 100, "vips": ["192.168.100.10"]},
        {"name": "VI_B", "virtual_router_id": 52, "state": "BACKUP", "priority": 90, "vips": ["192.168.100.11"]},
    ]
    assert [(i["name"], i["state"]) for i in site.site_vrrp_instances(vrrp, "dr2")] == [
        ("VI_A", "BACKUP"),
        ("VI_B", "MASTER"),
    ]


def test_a_preempt_delay_starts_every_instance_as_backup():
    vrrp = dict(ACTIVE["lvs_vrrp"], preempt_delay=5)
    assert {i["state"] for h in DIRECTORS for i in site.site_vrrp_instances(vrrp, h)} == {"BACKUP"}


def test_no_instances_means_the_single_one_of_the_host_variables():
    assert site.site_vrrp_instances(MODEL["lvs_vrrp"], "dr1") == []
    with pytest.raises(AnsibleFilterError, match="dr3 has no priority in VI_A"):
        site.site_vrrp_instances(ACTIVE["lvs_vrrp"], "dr3")


VIPS = ["192.168.100.10", "192.168.100.11"]


@pytest.mark.parametrize(
    ("active", "plan"),
    [
        (["dr1", "dr2"], {"dr1": ["192.168.100.10"], "dr2": ["192.168.100.11"]}),
        (["dr1"], {"dr1": VIPS}),  # dr2's keepalived not (yet) running: dr1 takes both
        (["dr2"], {"dr2": VIPS}),
        ([], {}),
    ],
)
def test_the_plan_puts_each_instances_vips_on_its_highest_running_director(active, plan):
    assert site.site_vip_plan(ACTIVE["lvs_vrrp"], active, HOSTVARS, VIPS) == plan


def test_the_plan_of_one_instance_is_the_rollout_orders_master():
    assert site.site_vip_plan(MODEL["lvs_vrrp"], ["dr1", "dr2"], HOSTVARS, VIPS) == {"dr1": VIPS, "dr2": []}
    assert site.site_vip_plan(MODEL["lvs_vrrp"], ["dr2"], HOSTVARS, VIPS) == {"dr2": VIPS}
