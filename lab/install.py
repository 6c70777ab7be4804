"""Set-up of the machine that runs the lab: packages, the guest kernel, keys. Idempotent."""

from __future__ import annotations

import hashlib
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from lab import paths, roots, topology
from lab.log import phase, say

# What the guest and its hosts need. With LAB_ROOTS=shared the hosts share this machine's root tree
# (read-only, with a writable layer each), so whatever they run must be installed here; with LAB_ROOTS=debian
# they get roots of their own, built with mmdebstrap, and a repository indexed with apt-ftparchive.
PACKAGES = (
    "mmdebstrap",  # the hosts' own Debian roots (lab/roots.py)
    "apt-utils",  # apt-ftparchive: the index of the lab's package repository
    "qemu-system-x86",  # the guest, under KVM or TCG
    "busybox-static",  # virtme-ng's initramfs
    "kmod",
    "udev",  # creates the virtio-serial links virtme-ng uses for the guest command's output
    "systemd-container",  # systemd-nspawn: one container per lab host
    "dbus",
    "openssh-server",
    "openssh-client",
    "keepalived",
    "ipvsadm",
    "apache2",
    "curl",
    "iproute2",
    "python3",  # Ansible's interpreter on the lab hosts
    "python3-apt",
)
KERNEL_META = "linux-image-amd64"


def missing_packages(packages: tuple[str, ...] = PACKAGES) -> list[str]:
    missing = []
    for name in packages:
        result = subprocess.run(["dpkg-query", "-W", "-f=${Status}", name], capture_output=True, text=True, check=False)
        if result.returncode != 0 or "install ok installed" not in result.stdout:
            missing.append(name)
    return missing


def install_packages() -> None:
    missing = missing_packages()
    if not missing:
        say(f"packages: all {len(PACKAGES)} present")
        return
    say(f"packages: installing {' '.join(missing)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    # The daemons must not start on this machine: they run inside the lab hosts only.
    policy = Path("/usr/sbin/policy-rc.d")
    had_policy = policy.exists()
    if not had_policy:
        policy.write_text("#!/bin/sh\n# lvs.ha lab set-up: do not start services while installing\nexit 101\n")
        policy.chmod(0o755)
    try:
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], check=True, env=env)
    finally:
        if not had_policy:
            policy.unlink(missing_ok=True)


def parse_kernel_package(depends_output: str) -> str:
    """The versioned image package that `apt-cache depends linux-image-amd64` names."""
    match = re.search(r"Depends:\s*(linux-image-(\d\S*-amd64))\s*$", depends_output, re.MULTILINE)
    if not match:
        raise RuntimeError(f"cannot find the kernel image package in:\n{depends_output}")
    return match.group(1)


def archive_sha256(record: str) -> str:
    """The SHA256 of a package as the archive's index gives it (`apt-cache show --no-all-versions PKG`)."""
    match = re.search(r"^SHA256:\s*([0-9a-f]{64})\s*$", record, re.MULTILINE)
    if not match:
        raise RuntimeError(f"no SHA256 in the package record:\n{record}")
    return match.group(1)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def kernel_release_of(package: str) -> str:
    return package.removeprefix("linux-image-")


def installed_kernel() -> Path | None:
    """The newest kernel image already unpacked for the lab, if any."""
    images = sorted(paths.KERNELS.glob("*/boot/vmlinuz-*"))
    return images[-1] if images else None


def install_kernel() -> Path:
    """Unpack Debian's kernel (with ip_vs as modules) without installing it: no initramfs or boot hooks."""

    def depends() -> str:
        return subprocess.run(["apt-cache", "depends", KERNEL_META], capture_output=True, text=True, check=True).stdout

    listed = depends()
    if "Depends:" not in listed:  # a machine whose package lists were never fetched
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        listed = depends()
    package = parse_kernel_package(listed)
    release = kernel_release_of(package)
    root = paths.KERNELS / release
    image = root / "boot" / f"vmlinuz-{release}"
    if image.exists() and (root / "lib/modules" / release / "modules.dep").exists():
        say(f"kernel: {release} present")
        return image
    say(f"kernel: fetching {package}")
    paths.KERNELS.mkdir(parents=True, exist_ok=True)
    os.chmod(paths.KERNELS, 0o755)
    record = subprocess.run(
        ["apt-cache", "show", "--no-all-versions", package], capture_output=True, text=True, check=True
    ).stdout
    expected = archive_sha256(record)
    with tempfile.TemporaryDirectory(dir=paths.KERNELS) as tmp:
        # apt drops privileges to _apt for downloads: the folder is that user's alone (mode 0700), not open to
        # every user, so nothing can swap the file between apt's check and ours.
        os.chown(tmp, pwd.getpwnam("_apt").pw_uid, 0)
        os.chmod(tmp, 0o700)
        subprocess.run(["apt-get", "download", "-qq", package], cwd=tmp, check=True)
        os.chown(tmp, 0, 0)
        (deb,) = Path(tmp).glob("*.deb")
        # apt-get download already checks the file against the index it got through the signed Release file
        # (InRelease, verified with debian-archive-keyring at `apt-get update`); checking it again here makes
        # that guarantee explicit and visible before anything of the package is unpacked or booted.
        actual = file_sha256(deb)
        if actual != expected:
            raise RuntimeError(f"{deb.name}: SHA256 {actual} is not the archive's {expected}")
        say(f"kernel: {deb.name} matches the archive's SHA256 {expected[:16]}...")
        staging = Path(tmp) / "root"
        subprocess.run(["dpkg-deb", "-x", str(deb), str(staging)], check=True)
        modules = staging / "lib/modules" / release
        if not (modules / "kernel/net/netfilter/ipvs").is_dir():
            raise RuntimeError(f"{package} has no ip_vs modules")
        # The package leaves modules.dep to its maintainer scripts; compute it for the extracted tree.
        subprocess.run(["depmod", "-b", str(staging), release], check=True)
        shutil.rmtree(root, ignore_errors=True)
        staging.rename(root)
    say(f"kernel: {release} unpacked in {root}")
    return image


def host_has_ipvs() -> bool:
    """True when this machine's own kernel offers IPVS (built in or as a loadable module)."""
    if Path("/proc/net/ip_vs").exists():
        return True
    release = os.uname().release
    modules = Path("/lib/modules") / release
    return Path("/proc/modules").exists() and any(modules.glob("kernel/net/netfilter/ipvs/ip_vs.ko*"))


def ensure_keys() -> None:
    """The lab's login key and one ed25519 host key per lab host (RSA is slow to make under TCG)."""
    paths.KEYS.mkdir(parents=True, exist_ok=True)
    wanted = [(paths.USER_KEY, "lvs-ha-lab")] + [(paths.host_key(h.name), h.name) for h in topology.HOSTS]
    for key, comment in wanted:
        if not key.exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(key)], check=True)
    host_keys = {h.name: paths.host_key(h.name).with_suffix(".pub").read_text() for h in topology.HOSTS}
    paths.KNOWN_HOSTS.write_text(topology.known_hosts(host_keys))
    paths.SSH_CONFIG.write_text(topology.ssh_config(str(paths.USER_KEY), str(paths.KNOWN_HOSTS)))
    env = topology.ansible_env(str(paths.SSH_CONFIG))
    paths.ENV_FILE.write_text("".join(f"export {k}='{v}'\n" for k, v in env.items()))


def setup() -> Path:
    if os.geteuid() != 0:
        raise SystemExit("lab set-up needs root (packages, kernel, network namespaces in the guest)")
    with phase("set-up"):
        install_packages()
        image = install_kernel()
        ensure_keys()
        roots.build_all()
        if host_has_ipvs():
            say("this machine's kernel has IPVS; the lab still runs its hosts in a guest (host mode is not built)")
        else:
            say("this machine's kernel has no IPVS: the lab hosts run in a guest kernel")
    return image
