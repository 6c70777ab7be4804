# SPDX-License-Identifier: GPL-3.0-or-later
"""keepalived.conf as the director role renders it, for each VRRP option turned on, passes `keepalived -t`;
what the role's input check refuses, keepalived refuses too (or would misread). See render.py for how the
file is rendered and why it uses an Ethernet interface of this machine."""

from __future__ import annotations

import pytest
from ansible_collections.lvs.ha.plugins.filter import roles
from ansible_collections.lvs.ha.tests.unit.roles.render import keepalived_test, need_keepalived, render

SERVICE = {
    "name": "web",
    "vip": "192.168.100.10",
    "port": 80,
    "check": {"type": "http_get", "path": "/lb/health.html"},
    "real_servers": [
        {"host": "web1", "address": "192.168.100.221", "port": 80, "weight": 1},
        {"host": "web2", "address": "192.168.100.222", "port": 80, "weight": 1},
    ],
}
LAB = {"director_vips": ["192.168.100.10"], "director_services": [SERVICE], "director_vrrp_auth_pass": "lvs-lab1"}
ACTIVE_ACTIVE = [
    {"name": "VI_A", "virtual_router_id": 51, "state": "MASTER", "priority": 100, "vips": ["192.168.100.10"]},
    {"name": "VI_B", "virtual_router_id": 52, "state": "BACKUP", "priority": 90, "vips": ["192.168.100.11"]},
]
V3 = {"director_vips": ["192.168.100.10"], "director_services": [SERVICE], "director_vrrp_version": 3}

# (id, role variables on top of the defaults, lines the rendered file must hold)
ACCEPTED = [
    (
        "lab v2",
        LAB,
        [
            "vrrp_version 2",
            "advert_int 1",
            "auth_pass lvs-lab1",
            "track_file lvs_ha_priority_offset {",
            'file "/run/lvs-ha-priority-offset"',
            "init_file 0",
            "track_file {",
            "lvs_ha_priority_offset",
        ],
    ),
    ("address owner", dict(LAB, director_vrrp_priority=255), ["priority 255"]),
    ("v3 sub-second", dict(V3, director_vrrp_advert_int=0.1), ["vrrp_version 3", "advert_int 0.1"]),
    ("static table", dict(LAB, director_ipvs_manager="modules"), ["virtual_ipaddress {"]),
    ("nopreempt", dict(LAB, director_vrrp_nopreempt=True), ["state BACKUP", "nopreempt"]),
    ("preempt_delay", dict(LAB, director_vrrp_preempt_delay=4.5), ["state BACKUP", "preempt_delay 4.5"]),
    (
        "gratuitous ARP",
        dict(LAB, director_vrrp_garp={"master_delay": 1, "master_repeat": 3, "master_refresh": 60}),
        ["garp_master_delay 1", "garp_master_repeat 3", "garp_master_refresh 60"],
    ),
    (
        "gratuitous ARP, keepalived's limits",
        dict(LAB, director_vrrp_garp={"master_delay": 0, "master_repeat": 255, "master_refresh": 86400}),
        ["garp_master_delay 0", "garp_master_repeat 255", "garp_master_refresh 86400"],
    ),
    (
        "track interface",
        dict(LAB, director_vrrp_track_interfaces=[{"name": "lo", "weight": -20}]),
        ["track_interface {", "lo weight -20"],
    ),
    (
        "track script (script_user root: 2.2.7's -t kills itself with another user, see docs/site.md)",
        dict(
            LAB,
            director_script_user="root",
            director_vrrp_track_scripts=[
                {"name": "chk_true", "script": "/usr/bin/true", "interval": 2, "timeout": 1, "weight": -20},
                {"name": "chk_more", "script": "/usr/bin/true", "rise": 2, "fall": 3},
            ],
        ),
        ["enable_script_security", "script_user root", 'script "/usr/bin/true"', "track_script {", "chk_more"],
    ),
    (
        "notify scripts",
        dict(
            LAB,
            director_script_user="root",
            director_vrrp_notify={k: "/usr/bin/true" for k in ("master", "backup", "fault", "stop", "any")},
        ),
        [
            "enable_script_security",
            'notify_master "/usr/bin/true"',
            'notify_stop "/usr/bin/true"',
            'notify "/usr/bin/true"',
        ],
    ),
    (
        "active-active",
        dict(LAB, director_vrrp_instances=ACTIVE_ACTIVE),
        ["vrrp_instance VI_A {", "vrrp_instance VI_B {", "virtual_router_id 52"],
    ),
    (
        "unicast",
        dict(LAB, director_vrrp_unicast_src_ip="192.168.100.201", director_vrrp_unicast_peers=["192.168.100.202"]),
        ["unicast_src_ip 192.168.100.201", "unicast_peer {", "192.168.100.202"],
    ),
    (
        "unicast v3, two peers, source from the interface",
        dict(V3, director_vrrp_unicast_peers=["192.168.100.202", "192.168.100.203"]),
        ["unicast_peer {", "192.168.100.202", "192.168.100.203"],
    ),
]


def rendered(values: dict, ifname: str) -> str:
    values = dict(values, director_interface=ifname, director_vip_label=f"{ifname}:0")
    assert roles.director_check(values) == []
    return render("director", "etc/keepalived/keepalived.conf.j2", **values)


@pytest.mark.parametrize("values,lines", [c[1:] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED])
def test_keepalived_accepts_what_the_role_renders(values, lines, tmp_path):
    ifname = need_keepalived()
    text = rendered(values, ifname)
    for line in lines:
        assert line.replace("IFNAME", ifname) in [t.strip() for t in text.splitlines()], text
    result = keepalived_test(text, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr + text


@pytest.mark.parametrize(
    "values",
    [dict(LAB, director_vrrp_priority=255), dict(LAB, director_vrrp_instances=ACTIVE_ACTIVE)],
    ids=["address owner", "active-active"],
)
def test_only_a_single_instance_below_255_tracks_the_priority_offset(values):
    """keepalived wants weight 0 on a track_file of an address owner, and lvs.ha.maintenance lowers one
    instance only (filter director_handback): neither file tracks the offset."""
    assert "lvs_ha_priority_offset" not in render("director", "etc/keepalived/keepalived.conf.j2", **values)


# (id, role variables, the one variable the role's check names, the keyword keepalived -t complains about;
# its wording differs between versions)
REFUSED = [
    ("v2 sub-second", dict(LAB, director_vrrp_advert_int=0.5), "director_vrrp_advert_int", "advertisement interval"),
    (
        "nopreempt on MASTER",
        dict(LAB, director_vrrp_state="MASTER", director_vrrp_nopreempt=True),
        "director_vrrp_nopreempt",
        "nopreempt",
    ),
    (
        "preempt_delay on MASTER",
        dict(LAB, director_vrrp_state="MASTER", director_vrrp_preempt_delay=30),
        "director_vrrp_preempt_delay",
        "preempt delay",
    ),
    (
        "garp delay",
        dict(LAB, director_vrrp_garp={"master_delay": 4295}),
        "director_vrrp_garp.master_delay",
        "garp_master_delay",
    ),
    (
        "garp repeat",
        dict(LAB, director_vrrp_garp={"master_repeat": 0}),
        "director_vrrp_garp.master_repeat",
        "garp_master_repeat",
    ),
    (
        "track the VRRP interface",
        dict(LAB, director_vrrp_track_interfaces=[{"name": "IFNAME"}]),
        "director_vrrp_track_interfaces[0].name",
        "own interface",
    ),
    (
        "track script weight",
        dict(
            LAB,
            director_script_user="root",
            director_vrrp_track_scripts=[{"name": "c", "script": "/usr/bin/true", "weight": 254}],
        ),
        "director_vrrp_track_scripts[0].weight",
        "weight",
    ),
]


@pytest.mark.parametrize("values,var,words", [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_the_role_refuses_what_keepalived_refuses(values, var, words, tmp_path):
    """The role's check names the variable; keepalived -t (rendered anyway) exits non-zero on the same value,
    e.g. 2.2.7's "nopreempt will not work with initial state MASTER - clearing"."""
    ifname = need_keepalived()
    values = dict(values, director_interface=ifname, director_vip_label=f"{ifname}:0")
    if values.get("director_vrrp_track_interfaces") == [{"name": "IFNAME"}]:
        values["director_vrrp_track_interfaces"] = [{"name": ifname}]
    assert [e.split(":")[0] for e in roles.director_check(values)] == [var]
    result = keepalived_test(render("director", "etc/keepalived/keepalived.conf.j2", **values), tmp_path)
    assert result.returncode != 0 and words in result.stdout + result.stderr, result.stdout + result.stderr
