# SPDX-License-Identifier: GPL-3.0-or-later
"""tools/failed_tasks.py: which failures of a molecule log it reports, and how."""

from __future__ import annotations

from tools import failed_tasks  # tools/failed_tasks.py, through pytest.ini's pythonpath (.)

LOG = """\
10:00:01 TASK [Run the site with a bad input] *****
10:00:02 fatal: [localhost]: FAILED! => {"changed": false, "msg": "expected"}
10:00:02 ...ignoring
10:00:03 TASK [Bad input] *****
10:00:04 failed: [localhost] (item=port: 0) =>
10:00:04     msg: port 0 is outside 1..65535
10:00:04 failed: [localhost] (item=weight: 70000) =>
10:00:04     msg: weight 70000 is outside 0..65535
10:00:05 ...ignoring
10:00:06 TASK [Show where it stopped] *****
10:00:06 ok: [localhost] => {
10:00:06     "msg": "fatal: [web1]: FAILED! => quoted in a message, not a failure"
10:00:06 }
10:00:07 TASK [No request failed] *****
10:00:08 fatal: [localhost]: FAILED! => {"stdout": "TASK [inner] ...ignoring"}
10:00:08     assertion: lvs_probe_summary.failed == 0
10:00:08     evaluated_to: false
10:00:08     msg: probes {"failed": 3}
10:00:08
10:00:08 PLAY RECAP *****
"""


def report(tmp_path, capsys, text: str, *args: str) -> list[str]:
    log = tmp_path / "molecule.log"
    log.write_text(text)
    assert failed_tasks.main([str(log), *args]) == 0
    return capsys.readouterr().out.splitlines()


def test_reports_the_failure_that_stopped_the_run_with_its_message(tmp_path, capsys):
    out = report(tmp_path, capsys, LOG)
    assert out[0].startswith("failed tasks: the last 1 of 1 in ")
    assert out[1:] == [
        "task: No request failed",
        'fatal: [localhost]: FAILED! => {"stdout": "TASK [inner] ...ignoring"}',
        "    assertion: lvs_probe_summary.failed == 0",
        "    evaluated_to: false",
        '    msg: probes {"failed": 3}',
    ]


def test_ignored_failures_and_quoted_ones_are_left_out(tmp_path, capsys):
    out = report(tmp_path, capsys, LOG, "--last", "5")
    assert [line for line in out if line.startswith("task: ")] == ["task: No request failed"]


def test_a_log_without_failed_tasks_says_so_and_shows_its_end(tmp_path, capsys):
    text = "10:00:01 TASK [Fine] ***\n10:00:02 ok: [dr1]\n" + "".join(f"10:00:03 traceback {i}\n" for i in range(12))
    out = report(tmp_path, capsys, text)
    assert out[0] == f"failed tasks: none in {tmp_path / 'molecule.log'}; it ends with:"
    assert out[1:] == [f"10:00:03 traceback {i}" for i in range(12 - failed_tasks.TAIL_LINES, 12)]


def test_long_lines_are_cut_and_messages_kept_short(tmp_path, capsys):
    long = "x" * 2000
    text = "TASK [Long] ***\nfatal: [dr1]: FAILED! => " + long + "\n" + "".join(f"    line {i}\n" for i in range(20))
    out = report(tmp_path, capsys, text)
    assert len(out[2]) == failed_tasks.WIDTH and out[2].endswith("...")
    assert len(out) == 1 + 2 + failed_tasks.MESSAGE_LINES


def test_an_unreadable_log_is_an_error(tmp_path, capsys):
    assert failed_tasks.main([str(tmp_path / "missing.log")]) == 1
    assert "cannot read" in capsys.readouterr().out
