"""Hosts that are minimal Debian systems of their own (LAB_ROOTS=debian): nothing of the site installed, apt
from the lab's repository only, nothing of this machine visible, capabilities by role, real reboots."""

from __future__ import annotations

import secrets
import subprocess
import sys
import time

import pytest

from lab import paths, roots, topology

pytestmark = pytest.mark.skipif(roots.mode() != "debian", reason="hosts on this machine's tree (LAB_ROOTS=shared)")

NAMES = [h.name for h in topology.HOSTS]
SITE_PACKAGES = ("keepalived", "ipvsadm", "apache2")
CAP_SYS_MODULE = 16


@pytest.mark.parametrize("name", NAMES)
def test_host_runs_the_chosen_release_without_the_sites_packages(on_host, name):
    result = on_host(
        name,
        ". /etc/os-release; echo $VERSION_CODENAME; "
        f"dpkg-query -W -f='${{Package}} ${{Status}}\\n' {' '.join(SITE_PACKAGES)} 2>/dev/null",
    )
    codename, *installed = result.stdout.splitlines()
    assert codename == roots.host_release(name)
    assert not [line for line in installed if "install ok installed" in line], installed


@pytest.mark.parametrize("name", ["dr1", "client"])
def test_host_cannot_see_this_machine(on_host, name):
    hidden = ["/work", str(paths.REPO), str(paths.KEYS), str(paths.USER_KEY), str(paths.KERNELS.parent)]
    result = on_host(name, " ; ".join(f"test -e {p} && echo {p}" for p in hidden) + "; true")
    assert result.stdout == "", f"visible on {name}: {result.stdout}"


def test_apt_sources_are_the_lab_repository_only(on_host):
    result = on_host("web2", "cat /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null; apt-get update")
    assert result.returncode == 0, result.stderr
    assert f"URIs: file:{roots.REPO_MOUNT}" in result.stdout
    assert "http" not in result.stdout


def test_apt_fetches_the_sites_packages_from_the_lab_repository(on_host):
    """Every package the roles install, with what it depends on, resolves and is fetched (its file read and its
    hash checked) from the lab repository, and the host stays as it was: the roles install them for real in
    molecule's converge, so a dpkg run here would only cost a minute of emulated CPU."""
    result = on_host(
        "dr1",
        "DEBIAN_FRONTEND=noninteractive apt-get install --download-only -y " + " ".join(SITE_PACKAGES),
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    gets = [line for line in result.stdout.splitlines() if line.startswith("Get:")]
    assert set(SITE_PACKAGES) <= {line.split()[3] for line in gets}, result.stdout[-2000:]
    assert all(f"file:{roots.REPO_MOUNT}" in line for line in gets), gets
    left = on_host(
        "dr1",
        f"dpkg-query -W -f='${{Status}}\\n' {' '.join(SITE_PACKAGES)} 2>/dev/null; ls /var/cache/apt/archives; true",
    )
    assert "install ok installed" not in left.stdout, left.stdout
    assert ".deb" not in left.stdout, f"package files left in apt's cache: {left.stdout}"


def cap_bound(on_host, name: str) -> int:
    line = on_host(name, "grep CapBnd /proc/1/status").stdout
    return int(line.split()[1], 16)


def test_only_directors_may_load_kernel_modules(on_host):
    for h in topology.HOSTS:
        assert bool(cap_bound(on_host, h.name) >> CAP_SYS_MODULE & 1) == (h.group == "directors"), h.name
    assert on_host("web1", "ls /lib/modules").stdout.strip() == ""


def lab_reboot(name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lab", "reboot", name, *args],
        cwd=paths.REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def boot_id(on_host, name: str) -> str:
    return on_host(name, "cat /proc/sys/kernel/random/boot_id").stdout.strip()


def test_reboot_keeps_the_disk_and_loses_runtime_state(on_host):
    token = secrets.token_hex(8)
    before = boot_id(on_host, "web1")
    prepared = on_host(
        "web1",
        f"echo {token} > /etc/lvs-lab-probe && echo {token} > /run/lvs-lab-probe && "
        "ip addr add 192.168.100.99/32 dev lo",
    )
    assert prepared.returncode == 0, prepared.stderr
    result = lab_reboot("web1")
    assert result.returncode == 0, result.stderr
    after = on_host(
        "web1",
        "cat /proc/sys/kernel/random/boot_id; cat /etc/lvs-lab-probe; "
        "test -e /run/lvs-lab-probe && echo run-kept; ip -br addr show dev lo; "
        "rm -f /etc/lvs-lab-probe",
    )
    lines = after.stdout.splitlines()
    assert lines[0] and lines[0] != before
    assert lines[1] == token
    assert "run-kept" not in lines
    assert "192.168.100.99" not in after.stdout


def test_reboot_from_inside_brings_the_host_back(on_host):
    before = boot_id(on_host, "client")
    on_host("client", "systemctl reboot", timeout=30)
    deadline = time.monotonic() + 180
    now = ""
    while time.monotonic() < deadline:
        now = boot_id(on_host, "client")
        if now and now != before:
            break
        time.sleep(2)
    assert now and now != before, "client did not come back from `systemctl reboot` within 180 s"
    assert on_host("client", "systemctl is-system-running --wait").stdout.strip() == "running"
