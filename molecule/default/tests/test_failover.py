# SPDX-License-Identifier: GPL-3.0-or-later
"""Behaviour under failure, measured from the client (figures are printed, never asserted against a time).

- test_real_server_removal: web1's httpd stops; how long until the health checker drops it from the
  master's IPVS table and the client only gets web2's page; then web1 comes back.
- test_master_dies_hard: the master's link goes down and keepalived is SIGKILLed in one detached command;
  the backup takes the VIP, the client keeps getting both pages; a prober on the client measures the outage.
  The same detached command brings the master back after a while (its SSH goes with its link), and the
  test waits for it to hold the VIP again.

These change the lab for a while; they are skipped unless LVS_HA_DISRUPTIVE=1 (molecule's side_effect
does the failure itself and the verify that follows runs the ordinary tests).
"""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest
from conftest import outage, ssh, ssh_argv, start_prober, vip_holders, wait_for

pytestmark = pytest.mark.skipif(os.environ.get('LVS_HA_DISRUPTIVE') != '1',
                                reason='disruptive: set LVS_HA_DISRUPTIVE=1 to run')

# How long the dead master stays down before its detached command brings it back.
MASTER_DOWN_S = 45


def _samples(proc, timeout):
    out, err = proc.communicate(timeout=timeout)
    samples = [json.loads(line) for line in out.splitlines() if line.startswith('[')]
    assert samples, err
    return samples


def test_real_server_removal(lab, site):
    master = vip_holders(lab, site, site.group('directors'))[0]
    victim = site.real_servers[0]
    address = f'{site.address(victim)}:{site.port}'
    # One bounded watcher on the master (the containers share one kernel clock): prints the time the
    # real server leaves the table.
    watcher = (f'for i in $(seq 600); do ipvsadm -Ln | grep -q " {address} " || {{ date +%s.%N; exit 0; }}; '
               'sleep 0.1; done; echo timeout')
    proc = subprocess.Popen(ssh_argv(master, watcher), stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(2)
        stopped = float(ssh(victim, 'systemctl stop apache2; date +%s.%N').strip())
        removed_at = proc.communicate(timeout=90)[0].strip()
        assert removed_at != 'timeout', f'{victim} never left the IPVS table of {master}'
        removal = float(removed_at) - stopped
        print(f'\nreal-server removal: {victim} left the IPVS table of {master} {removal:.2f} s after its httpd '
              f'stopped')
        pages = ssh('client', f'for i in 1 2 3 4; do curl -s --max-time 2 http://{site.vip}/ | tail -n 1; done')
        assert set(pages.split('\n')) - {''} == {site.page(site.real_servers[1])}, pages
    finally:
        ssh(victim, 'systemctl start apache2')
        proc.kill()
    back = wait_for(lambda: f' {address} ' in ssh(master, 'ipvsadm -Ln') + ' ', 60)
    assert back, f'{victim} did not come back into the IPVS table'


def test_master_dies_hard(lab, site):
    master, backup = site.master, site.backups[0]
    assert vip_holders(lab, site, [master, backup]) == [master], 'the lab must start with the MASTER holding the VIP'
    url = f'http://{site.vip}:{site.port}/'
    prober = start_prober('client', url, duration=40)
    time.sleep(5)
    killed_at = time.monotonic()
    # Detached: the link goes down (and our SSH session with it), keepalived dies without a word, and the
    # same command restores the master later.
    ssh(master, f'nohup sh -c "sleep 1; ip link set {site.interface} down; systemctl kill -s KILL keepalived; '
                f'sleep {MASTER_DOWN_S}; ip link set {site.interface} up; systemctl start keepalived" '
                '>/dev/null 2>&1 </dev/null &', timeout=30)
    took_over = wait_for(lambda: vip_holders(lab, site, [backup]) == [backup], 30, interval=0.5)
    print(f'\n{backup} holds the VIP {time.monotonic() - killed_at:.1f} s after the kill was sent '
          f'(SSH-polled, coarse)')
    assert took_over, f'{backup} did not take the VIP over'
    pages = ssh('client', f'for i in 1 2 3 4 5 6; do curl -s --max-time 2 {url} | tail -n 1; done')
    print(f'client through {backup}: {pages.splitlines()!r}')
    assert {p for p in pages.splitlines() if p} == {site.page(rs) for rs in site.real_servers}, pages
    samples = _samples(prober, timeout=120)
    gap = outage(samples)
    failed = sum(1 for _t, body in samples if body is None)
    print(f'client-visible outage on failover: {gap:.2f} s ({len(samples)} probes, {failed} failed, '
          f'100 ms interval, 1 s timeout)' if gap is not None else 'client never recovered within the probe')
    assert gap is not None
    # The master comes back on its own (the detached command) and takes the VIP back (preemption).
    prober = start_prober('client', url, duration=MASTER_DOWN_S + 40)
    back = wait_for(lambda: vip_holders(lab, site, [master, backup]) == [master], MASTER_DOWN_S + 60, interval=2)
    samples = _samples(prober, timeout=MASTER_DOWN_S + 120)
    gap = outage(samples)
    print(f'{master} back as holder of the VIP: {bool(back)}; client-visible outage on failback: '
          f'{gap if gap is None else round(gap, 2)} s')
    assert back, f'{master} did not take the VIP back'
