from __future__ import annotations

from pathlib import Path

from lab import paths, topology, vm

IMAGE = Path("/var/lib/lvs-lab/kernel/6.1.0-56-amd64/boot/vmlinuz-6.1.0-56-amd64")


def test_tcg_disables_kvm_and_kvm_does_not():
    assert "--disable-kvm" in vm.base_argv(IMAGE, "tcg", 2, "1G")
    assert "--disable-kvm" not in vm.base_argv(IMAGE, "kvm", 2, "1G")


def test_lab_guest_has_the_lab_network_the_hosts_tree_and_the_shared_state():
    argv = vm.lab_argv(IMAGE, "tcg")
    assert "--no-dhcp" in argv
    assert f"--rwdir={paths.SHARED}" in argv
    qemu = next(a for a in argv if a.startswith("--qemu-opts="))
    assert f"-netdev {topology.qemu_netdev()}" in qemu
    assert f"mount_tag={topology.HOSTS_TREE_TAG}" in qemu and "readonly=on" in qemu
    command = argv[argv.index("--exec") + 1]
    assert f"LAB_STATE={paths.STATE}" in command and command.endswith("-m lab guest")


def test_forced_accelerator_is_taken_as_is(monkeypatch):
    monkeypatch.setenv("LAB_ACCEL", "tcg")
    assert vm.choose_accel(IMAGE) == "tcg"


def test_no_pid_file_means_no_lab(monkeypatch, tmp_path):
    monkeypatch.setattr(paths, "PID_FILE", tmp_path / "vm.pid")
    assert vm.running_pid() is None
    (tmp_path / "vm.pid").write_text(str(2**22 + 7))  # beyond pid_max: no such process
    assert vm.running_pid() is None


def test_debian_hosts_get_the_lab_roots_and_never_this_machines_root(monkeypatch):
    monkeypatch.setenv("LAB_ROOTS", "debian")
    monkeypatch.setenv("LAB_RELEASE", "bookworm")
    argv = vm.lab_argv(IMAGE, "tcg")
    qemu = next(a for a in argv if a.startswith("--qemu-opts="))
    assert f"path={paths.ROOTS}," in qemu and "path=/," not in qemu
    command = argv[argv.index("--exec") + 1]
    assert "LAB_ROOTS=debian" in command and "LAB_RELEASE=bookworm" in command


def test_shared_hosts_get_this_machines_root(monkeypatch):
    monkeypatch.setenv("LAB_ROOTS", "shared")
    qemu = next(a for a in vm.lab_argv(IMAGE, "tcg") if a.startswith("--qemu-opts="))
    assert "path=/," in qemu
