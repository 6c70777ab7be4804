"""lab/hostpy/lvs_lab_fork.py in real processes: a `python3` that reads its script from standard input hands the
run to the fork server and ends as the script did (output, exit status, signal); what it does not hand over runs
as always; a client that goes away takes its child with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

HOSTPY = Path(__file__).resolve().parents[3] / "lab" / "hostpy"


@pytest.fixture
def fork_dir(tmp_path):
    """A folder for the server's socket and lock, and a sitecustomize that calls the hand-over as the lab's .pth
    does; the server that the first run starts is stopped at the end."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site/sitecustomize.py").write_text("import lvs_lab_fork; lvs_lab_fork.hand_over()\n")
    (tmp_path / "run").mkdir()
    yield tmp_path
    stop_server(tmp_path / "run")


def env_for(fork_dir: Path, **extra: str) -> dict[str, str]:
    return dict(
        os.environ,
        PYTHONPATH=f"{fork_dir / 'site'}:{HOSTPY}",
        LVS_LAB_FORK_DIR=str(fork_dir / "run"),
        **extra,
    )


def server_pids(run_dir: Path) -> list[int]:
    """The fork servers that serve ``run_dir`` (their command line and environment, read from /proc)."""
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if (proc / "cmdline").read_bytes().split(b"\0")[1:3] != [b"-m", b"lvs_lab_fork"]:
                continue
            if f"LVS_LAB_FORK_DIR={run_dir}".encode() in (proc / "environ").read_bytes().split(b"\0"):
                pids.append(int(proc.name))
        except OSError:
            continue  # gone meanwhile
    return pids


def stop_server(run_dir: Path) -> None:
    for pid in server_pids(run_dir):
        os.kill(pid, signal.SIGKILL)


def python3(fork_dir: Path, script: str, **kwargs) -> subprocess.CompletedProcess:
    """`python3` as Ansible runs it with pipelining: no arguments, the script on standard input."""
    env = env_for(fork_dir, **kwargs.pop("env", {}))
    return subprocess.run(
        [sys.executable], input=script, capture_output=True, text=True, env=env, check=False, **kwargs
    )


def started_server(fork_dir: Path) -> None:
    """The first run starts the server (and runs its script itself); wait until the server listens."""
    assert python3(fork_dir, "print('first')").stdout == "first\n"
    for _ in range(100):
        if (fork_dir / "run/lvs-lab-fork.sock").exists() and server_pids(fork_dir / "run"):
            return
        time.sleep(0.05)
    raise AssertionError("no fork server started")


# Prints the pid of the process that runs it; in a handed-over run that is not the python3 subprocess.run started.
SCRIPT = """
import os, sys
print(os.getpid(), os.getcwd(), os.environ.get("LVS_TEST"), sys.argv, __name__, oct(os.umask(0)))
print("err", file=sys.stderr)
sys.exit(int(os.environ.get("LVS_EXIT", "0")))
"""


def test_a_run_is_handed_over_and_ends_as_its_script(fork_dir, tmp_path):
    started_server(fork_dir)
    env = {"LVS_TEST": "yes", "LVS_EXIT": "3"}
    client = subprocess.Popen(
        [sys.executable],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env_for(fork_dir, **env),
        umask=0o027,
    )
    out, err = client.communicate(SCRIPT)
    pid, cwd, value, argv, name, umask = out.split(maxsplit=5)
    assert int(pid) != client.pid  # the server's child ran it
    assert (cwd, value, argv, name, umask.strip()) == (str(tmp_path), "yes", "['']", "__main__", "0o27")
    assert (err, client.returncode) == ("err\n", 3)


def test_without_a_server_the_run_is_its_own_and_starts_one(fork_dir):
    result = python3(fork_dir, "import os; print(os.getpid())")
    assert result.returncode == 0
    assert server_pids(fork_dir / "run") == [] or int(result.stdout) not in server_pids(fork_dir / "run")
    started_server(fork_dir)
    assert len(server_pids(fork_dir / "run")) == 1
    assert python3(fork_dir, "print('again')").stdout == "again\n"
    assert len(server_pids(fork_dir / "run")) == 1  # one server, however many runs


def test_an_uncaught_exception_and_a_signal_end_the_run_as_they_end_python3(fork_dir):
    started_server(fork_dir)
    raised = python3(fork_dir, "raise ValueError('boom')\n")
    assert raised.returncode == 1
    assert raised.stderr.splitlines()[-1] == "ValueError: boom"
    assert "lvs_lab_fork" not in raised.stderr  # the traceback starts at the script, as python3's does
    killed = python3(fork_dir, "import os, signal; os.kill(os.getpid(), signal.SIGTERM)\n")
    assert killed.returncode == -signal.SIGTERM


def test_what_is_not_a_script_on_standard_input_is_not_handed_over(fork_dir):
    started_server(fork_dir)
    env = env_for(fork_dir)
    with_args = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, env=env, check=False
    )
    turned_off = python3(fork_dir, "import os; print(os.getpid(), os.getppid())", env={"LVS_LAB_FORK": "0"})
    server = server_pids(fork_dir / "run")
    assert server
    assert int(turned_off.stdout.split()[1]) != server[0]  # run by the python3 itself, not a child of the server
    assert with_args.returncode == 0 and with_args.stdout.strip().isdigit()


def test_a_client_that_goes_away_takes_its_run_with_it(fork_dir, tmp_path):
    started_server(fork_dir)
    marker = tmp_path / "child.pid"
    client = subprocess.Popen(
        [sys.executable],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        env=env_for(fork_dir),
        text=True,
    )
    client.stdin.write(f"import os, time\nopen({str(marker)!r}, 'w').write(str(os.getpid()))\ntime.sleep(60)\n")
    client.stdin.close()
    for _ in range(100):
        if marker.exists() and marker.read_text():
            break
        time.sleep(0.05)
    child = int(marker.read_text())
    client.kill()
    client.wait()
    for _ in range(100):
        if not Path(f"/proc/{child}").exists():
            break
        time.sleep(0.05)
    assert not Path(f"/proc/{child}").exists()
