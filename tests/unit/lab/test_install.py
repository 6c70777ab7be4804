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
        "busybox-static",
        "keepalived",
    ]


def test_every_daemon_the_hosts_run_is_installed():
    for name in ("openssh-server", "keepalived", "ipvsadm", "apache2", "systemd-container", "python3"):
        assert name in install.PACKAGES


def test_archive_sha256_is_read_from_the_package_record():
    record = (
        "Package: linux-image-6.1.0-56-amd64\nVersion: 6.1.192-2\n"
        "SHA256: a86e2049672f52354c4536a089203b6c82639420424d31c91cf31a181fd4d8f1\nSize: 1\n"
    )
    assert install.archive_sha256(record) == "a86e2049672f52354c4536a089203b6c82639420424d31c91cf31a181fd4d8f1"
    with pytest.raises(RuntimeError, match="no SHA256"):
        install.archive_sha256("Package: x\nMD5sum: 00\n")


def test_file_sha256(tmp_path):
    (tmp_path / "f").write_bytes(b"abc")
    assert install.file_sha256(tmp_path / "f") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_setup_installs_the_root_builders():
    assert {"mmdebstrap", "apt-utils"} <= set(install.PACKAGES)
