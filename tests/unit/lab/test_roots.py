"""The hosts' own roots: cache keys, the build command, the repository and the hosts' apt sources."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from lab import roots


def test_cache_key_is_stable_and_follows_every_input(monkeypatch):
    key = roots.cache_key("trixie", b"code")
    assert key == roots.cache_key("trixie", b"code")
    assert key != roots.cache_key("bookworm", b"code")
    assert key != roots.cache_key("trixie", b"other code")
    monkeypatch.setattr(roots, "ROOT_PACKAGES", (*roots.ROOT_PACKAGES, "vim"))
    assert key != roots.cache_key("trixie", b"code")


def test_cache_key_ignores_the_order_of_the_package_lists(monkeypatch):
    key = roots.cache_key("trixie", b"code")
    monkeypatch.setattr(roots, "ROOT_PACKAGES", tuple(reversed(roots.ROOT_PACKAGES)))
    assert roots.cache_key("trixie", b"code") == key


def test_cache_key_defaults_to_the_code_that_builds_the_root():
    assert roots.cache_key("trixie") == roots.cache_key("trixie", Path(roots.__file__).read_bytes())


def test_what_the_roles_install_is_never_in_the_root():
    assert not set(roots.REPO_PACKAGES) & set(roots.ROOT_PACKAGES)
    assert {"keepalived", "ipvsadm", "apache2"} <= set(roots.REPO_PACKAGES)
    assert {"systemd", "systemd-sysv", "openssh-server", "python3", "iproute2", "curl"} <= set(roots.ROOT_PACKAGES)


def test_mmdebstrap_builds_a_minimal_root_from_debian_with_its_updates():
    argv = roots.mmdebstrap_argv("bookworm", Path("/r/root"), Path("/r/repo"))
    assert argv[:5] == ["mmdebstrap", "--quiet", "--variant=minbase", "--mode=root", "--format=directory"]
    assert f"--include={','.join(roots.ROOT_PACKAGES)}" in argv
    assert argv[-4:] == [
        "/r/root",
        f"deb {roots.MIRROR} bookworm main",
        f"deb {roots.MIRROR} bookworm-updates main",
        f"deb {roots.SECURITY_MIRROR} bookworm-security main",
    ]
    assert argv[-5] == "bookworm"
    hooks = [a.removeprefix("--customize-hook=") for a in argv if a.startswith("--customize-hook=")]
    # closure first (with Recommends, as Ansible's apt installs), then the index, then the root's apt sources
    assert hooks[0].endswith("-o APT::Install-Recommends=true keepalived ipvsadm apache2")
    assert "--download-only" in hooks[0]
    assert "apt-ftparchive packages . > Packages" in hooks[1] and "/r/repo" in hooks[1]
    assert "apt-get update" in hooks[2] and roots.REPO_MOUNT in hooks[2]
    assert "--skip=cleanup/apt/lists" in argv  # the hosts start with the repository's lists


def test_hooks_run_as_shell_and_index_a_flat_repository(tmp_path):
    """The index hook moves apt's downloads into the repository and writes Packages and Release."""
    if subprocess.run(["which", "apt-ftparchive"], capture_output=True, check=False).returncode != 0:
        pytest.skip("apt-ftparchive (apt-utils) is not installed")
    chroot, repo = tmp_path / "root", tmp_path / "repo"
    archives = chroot / "var/cache/apt/archives"
    archives.mkdir(parents=True)
    package = tmp_path / "pkg"
    (package / "DEBIAN").mkdir(parents=True)
    (package / "DEBIAN/control").write_text(
        "Package: lvs-probe\nVersion: 1.0\nArchitecture: all\nMaintainer: lab <lab@example.org>\n"
        "Description: test package\n"
    )
    subprocess.run(
        ["dpkg-deb", "-b", "--root-owner-group", str(package), str(archives / "lvs-probe_1.0_all.deb")],
        capture_output=True,
        check=True,
    )
    subprocess.run(["sh", "-c", roots.repo_index_hook(repo), "hook", str(chroot)], check=True)
    assert not list(archives.glob("*.deb"))
    assert "Package: lvs-probe" in (repo / "Packages").read_text()
    assert "Filename: ./lvs-probe_1.0_all.deb" in (repo / "Packages").read_text()
    assert "SHA256:" in (repo / "Release").read_text()


def test_hosts_see_only_the_lab_repository():
    sources = roots.lab_sources()
    assert f"URIs: file:{roots.REPO_MOUNT}\n" in sources
    assert "Suites: ./\n" in sources and "Components" not in sources  # a flat repository
    assert "Trusted: yes\n" in sources
    assert "http" not in sources


def test_finish_root_strips_identity_and_periodic_jobs(tmp_path):
    root = tmp_path
    (root / "etc/ssh").mkdir(parents=True)
    for name in ("ssh_host_rsa_key", "ssh_host_rsa_key.pub", "ssh_host_ed25519_key"):
        (root / "etc/ssh" / name).write_text("built-in key")
    (root / "etc/ssh/sshd_config").write_text("# stock\n")
    (root / "etc/machine-id").write_text("0123\n")
    timers = root / "etc/systemd/system/timers.target.wants"
    timers.mkdir(parents=True)
    (timers / "apt-daily.timer").symlink_to("/usr/lib/systemd/system/apt-daily.timer")
    (root / "etc/systemd/system/sshd-keygen.service").symlink_to("/usr/lib/systemd/system/sshd-keygen.service")
    (root / "usr").mkdir()
    (root / "var").mkdir()
    roots.finish_root(root)
    assert sorted(p.name for p in (root / "etc/ssh").iterdir()) == ["sshd_config"]
    assert (root / "etc/machine-id").read_text() == ""
    assert not (timers / "apt-daily.timer").is_symlink()
    assert os.readlink(root / "etc/systemd/system/sshd-keygen.service") == "/dev/null"
    assert os.readlink(root / "etc/systemd/system/user@.service") == "/dev/null"


def test_finish_root_spares_a_first_boot_the_units_with_nothing_to_do(tmp_path):
    root = tmp_path
    for folder in ("etc/ssh", "etc/systemd/system", "usr", "var"):
        (root / folder).mkdir(parents=True)
    os.utime(root / "usr", ns=(1_700_000_000_123_456_789, 1_700_000_000_123_456_789))
    roots.finish_root(root)
    # systemd's ConditionNeedsUpdate= compares these with /usr: equal means up to date
    for stamp in ("etc/.updated", "var/.updated"):
        assert (root / stamp).stat().st_mtime_ns == 1_700_000_000_123_456_789
        assert "TIMESTAMP_NSEC=1700000000123456789\n" in (root / stamp).read_text()
    generators = root / "etc/systemd/system-generators"
    assert os.readlink(generators / "systemd-gpt-auto-generator") == "/dev/null"
    assert not (generators / "systemd-sysv-generator").exists()
    assert os.readlink(root / "etc/systemd/system/kmod-static-nodes.service") == "/dev/null"
    assert "Storage=volatile" in (root / "etc/systemd/journald.conf.d/lvs-lab.conf").read_text()
    assert "ExecStartPre=\n" in (root / "etc/systemd/system/ssh.service.d/lvs-lab.conf").read_text()


def test_built_follows_the_key(tmp_path, monkeypatch):
    monkeypatch.setattr(roots.paths, "ROOTS", tmp_path)
    base = tmp_path / "trixie"
    (base / "root/usr/bin").mkdir(parents=True)
    (base / "root/usr/bin/python3").write_text("")
    assert not roots.built("trixie")
    (base / "key").write_text(roots.cache_key("trixie") + "\n")
    assert roots.built("trixie")
    (base / "key").write_text(roots.cache_key("bookworm") + "\n")
    assert not roots.built("trixie")


@pytest.mark.parametrize(
    ("variable", "function", "default"),
    [
        ("LAB_ROOTS", roots.mode, "debian"),
        ("LAB_RELEASE", roots.release, "trixie"),
    ],
)
def test_mode_and_release_come_from_the_environment(monkeypatch, variable, function, default):
    monkeypatch.delenv(variable, raising=False)
    assert function() == default
    monkeypatch.setenv(variable, "nonsense")
    with pytest.raises(SystemExit, match=variable):
        function()
