# SPDX-License-Identifier: GPL-3.0-or-later
"""The roles reused with other variables: VIP on the master only, the same static wrr table on both
directors and nothing else in IPVS, no virtual_server in keepalived.conf, the fast failover profile (VRRP
version 3, unicast adverts, connection sync daemons in the kernel), the real servers on port 8080, and the
client served in the weights' proportion."""

from __future__ import annotations

import re
import time
from collections import Counter

import pytest
from labtest import addresses_on, vip_holders


def test_only_the_master_holds_the_vip(lab, reuse):
    assert vip_holders(reuse.directors, "ens33", reuse.vip) == [reuse.master]
    addrs = addresses_on(lab(reuse.master), "ens33", reuse.vip)
    assert addrs[0]["prefixlen"] == 32 and addrs[0]["label"] == "ens33:0", addrs


@pytest.mark.parametrize("director", ["dr1", "dr2"])
def test_static_table_and_nothing_else(lab, reuse, director):
    """Both directors carry the table (as the reference dr.sh does), so the backup is ready when it takes
    the VIP; keepalived's virtual_server of another site is gone (never both managers)."""
    table = lab(director).check_output("ipvsadm -Ln")
    services = [ln for ln in table.splitlines() if ln.startswith(("TCP ", "UDP ", "FWM ", "SCTP "))]
    assert services == [f"TCP  {reuse.vip}:{reuse.port} wrr"], table
    for host, weight in reuse.weights.items():
        line = next((ln for ln in table.splitlines() if f"{reuse.address(host)}:{reuse.port} " in ln), "")
        assert line.split()[2:4] == ["Route", str(weight)], table
    conf = lab(director).file("/etc/keepalived/keepalived.conf")
    assert conf.mode == 0o600
    blocks = [ln for ln in conf.content_string.splitlines() if ln.split()[:1] == ["virtual_server"]]
    assert blocks == [], blocks


@pytest.mark.parametrize("director", ["dr1", "dr2"])
def test_fast_profile_with_connection_sync(lab, reuse, director):
    """keepalived.conf carries the profile and no lvs_sync_daemon, and the kernel runs both sync daemons, master
    and backup, on every director whatever its VRRP state, from the role's unit (ipvsadm reads them from
    IPVS)."""
    host = lab(director)
    conf = host.file("/etc/keepalived/keepalived.conf").content_string
    words = [line.split() for line in conf.splitlines()]
    assert ["vrrp_version", "3"] in words and ["advert_int", "0.1"] in words, conf
    assert ["unicast_src_ip", reuse.address(director)] in words, conf
    peers = [reuse.address(d) for d in reuse.directors if d != director]
    assert all([peer] in words for peer in peers), conf
    assert not [w for w in words if w[:1] == ["lvs_sync_daemon"]], conf
    daemons = host.check_output("ipvsadm -L --daemon")
    for kind in ("master", "backup"):
        assert f"{kind} sync daemon (mcast=ens33, syncid=52" in daemons, daemons
    assert host.service("lvs-ha-sync.service").is_enabled


@pytest.mark.parametrize("name", ["web1", "web2"])
def test_real_server_on_the_new_port_and_vip(lab, reuse, name):
    host = lab(name)
    addrs = addresses_on(host, "lo", reuse.vip)
    assert addrs and addrs[0]["prefixlen"] == 32, addrs
    assert host.sysctl("net.ipv4.conf.all.arp_ignore") == 1
    assert host.sysctl("net.ipv4.conf.all.arp_announce") == 2
    assert reuse.page(name) in host.check_output(f"curl -sf --max-time 5 http://127.0.0.1:{reuse.port}/")


@pytest.mark.parametrize("name", ["web1", "web2"])
def test_the_sites_vip_left_with_the_model(lab, reuse, name):
    """The site's VIP is not in this playbook's list: gone from lo and from the unit that restores VIPs at boot,
    and the VIP that stays has the role's label."""
    host = lab(name)
    assert reuse.left, "the site model has no VIP besides this scenario's"
    for vip in reuse.left:
        assert addresses_on(host, "lo", vip) == [], vip
    unit = host.file("/etc/systemd/system/lvs-ha-vip.service").content_string
    assert [vip for vip in reuse.left if f" {vip}/" in unit] == [], unit
    assert f" {reuse.vip}/32 dev lo label lo:" in unit, unit
    assert addresses_on(host, "lo", reuse.vip)[0]["label"].startswith("lo:")


def test_client_is_served_in_the_weights_proportion(lab, reuse):
    """wrr is periodic with period sum(weights): any 2 periods hold exactly 2 * weight answers per server.

    From client ports that no IPVS connection entry on the MASTER names: a SYN that matches an entry (the
    drills' probes leave thousands in FIN_WAIT for 2 minutes, synced ones too) goes to that entry's real
    server without the scheduler (conn_reuse_mode 1), which once skewed this count to 7:1."""
    rounds = 2 * sum(reuse.weights.values())
    url = f"http://{reuse.vip}:{reuse.port}/"
    entries = lab(reuse.master).check_output("ipvsadm -Lnc")
    taken = {int(m) for m in re.findall(r" [0-9.]+:(\d+) " + re.escape(reuse.vip) + ":", entries)}
    taken |= {int(m) for m in re.findall(r":(\d+)\s", lab("client").check_output("ss -Htan"))}
    ports = [p for p in range(20000, 30000) if p not in taken][:rounds]  # below the ephemeral range
    out = lab("client").check_output(
        f"for p in {' '.join(map(str, ports))}; do curl -s --max-time 2 --local-port $p {url} | tail -n 1; echo; done"
    )
    bodies = [line for line in out.splitlines() if line.strip()]
    print(f"\n{rounds} requests to {url}: {bodies}")
    assert Counter(bodies) == {reuse.page(h): 2 * w for h, w in reuse.weights.items()}, bodies


def test_keepalived_starts_again_on_the_table_the_role_set(lab, reuse):
    """keepalived requires the restore unit, so a start of keepalived in a boot the role set the table in (a
    restart, an upgrade; the BACKUP has not rebooted since the role ran) starts the unit too, with the whole table
    in the kernel: the unit must leave it as it is, not fail on it (ipvsadm -R refuses existing entries) and keep
    keepalived down. Both stopped first, so keepalived's start is what pulls the unit in. On the BACKUP, which
    holds no VIP."""
    backup = next(d for d in reuse.directors if d != reuse.master)
    host = lab(backup)
    before = host.check_output("ipvsadm -Sn")
    since = host.check_output("date +%s")
    host.run_expect([0], "systemctl stop keepalived lvs-ha-ipvs.service")
    host.run_expect([0], "systemctl start keepalived")
    assert host.service("keepalived").is_running
    assert host.check_output("systemctl show -P ActiveState lvs-ha-ipvs.service") == "active"
    log = host.check_output(f"journalctl -u lvs-ha-ipvs.service --since @{since} --no-pager -o cat")
    assert "were in the kernel already: left as they are" in log, log
    assert host.check_output("ipvsadm -Sn") == before
    holders = []
    for _ in range(10):
        holders = vip_holders(reuse.directors, "ens33", reuse.vip)
        if holders == [reuse.master]:
            break
        time.sleep(0.5)
    assert holders == [reuse.master]
