"""The hosts' own Debian systems (LAB_ROOTS=debian): per release, a minimal root tree and a local package
repository, built with mmdebstrap at set-up and cached under /var/lib/lvs-lab/roots/<release>.

The root holds what a minimal Debian server has and nothing the roles install. The repository holds the
dependency closure, against that root and with Recommends (as Ansible's apt module installs by default), of
what the roles install. apt resolves that closure inside the freshly built root, so it is exact for the
root it serves. The root's only apt source is the repository, read-only at REPO_MOUNT in every host; its
package lists are fetched at build time, so a host can `apt-get install` right away, as a real one can.

A build is kept with the hash of its inputs (release, package lists, mirrors, this file) and redone only when
that hash changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import time
from pathlib import Path

from lab import paths, topology
from lab.log import say

MODES = ("shared", "debian")
DEFAULT_MODE = "debian"  # `shared` (hosts layered on this machine's tree) is the lab of earlier versions
RELEASES = ("bookworm", "trixie")
DEFAULT_RELEASE = "trixie"
# LAB_RELEASE=mixed: both releases in one lab, each pair split across them (the MASTER director and the first
# real server on trixie, their partners on bookworm), so one run of a scenario converges, checks and fails
# over hosts of both releases: a MASTER on one release hands the VIP to a BACKUP on the other and takes it back.
MIXED = "mixed"
MIXED_RELEASES = {"dr1": "trixie", "web1": "trixie", "client": "trixie", "dr2": "bookworm", "web2": "bookworm"}

# A minimal server that Ansible can manage: init, sshd, Python with apt's bindings (Ansible's apt module needs
# them, and cannot install them in check mode), the network tools, a few things an administrator expects,
# curl (the client's prober and checks use it; one root serves every host).
ROOT_PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "openssh-server",
    "python3",
    "python3-apt",
    "iproute2",
    "kmod",  # modprobe, and libkmod for systemd-modules-load
    "netbase",
    "ca-certificates",
    "procps",
    "less",
    "iputils-ping",
    "curl",
)
# What the roles install (director: keepalived, ipvsadm; realserver: apache2). Never in the root.
REPO_PACKAGES = ("keepalived", "ipvsadm", "apache2")
# Where every host sees the repository (a read-only bind of the build's repo folder).
REPO_MOUNT = "/srv/lvs-lab-repo"
SOURCES_FILE = "etc/apt/sources.list.d/lvs-lab.sources"

MIRROR = os.environ.get("LAB_DEBIAN_MIRROR", "http://deb.debian.org/debian")
SECURITY_MIRROR = os.environ.get("LAB_DEBIAN_SECURITY_MIRROR", "http://deb.debian.org/debian-security")

# Periodic jobs of a stock server that would wake at random moments and cost emulated CPU in the middle of a
# test (apt's daily runs would also reach for the repository): not enabled in the lab's roots.
DISABLED_LINKS = (
    "timers.target.wants/apt-daily.timer",
    "timers.target.wants/apt-daily-upgrade.timer",
    "timers.target.wants/dpkg-db-backup.timer",
    "timers.target.wants/fstrim.timer",
    "timers.target.wants/e2scrub_all.timer",
    "timers.target.wants/man-db.timer",
)
# The units every lab host masks (topology.MASKED_UNITS), and trixie's sshd-keygen, which would make RSA and
# ECDSA keys at boot (about 5 s for RSA under TCG): each host gets its own ed25519 key from the lab instead.
# Then units with nothing to do in a container that the kernel and nspawn already set up, each of which cost
# 2-5 s of emulated CPU at every boot, most of them on the way to sshd: static device nodes (nspawn makes
# /dev), the pstore archive, hugepages, the remount of / by an empty fstab.
MASKED = (
    *topology.MASKED_UNITS,
    "sshd-keygen.service",
    "kmod-static-nodes.service",
    "modprobe@efi_pstore.service",
    "systemd-pstore.service",
    "dev-hugepages.mount",
    "systemd-remount-fs.service",
    "systemd-journal-flush.service",  # the journal stays in /run (DROP_INS): nothing to flush
)
# Generators that find nothing to generate in a lab host (no disks, partitions, TPM, hibernation image,
# serial console, kernel command line of its own, VSOCK or AF_UNIX ssh) but cost systemd an exec each, under
# emulation, before it loads a unit. Masked as systemd allows: a link to /dev/null in /etc. The sysv and
# rc-local generators stay, as on any Debian server (packages may still ship init scripts).
MASKED_GENERATORS = (
    "systemd-debug-generator",
    "systemd-fstab-generator",
    "systemd-getty-generator",
    "systemd-gpt-auto-generator",
    "systemd-hibernate-resume-generator",
    "systemd-run-generator",
    "systemd-ssh-generator",
    "systemd-system-update-generator",
    "systemd-tpm2-generator",
)
# Drop-ins the lab adds to every root: the journal in /run only (no flush to /var/log/journal on the way to
# sshd, about 2 s per boot; a reboot starts a new journal, as the runtime state it is), and sshd started
# without its `sshd -t` pre-check, which parses the same configuration sshd parses right after (about 1 s).
DROP_INS = {
    "etc/systemd/journald.conf.d/lvs-lab.conf": "[Journal]\nStorage=volatile\n",
    "etc/systemd/system/ssh.service.d/lvs-lab.conf": "[Service]\nExecStartPre=\n",
}
# The stamps systemd-update-done writes after a first boot: with them, the units that only run after /usr
# changed (ldconfig, sysusers, the journal catalog, update-done itself; about 6 s before sshd under TCG) find
# the root up to date at every host's first boot, as they would on an installed server.
UPDATE_STAMPS = ("etc/.updated", "var/.updated")


def mode() -> str:
    value = os.environ.get("LAB_ROOTS", DEFAULT_MODE)
    if value not in MODES:
        raise SystemExit(f"LAB_ROOTS must be one of {', '.join(MODES)}, not {value!r}")
    return value


def release() -> str:
    """The lab's choice of release: one of RELEASES, or MIXED."""
    value = os.environ.get("LAB_RELEASE", DEFAULT_RELEASE)
    if value not in (*RELEASES, MIXED):
        raise SystemExit(f"LAB_RELEASE must be one of {', '.join((*RELEASES, MIXED))}, not {value!r}")
    return value


def host_release(name: str, choice: str | None = None) -> str:
    """The release host ``name`` runs in a lab of release ``choice`` (LAB_RELEASE when not given)."""
    choice = choice or release()
    return MIXED_RELEASES[name] if choice == MIXED else choice


def describe(choice: str | None = None) -> str:
    """The hosts' releases in words, for the lab's progress lines."""
    choice = choice or release()
    if choice != MIXED:
        return f"Debian {choice} roots"
    by_release: dict[str, list[str]] = {}
    for name, rel in MIXED_RELEASES.items():
        by_release.setdefault(rel, []).append(name)
    return "Debian roots, mixed (" + "; ".join(f"{', '.join(n)}: {r}" for r, n in by_release.items()) + ")"


def release_dir(name: str) -> Path:
    return paths.ROOTS / name


def apt_sources(name: str) -> list[str]:
    """The Debian archive lines a build fetches from (with the release's updates and security fixes)."""
    return [
        f"deb {MIRROR} {name} main",
        f"deb {MIRROR} {name}-updates main",
        f"deb {SECURITY_MIRROR} {name}-security main",
    ]


def lab_sources() -> str:
    """The hosts' only apt source: the lab repository, a flat one (no dists/), trusted without a signature.

    The packages in it were verified by apt against Debian's signed Release files when they were downloaded,
    and the repository reaches the hosts only as a read-only bind from the guest, which nothing in the lab
    network can write: a signature made by a key stored beside it would prove nothing more.
    """
    return (
        f"# lvs.ha lab: the lab's own package repository, nothing else\nTypes: deb\nURIs: file:{REPO_MOUNT}\n"
        "Suites: ./\nTrusted: yes\n"
    )


def cache_key(name: str, code: bytes | None = None) -> str:
    """The hash of everything a build depends on; a change in any of it means a new build."""
    if code is None:
        code = Path(__file__).read_bytes()
    inputs = {
        "release": name,
        "root": sorted(ROOT_PACKAGES),
        "repo": sorted(REPO_PACKAGES),
        "sources": apt_sources(name),
        "code": hashlib.sha256(code).hexdigest(),
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def download_closure_hook() -> str:
    return 'chroot "$1" apt-get install -y -qq --download-only -o APT::Install-Recommends=true ' + shlex.join(
        REPO_PACKAGES
    )


def repo_index_hook(repo: Path) -> str:
    """Move what apt downloaded into the repo folder and index it (a flat repository: Packages, Release)."""
    r = shlex.quote(str(repo))
    return (
        f'mkdir -p {r} && mv "$1"/var/cache/apt/archives/*.deb {r}/ && cd {r} '
        "&& apt-ftparchive packages . > Packages && apt-ftparchive release . > Release"
    )


def point_apt_hook(repo: Path) -> str:
    """Make the lab repository the root's only source, and fetch its lists through the hosts' own path."""
    r = shlex.quote(str(repo))
    mount = f'"$1"{REPO_MOUNT}'
    return (
        f'rm -f "$1"/etc/apt/sources.list "$1"/etc/apt/sources.list.d/* '
        f'&& printf %s {shlex.quote(lab_sources())} > "$1"/{SOURCES_FILE} '
        f"&& mkdir -p {mount} && mount --bind {r} {mount} "
        f'&& {{ chroot "$1" apt-get update -qq; rc=$?; umount {mount}; exit $rc; }}'
    )


def mmdebstrap_argv(name: str, root: Path, repo: Path) -> list[str]:
    return [
        "mmdebstrap",
        "--quiet",
        "--variant=minbase",
        "--mode=root",
        "--format=directory",
        "--skip=cleanup/apt/lists",
        f"--include={','.join(ROOT_PACKAGES)}",
        f"--customize-hook={download_closure_hook()}",
        f"--customize-hook={repo_index_hook(repo)}",
        f"--customize-hook={point_apt_hook(repo)}",
        name,
        str(root),
        *apt_sources(name),
    ]


def mask(link: Path) -> None:
    """Mask a unit or generator as `systemctl mask` does: its name in /etc, a link to /dev/null."""
    link.unlink(missing_ok=True)
    link.symlink_to("/dev/null")


def finish_root(root: Path) -> None:
    """What every lab host shares beyond the packages: no identity (each host gets its own), no periodic
    jobs, the masked units."""
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    (root / "etc/machine-id").write_text("")  # the lab writes each host's own
    (root / "etc/hostname").write_text("localhost\n")
    system = root / "etc/systemd/system"
    for link in DISABLED_LINKS:
        (system / link).unlink(missing_ok=True)
    for unit in MASKED:
        mask(system / unit)
    (root / "etc/fstab").write_text("# lvs.ha lab host: no file systems to mount\n")
    generators = root / "etc/systemd/system-generators"
    generators.mkdir(parents=True, exist_ok=True)
    for name in MASKED_GENERATORS:
        mask(generators / name)
    for rel, text in DROP_INS.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("# lvs.ha lab: see lab/roots.py\n" + text)
    usr = (root / "usr").stat().st_mtime_ns
    for stamp in UPDATE_STAMPS:
        (root / stamp).write_text(f"# Written by the lvs.ha lab as systemd-update-done would.\nTIMESTAMP_NSEC={usr}\n")
        os.utime(root / stamp, ns=(usr, usr))


def built(name: str) -> bool:
    base = release_dir(name)
    try:
        return (base / "key").read_text().strip() == cache_key(name) and (base / "root/usr/bin/python3").exists()
    except FileNotFoundError:
        return False


def build(name: str) -> Path:
    """Build (or keep) the root and the repository of one release; returns their folder."""
    base = release_dir(name)
    if built(name):
        say(f"roots: {name} present ({base})")
        return base
    start = time.monotonic()
    say(f"roots: building {name} (mmdebstrap)")
    paths.ROOTS.mkdir(parents=True, exist_ok=True)
    os.chmod(paths.ROOTS, 0o755)
    staging = paths.ROOTS / f".{name}.new"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(mode=0o755)
    root, repo = staging / "root", staging / "repo"
    subprocess.run(mmdebstrap_argv(name, root, repo), check=True)
    finish_root(root)
    (staging / "key").write_text(cache_key(name) + "\n")
    shutil.rmtree(base, ignore_errors=True)
    staging.rename(base)
    debs = len(list((base / "repo").glob("*.deb")))
    say(f"roots: {name} built in {time.monotonic() - start:.1f} s ({debs} packages in its repository)")
    return base


def build_all() -> None:
    for name in RELEASES:
        build(name)
