# SPDX-License-Identifier: GPL-3.0-or-later
"""Directors: exactly one holds the VIP (the MASTER while it is healthy) and its IPVS table routes to both
real servers."""

from __future__ import annotations

from labtest import addresses_on


def test_exactly_one_director_holds_the_vip(holders):
    assert len(holders) == 1, holders


def test_the_elected_director_holds_the_vip_with_its_label(lab, site, holders, directors_down):
    """While the MASTER of host_vars is up it holds the VIP; a BACKUP holding it then is a failure. After a
    hard failure (the MASTER unreachable) the BACKUP with the highest priority holds it."""
    alive = [h for h in site.group("directors") if h not in directors_down]
    expected = max(
        alive, key=lambda h: (site.host_vars(h)["lvs_vrrp_state"] == "MASTER", site.host_vars(h)["lvs_vrrp_priority"])
    )
    assert holders == [expected], f"{holders} hold the VIP; {expected} should (directors up: {alive})"
    addrs = addresses_on(lab(expected), site.interface, site.vip)
    assert addrs and addrs[0]["label"] == site.vip_label, addrs


def test_ipvs_table_on_the_vip_holder(lab, site, holders):
    holder = holders[0]
    table = lab(holder).check_output("ipvsadm -Ln")
    assert f"TCP  {site.vip}:{site.port} {site.service['scheduler']}" in table, table
    for rs in site.real_servers:
        line = next((ln for ln in table.splitlines() if f"{site.address(rs)}:{site.port}" in ln), "")
        assert "Route" in line, table


def test_keepalived_config_is_private(lab, holders):
    # Checked on the VIP holder: a director that died hard (failover side effect) is unreachable.
    holder = holders[0]
    assert lab(holder).file("/etc/keepalived/keepalived.conf").mode == 0o600
    assert lab(holder).service("keepalived").is_enabled


def test_a_connection_to_a_gone_real_server_is_expired_not_dropped(lab, holders):
    """The role's net.ipv4.vs.expire_nodest_conn (director_ipvs_expire_nodest_conn): live, as in its file."""
    holder = holders[0]
    assert lab(holder).sysctl("net.ipv4.vs.expire_nodest_conn") == 1
    assert (
        "net.ipv4.vs.expire_nodest_conn = 1" in lab(holder).file("/etc/sysctl.d/60-lvs-ha-director.conf").content_string
    )
