from __future__ import annotations

import subprocess

import pytest

from lab import install

# Captured from `apt-cache depends linux-image-amd64` on Debian 12.
DEPENDS = """linux-image-amd64
  Depends: linux-image-6.1.0-56-amd64
"""


def test_kernel_package_is_resolved_from_the_meta_package():
    package = install.parse_kernel_package(DEPENDS)
    assert package == "linux-image-6.1.0-56-amd64"
    assert install.kernel_release_of(package) == "6.1.0-56-amd64"


def test_kernel_package_missing_is_an_error():
    with pytest.raises(RuntimeError, match="cannot find the kernel image package"):
        install.parse_kernel_package("linux-image-amd64\n")


def test_missing_packages_asks_dpkg_for_each(monkeypatch):
    installed = {"kmod", "curl"}

    def fake_run(argv, **kwargs):
        name = argv[-1]
        status = "install ok installed" if name in installed else "deinstall ok config-files"
        return subprocess.CompletedProcess(argv, 0 if name != "busybox-static" else 1, stdout=status)

    monkeypatch.setattr(install.subprocess, "run", fake_run)
    assert install.missing_packages(("kmod", "curl", "busybox-static", "keepalived")) == [
        "busybox-static", "keepalived"]


def test_every_daemon_the_hosts_run_is_installed():
    for name in ("openssh-server", "keepalived", "ipvsadm", "apache2", "systemd-container", "python3"):
        assert name in install.PACKAGES
