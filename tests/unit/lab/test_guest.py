"""The per-host layer is built on a real file system (overlayfs semantics are checked by the smoke tests)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from lab import guest, paths, roots, topology


@pytest.fixture
def lower(tmp_path, monkeypatch):
    tree = tmp_path / "lower"
    wants = tree / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True)
    for unit in ("ssh.service", "apache2.service", "keepalived.service"):
        (wants / unit).symlink_to(f"/lib/systemd/system/{unit}")
    (tree / "etc/rc2.d").mkdir(parents=True)
    (tree / "etc/rc2.d/S01ipvsadm").symlink_to("../init.d/ipvsadm")
    (tree / "etc/rc2.d/K01apache-htcacheclean").symlink_to("../init.d/apache-htcacheclean")
    (tree / "etc/ssh").mkdir()
    (tree / "etc/ssh/ssh_host_rsa_key").write_text("machine key")
    monkeypatch.setattr(guest, "LOWER", tree)
    keys = tmp_path / "keys"
    keys.mkdir()
    monkeypatch.setattr(paths, "KEYS", keys)
    monkeypatch.setattr(paths, "USER_KEY", keys / "id_ed25519")
    (keys / "id_ed25519.pub").write_text("ssh-ed25519 USERKEY lab\n")
    (keys / "host_dr1_ed25519").write_text("PRIVATE")
    (keys / "host_dr1_ed25519.pub").write_text("ssh-ed25519 HOSTKEY dr1\n")
    return tree


def is_whiteout(path) -> bool:
    st = os.lstat(path)
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(0, 0)


@pytest.mark.skipif(os.geteuid() != 0, reason="whiteouts and trusted xattrs need root")
def test_layer_gives_identity_access_and_hides_shared_enablement(lower, tmp_path):
    upper = tmp_path / "upper"
    upper.mkdir()
    guest.seed_layer(topology.host("dr1"), upper)
    etc = upper / "etc"
    assert (etc / "hostname").read_text() == "dr1\n"
    assert len((etc / "machine-id").read_text().strip()) == 32
    assert (etc / "ssh/ssh_host_ed25519_key").read_text() == "PRIVATE"
    assert stat.S_IMODE((etc / "ssh/ssh_host_ed25519_key").stat().st_mode) == 0o600
    assert is_whiteout(etc / "ssh/ssh_host_rsa_key")
    assert "HostKey /etc/ssh/ssh_host_ed25519_key" in (etc / "ssh/sshd_config.d/lvs-lab.conf").read_text()
    wants = etc / "systemd/system/multi-user.target.wants"
    assert not (wants / "ssh.service").exists()  # kept: inherited from the shared tree
    assert is_whiteout(wants / "apache2.service")
    assert is_whiteout(wants / "keepalived.service")
    assert is_whiteout(etc / "rc2.d/S01ipvsadm")
    assert os.readlink(etc / "rc2.d/K01ipvsadm") == "../init.d/ipvsadm"  # as `update-rc.d ipvsadm disable`
    assert not (etc / "rc2.d/K01apache-htcacheclean").exists()
    assert os.readlink(etc / "systemd/system/user@.service") == "/dev/null"
    assert os.getxattr(upper / "root", "trusted.overlay.opaque") == b"y"
    assert (upper / "root/.ssh/authorized_keys").read_text() == "ssh-ed25519 USERKEY lab\n"


def test_second_machine_ids_differ(lower, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root")
    ids = []
    for n in range(2):
        upper = tmp_path / f"upper{n}"
        upper.mkdir()
        guest.seed_layer(topology.host("dr1"), upper)
        ids.append((upper / "etc/machine-id").read_text())
    assert ids[0] != ids[1]


def caps_of(argv: list[str]) -> set[str]:
    added = next((a.split("=", 1)[1] for a in argv if a.startswith("--capability=")), "")
    return set(filter(None, added.split(",")))


@pytest.mark.parametrize("mode", ["shared", "debian"])
def test_only_directors_may_load_modules_and_see_them(mode):
    for h in topology.HOSTS:
        argv = guest.nspawn_argv(h, Path("/run/lab/hosts/x/root"), mode, "6.1.0-56-amd64")
        modules = "--bind-ro=/lib/modules/6.1.0-56-amd64" in argv
        assert ("CAP_SYS_MODULE" in caps_of(argv)) == modules == (h.group == "directors"), h.name


def test_capabilities_per_group():
    by_group = {h.group: caps_of(guest.nspawn_argv(h, Path("/r"), "debian", "k")) for h in topology.HOSTS}
    assert by_group == {
        "directors": {"CAP_NET_ADMIN", "CAP_SYS_MODULE"},
        "realservers": {"CAP_NET_ADMIN"},
        "clients": set(),
    }
    client = guest.nspawn_argv(topology.host("client"), Path("/r"), "debian", "k")
    assert "--drop-capability=CAP_NET_ADMIN" in client


def test_debian_hosts_get_their_release_repository_read_only(monkeypatch):
    monkeypatch.setenv("LAB_RELEASE", "bookworm")
    argv = guest.nspawn_argv(topology.host("web1"), Path("/r"), "debian", "k")
    assert f"--bind-ro={guest.LOWER / 'bookworm/repo'}:{roots.REPO_MOUNT}" in argv
    shared = guest.nspawn_argv(topology.host("web1"), Path("/r"), "shared", "k")
    assert not any(roots.REPO_MOUNT in a for a in shared)


@pytest.mark.parametrize(
    ("choice", "name", "release"),
    [
        ("trixie", "dr2", "trixie"),
        ("bookworm", "dr1", "bookworm"),
        ("mixed", "dr1", "trixie"),
        ("mixed", "dr2", "bookworm"),
        ("mixed", "web1", "trixie"),
        ("mixed", "web2", "bookworm"),
    ],
)
def test_debian_hosts_are_layered_on_their_release_root_only(monkeypatch, choice, name, release):
    monkeypatch.setenv("LAB_RELEASE", choice)
    host = topology.host(name)
    assert guest.lower_root("debian", host) == guest.LOWER / release / "root"
    assert guest.repo_dir(host) == guest.LOWER / release / "repo"
    assert guest.lower_root("shared", host) == guest.LOWER


def test_a_mixed_lab_splits_each_pair_across_the_releases():
    by_group = {}
    for h in topology.HOSTS:
        by_group.setdefault(h.group, set()).add(roots.host_release(h.name, "mixed"))
    assert by_group["directors"] == by_group["realservers"] == set(roots.RELEASES)


@pytest.mark.skipif(os.geteuid() != 0, reason="trusted xattrs need root")
def test_fresh_layer_has_identity_and_access_only(lower, tmp_path):
    upper = tmp_path / "upper"
    upper.mkdir()
    guest.seed_layer(topology.host("dr1"), upper, fresh=True)
    assert (upper / "etc/hostname").read_text() == "dr1\n"
    assert (upper / "root/.ssh/authorized_keys").read_text() == "ssh-ed25519 USERKEY lab\n"
    assert not (upper / "etc/ssh/ssh_host_rsa_key").exists()  # nothing to hide: the root has no keys
    assert not (upper / "etc/systemd/system/multi-user.target.wants").exists()
    with pytest.raises(OSError):
        os.getxattr(upper / "root", "trusted.overlay.opaque")
    site = upper / guest.SITE_DIR
    assert (site / "lvs_lab_zipcache.pth").read_text() == "import lvs_lab_zipcache\n"
    assert (site / "lvs_lab_zipcache.py").read_text() == guest.ZIPCACHE.read_text()
    assert (site / "lvs_lab_fork.pth").read_text() == "import lvs_lab_fork; lvs_lab_fork.hand_over()\n"
    assert (site / "lvs_lab_fork.py").read_text() == guest.FORK.read_text()
    assert sorted(site.glob("*.pth")) == [site / "lvs_lab_fork.pth", site / "lvs_lab_zipcache.pth"]  # fork first


@pytest.mark.skipif(os.geteuid() != 0, reason="trusted xattrs need root")
@pytest.mark.parametrize(("off", "left"), [("LAB_ZIPCACHE", "lvs_lab_fork"), ("LAB_FORK", "lvs_lab_zipcache")])
def test_layer_without_a_host_module_when_told(lower, tmp_path, monkeypatch, off, left):
    monkeypatch.setenv(off, "0")
    upper = tmp_path / "upper"
    upper.mkdir()
    guest.seed_layer(topology.host("dr1"), upper, fresh=True)
    assert sorted(p.name for p in (upper / guest.SITE_DIR).iterdir()) == [f"{left}.pth", f"{left}.py"]


@pytest.mark.skipif(os.geteuid() != 0, reason="trusted xattrs need root")
def test_layer_without_either_when_told(lower, tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_ZIPCACHE", "0")
    monkeypatch.setenv("LAB_FORK", "0")
    upper = tmp_path / "upper"
    upper.mkdir()
    guest.seed_layer(topology.host("dr1"), upper, fresh=True)
    assert not (upper / "usr").exists()
