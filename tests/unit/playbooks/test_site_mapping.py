# SPDX-License-Identifier: GPL-3.0-or-later
"""The site playbook's mapping of the model to the director role's variables, on real inventories, without
hosts: a playbook made from the directors play of playbooks/site.yml (its play vars and the role's vars, read
from the file, not copied) runs the role's argument specs, its input check (tasks_from input.yml) and its
keepalived.conf template (and the sync daemons' unit, with connection sync on) on this machine (connection
local), and keepalived -t tests what it wrote.
lvs_director_interface is set to an Ethernet interface of this machine (see tests/unit/roles/render.py:
keepalived -t wants it to exist)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible_collections.lvs.ha.tests.unit.roles.render import keepalived_test, need_keepalived

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = ROOT / "roles/director/templates/etc/keepalived/keepalived.conf.j2"
SYNC_UNIT = ROOT / "roles/director/templates/etc/systemd/system/lvs-ha-sync.service.j2"
SPECS = yaml.safe_load((ROOT / "roles/director/meta/argument_specs.yml").read_text())["argument_specs"]["main"][
    "options"
]


def directors_play():
    plays = yaml.safe_load((ROOT / "playbooks/site.yml").read_text())
    play = next(p for p in plays if p.get("name", "").startswith("Directors"))
    role = next(r for r in play["roles"] if r["role"] == "lvs.ha.director")
    return play["vars"], role["vars"]


def render_site(inventory: str, tmp_path: Path, ifname: str, *extra: str) -> subprocess.CompletedProcess:
    play_vars, role_vars = directors_play()
    playbook = [
        {
            "name": "The director role's input check and keepalived.conf, as the site hands them the model",
            "hosts": "directors",
            "connection": "local",
            "gather_facts": False,
            "vars": dict(play_vars, ansible_python_interpreter=sys.executable),
            "tasks": [
                {
                    "name": "The role's argument specs (what the role's main entry point validates first)",
                    "ansible.builtin.validate_argument_spec": {
                        "argument_spec": SPECS,
                        "provided_arguments": {key: f"{{{{ {key} }}}}" for key in role_vars},
                    },
                    "vars": role_vars,
                },
                {
                    "name": "Input check",
                    "ansible.builtin.import_role": {"name": "lvs.ha.director", "tasks_from": "input.yml"},
                    "vars": role_vars,
                },
                {
                    "name": "keepalived.conf",
                    "ansible.builtin.template": {
                        "src": str(TEMPLATE),
                        "dest": f"{tmp_path}/{{{{ inventory_hostname }}}}.conf",
                        "mode": "0600",
                    },
                    "vars": role_vars,
                },
                {
                    "name": "The sync daemons' unit",
                    "ansible.builtin.template": {
                        "src": str(SYNC_UNIT),
                        "dest": f"{tmp_path}/{{{{ inventory_hostname }}}}.sync.service",
                        "mode": "0644",
                    },
                    "vars": role_vars,
                    "when": "director_lvs_sync_enabled | bool",
                },
            ],
        }
    ]
    path = tmp_path / "site-directors.yml"
    path.write_text(yaml.safe_dump(playbook, sort_keys=False))
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    # ansible-playbook of the Ansible this test runs with (test_preflight.py says why not the script).
    command = [sys.executable, "-m", "ansible.cli.playbook", "-i", inventory, str(path)]
    command += ["-e", json.dumps({"lvs_director_interface": ifname}), *extra]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False)


def lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines()]


def test_fast_profile_renders_unicast_sync_and_v3(tmp_path):
    ifname = need_keepalived()
    result = render_site("inventories/example-fast", tmp_path, ifname)
    assert result.returncode == 0, result.stdout + result.stderr
    for host, own, peer, priority in (
        ("lb1.mgmt.example.com", "10.20.0.11", "10.20.0.12", 100),
        ("lb2.mgmt.example.com", "10.20.0.12", "10.20.0.11", 90),
    ):
        conf = tmp_path / f"{host}.conf"
        text = lines(conf)
        for line in (
            "vrrp_version 3",
            "advert_int 0.1",
            # both start as BACKUP, as preempt_delay needs; the priorities elect lb1
            "state BACKUP",
            f"priority {priority}",
            "preempt_delay 5",
            f"unicast_src_ip {own}",
            peer,
        ):
            assert line in text, (line, text)
        assert not any(t.startswith("lvs_sync_daemon") for t in text)
        assert sync_daemons(tmp_path / f"{host}.sync.service") == [("master", ifname, "61"), ("backup", ifname, "61")]
        # no user tracking: the only track_file is the one lvs.ha.maintenance lowers the priority with
        assert not any(
            t.startswith(("auth_pass", "nopreempt", "track_interface", "track_script", "notify")) for t in text
        )
        assert [t for t in text if t.startswith("track_file")] == [
            "track_file lvs_ha_priority_offset {",
            "track_file {",
        ]
        checked = keepalived_test(conf.read_text(), tmp_path)
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_lab_profile_stays_the_seed(tmp_path):
    ifname = need_keepalived()
    # the lab's model with its one change: the VIP label on this machine's interface
    model = yaml.safe_load((ROOT / "inventories/lab/group_vars/all/site.yml").read_text())["lvs_vrrp"]
    model = dict(model, vip_label=f"{ifname}:0")
    result = render_site("inventories/lab", tmp_path, ifname, "--limit", "dr2", "-e", json.dumps({"lvs_vrrp": model}))
    assert result.returncode == 0, result.stdout + result.stderr
    text = lines(tmp_path / "dr2.conf")
    for line in ("vrrp_version 2", "advert_int 1", "state BACKUP", "priority 90", "auth_pass lvs-lab1"):
        assert line in text, (line, text)
    assert not any(t.startswith(("unicast", "lvs_sync_daemon", "nopreempt", "preempt_delay", "garp_")) for t in text)
    assert not (tmp_path / "dr2.sync.service").exists()
    checked = keepalived_test((tmp_path / "dr2.conf").read_text(), tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize(
    "vrrp,state,message",
    [
        (
            {"preempt": False},
            "MASTER",
            "director_vrrp_nopreempt: keepalived ignores it when the initial state is MASTER",
        ),
        ({"sync": {"enabled": True, "id": 300}}, "BACKUP", "director_lvs_sync_id: 300 is out of range"),
    ],
    ids=["nopreempt on the MASTER", "sync id"],
)
def test_the_role_check_refuses_what_the_site_hands_it(vrrp, state, message, tmp_path):
    """Past the preflight (not run here), the role's own check still stops a bad model on the host."""
    ifname = need_keepalived()
    model = yaml.safe_load((ROOT / "inventories/example-fast/group_vars/all/site.yml").read_text())["lvs_vrrp"]
    model = {k: v for k, v in model.items() if k != "preempt_delay"} | vrrp
    extra = {"lvs_vrrp": model, "lvs_vrrp_state": state}
    result = render_site("inventories/example-fast", tmp_path, ifname, "--limit", "lb1*", "-e", json.dumps(extra))
    assert result.returncode != 0 and message in result.stdout, result.stdout[-3000:]
    assert not (tmp_path / "lb1.mgmt.example.com.conf").exists()


def test_active_active_renders_one_instance_per_vip_master_on_each_director(tmp_path):
    """lvs_vrrp.instances on the lab's inventory: a second service on another VIP, dr1 the MASTER of the
    first, dr2 of the second; both directors' files pass keepalived -t."""
    ifname = need_keepalived()
    site = yaml.safe_load((ROOT / "inventories/lab/group_vars/all/site.yml").read_text())
    services = site["lvs_services"] + [dict(site["lvs_services"][0], name="web-b", vip="192.168.100.11")]
    vrrp = {k: v for k, v in site["lvs_vrrp"].items() if k not in ("name", "virtual_router_id")}
    vrrp |= {
        "vip_label": f"{ifname}:0",
        "instances": [
            {
                "name": "VI_A",
                "virtual_router_id": 51,
                "vips": ["192.168.100.10"],
                "priorities": {"dr1": 100, "dr2": 90},
            },
            {
                "name": "VI_B",
                "virtual_router_id": 52,
                "vips": ["192.168.100.11"],
                "priorities": {"dr1": 90, "dr2": 100},
            },
        ],
    }
    extra = {"lvs_vrrp": vrrp, "lvs_services": services}
    result = render_site("inventories/lab", tmp_path, ifname, "-e", json.dumps(extra))
    assert result.returncode == 0, result.stdout + result.stderr
    for host, a_state, b_state in (("dr1", "MASTER", "BACKUP"), ("dr2", "BACKUP", "MASTER")):
        conf = (tmp_path / f"{host}.conf").read_text()
        blocks = {name: conf.split(f"vrrp_instance {name} {{")[1].split("\n}")[0] for name in ("VI_A", "VI_B")}
        assert f"state {a_state}" in blocks["VI_A"] and "virtual_router_id 51" in blocks["VI_A"], conf
        assert f"state {b_state}" in blocks["VI_B"] and "virtual_router_id 52" in blocks["VI_B"], conf
        assert "192.168.100.10/32" in blocks["VI_A"] and "192.168.100.11" not in blocks["VI_A"], conf
        assert "192.168.100.11/32" in blocks["VI_B"] and "192.168.100.10" not in blocks["VI_B"], conf
        # lvs.ha.maintenance has no offset to lower with several instances
        assert "track_file" not in conf
        assert len([t for t in lines(tmp_path / f"{host}.conf") if t.startswith("virtual_server ")]) == 2
        checked = keepalived_test(conf, tmp_path)
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_example_active_renders_two_instances_all_backup_with_the_delay(tmp_path):
    ifname = need_keepalived()
    result = render_site("inventories/example-active", tmp_path, ifname)
    assert result.returncode == 0, result.stdout + result.stderr
    for host, www, api in (("lb1.mgmt.example.com", 100, 90), ("lb2.mgmt.example.com", 90, 100)):
        conf = tmp_path / f"{host}.conf"
        text = conf.read_text()
        for name, router_id, priority, vip in (("VI_WWW", 61, www, "10.20.0.10"), ("VI_API", 62, api, "10.20.0.20")):
            block = lines_of(text.split(f"vrrp_instance {name} {{")[1].split("\n}")[0])
            for line in ("state BACKUP", f"virtual_router_id {router_id}", f"priority {priority}", "preempt_delay 5"):
                assert line in block, (name, line, block)
            assert any(t.startswith(f"{vip}/32 dev {ifname}") for t in block), block
        # connection sync for both instances: the unit's daemons, not keepalived's
        assert not any(t.startswith("lvs_sync_daemon") for t in lines(conf))
        assert sync_daemons(tmp_path / f"{host}.sync.service") == [("master", ifname, "61"), ("backup", ifname, "61")]
        checked = keepalived_test(text, tmp_path)
        assert checked.returncode == 0, checked.stdout + checked.stderr


def sync_daemons(unit: Path) -> list[tuple[str, str, str]]:
    """(kind, interface, sync id) of each daemon the sync unit starts, in order."""
    found = []
    for line in lines(unit):
        if line.startswith("ExecStart=/usr/sbin/ipvsadm --start-daemon "):
            words = line.split()
            found.append((words[2], words[words.index("--mcast-interface") + 1], words[words.index("--syncid") + 1]))
    return found


def lines_of(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()]
