# SPDX-License-Identifier: GPL-3.0-or-later
"""Connection sync as the director role sets it up: the unit that runs the kernel's sync daemons (rendered as
the role's template task writes it), keepalived.conf without lvs_sync_daemon, and the role's reading of
`ipvsadm -L --daemon` (whether the daemons run as wanted, whether the unit is installed). The lab proves the
daemons run (molecule/reuse/tests/test_reuse.py); these are the decisions and the text."""

from __future__ import annotations

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from ansible_collections.lvs.ha.tests.unit.roles.render import keepalived_test, need_keepalived, render, role_vars
from ansible_collections.lvs.ha.tests.unit.roles.test_director_keepalived import ACTIVE_ACTIVE, LAB, V3, rendered

SYNC = [
    ("one instance, sync id 7", dict(LAB, director_lvs_sync_enabled=True, director_lvs_sync_id=7), "7"),
    (
        "v3 unicast, the default sync id (the router id)",
        dict(V3, director_lvs_sync_enabled=True, director_vrrp_unicast_peers=["192.168.100.202"]),
        "51",
    ),
    (
        "active-active",
        dict(LAB, director_vrrp_instances=ACTIVE_ACTIVE, director_lvs_sync_enabled=True, director_lvs_sync_id=9),
        "9",
    ),
]


@pytest.mark.parametrize("values,syncid", [c[1:] for c in SYNC], ids=[c[0] for c in SYNC])
def test_connection_sync_runs_from_the_unit_not_from_keepalived(values, syncid, tmp_path):
    """keepalived.conf has no lvs_sync_daemon (keepalived would switch the daemons on each transition); the
    unit starts both daemons with the interface and the sync id, after stopping any already running."""
    ifname = need_keepalived()
    text = rendered(values, ifname)
    assert "lvs_sync_daemon" not in text, text
    assert keepalived_test(text, tmp_path).returncode == 0
    unit = render("director", "etc/systemd/system/lvs-ha-sync.service.j2", **dict(values, director_interface=ifname))
    commands = [line for line in unit.splitlines() if line.startswith("Exec")]
    assert commands == [
        "ExecStartPre=-/usr/sbin/ipvsadm --stop-daemon master",
        "ExecStartPre=-/usr/sbin/ipvsadm --stop-daemon backup",
        f"ExecStart=/usr/sbin/ipvsadm --start-daemon master --mcast-interface {ifname} --syncid {syncid}",
        f"ExecStart=/usr/sbin/ipvsadm --start-daemon backup --mcast-interface {ifname} --syncid {syncid}",
        "ExecStop=-/usr/sbin/ipvsadm --stop-daemon master",
        "ExecStop=-/usr/sbin/ipvsadm --stop-daemon backup",
    ], unit
    assert "Before=keepalived.service" in unit.splitlines()


def read(stdout: str, **given) -> dict:
    """What the role makes of its read of the daemons (tasks/lvs_sync.yml) with this output, on ens33."""
    values = dict(
        given,
        director_interface="ens33",
        director__sync_daemons={"stdout": stdout, "stdout_lines": stdout.splitlines()},
    )
    templar = Templar(loader=DataLoader(), variables=role_vars("director", **values))
    return {
        key: templar.template(trust_as_template(f"{{{{ director__sync_{key} }}}}"))
        for key in ("daemons_as_wanted", "unit_there")
    }


DAEMONS = "master sync daemon (mcast=ens33, syncid=51{rest})\nbackup sync daemon (mcast=ens33, syncid=51{rest})"
READS = [
    ("both, fields after the sync id", DAEMONS.format(rest=", maxlen=1472, group=224.0.0.81, port=8848, ttl=1"), True),
    ("both, no field after the sync id", DAEMONS.format(rest=""), True),
    ("the master only", "master sync daemon (mcast=ens33, syncid=51)", False),
    ("another sync id (511 is not 51)", DAEMONS.format(rest="").replace("syncid=51)", "syncid=511)", 1), False),
    ("another interface", DAEMONS.format(rest="").replace("mcast=ens33", "mcast=ens3", 1), False),
    ("none", "", False),
]


@pytest.mark.parametrize("stdout,wanted", [c[1:] for c in READS], ids=[c[0] for c in READS])
def test_the_daemons_are_started_again_unless_both_run_as_wanted(stdout, wanted):
    assert read(stdout, director_lvs_sync_id=51) == {"daemons_as_wanted": wanted, "unit_there": False}


def test_the_unit_is_seen_installed_from_the_same_read():
    assert read("unit file: lvs-ha-sync.service", director_lvs_sync_id=51)["unit_there"] is True
    assert read("unit file: lvs-ha-sync.service.bak", director_lvs_sync_id=51)["unit_there"] is False
