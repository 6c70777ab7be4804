# SPDX-License-Identifier: GPL-3.0-or-later
"""The outage arithmetic of molecule/shared/probe.py (the figure the failover drill reports)."""

from __future__ import annotations

import json

import probe  # molecule/shared/probe.py, on the path through pytest.ini (pythonpath)
import pytest


@pytest.mark.parametrize(
    ("samples", "expected"),
    [
        ([], 0.0),
        ([[0.0, "a"]], 0.0),
        # answers every 0.1 s: the cadence itself
        ([[0.0, "a"], [0.1, "b"], [0.2, "a"]], 0.1),
        # last answer at 0.1, failures, next answer at 3.0
        ([[0.0, "a"], [0.1, "b"], [1.1, None], [2.1, None], [3.0, "b"]], 2.9),
        # two outages: the longest counts
        ([[0.0, "a"], [1.0, None], [2.0, "a"], [3.0, None], [4.0, None], [6.5, "b"]], 4.5),
        # failures before the first answer have no start: not an outage we can measure
        ([[0.0, None], [1.0, "a"], [1.1, "b"]], 0.1),
        # still failing at the end: never recovered
        ([[0.0, "a"], [1.0, None]], None),
        # no failure, but a request answered 1.02 s after it started (its SYN sent again): the client waited
        ([[0.0, "a", 0.01], [0.05, "b", 1.02], [1.1, "a", 0.01]], 1.06),
    ],
)
def test_outage(samples, expected):
    gap = probe.outage(samples)
    if expected is None:
        assert gap is None
    else:
        assert gap == pytest.approx(expected)


def test_summary_counts_failures_and_answers():
    samples = [[0.0, "accp"], [0.1, None], [0.6, "benet"], [0.7, "accp"]]
    assert probe.summary(samples, 0.1, 1.0) == {
        "probes": 4,
        "failed": 1,
        "answers": ["accp", "benet"],
        "outage_s": 0.6,
        "interval_s": 0.1,
        "timeout_s": 1.0,
        "first_t": 0.0,
        "last_t": 0.7,
    }


def test_probe_stops_when_the_stop_file_exists(tmp_path):
    stop = tmp_path / "stop"
    stop.touch()
    assert probe.probe("http://127.0.0.1:9/", 60, 0.1, 0.5, str(stop)) == []


def test_samples_with_latency_count_from_their_answers():
    """probe() writes [time, body, latency]: a request is answered at its time plus its latency."""
    samples = [[0.0, "accp", 0.01], [0.1, None, 1.0], [1.1, None, 1.0], [2.0, "benet", 0.02]]
    assert probe.outage(samples) == pytest.approx(2.01)
    assert probe.summary(samples, 0.1, 1.0)["failed"] == 2
    assert probe.summary(samples, 0.1, 1.0)["answers"] == ["accp", "benet"]


def test_probe_records_each_request_latency():
    """Against a closed port: every probe fails at once, and its line holds how long the request took."""
    samples = probe.probe("http://127.0.0.1:9/", 0.25, 0.1, 0.5)
    assert samples
    for t, body, latency in samples:
        assert body is None
        assert 0 <= latency < 0.5
        assert t > 0


def test_main_removes_the_stop_file_an_earlier_probe_left(tmp_path, capsys):
    """A stop file left from the last drill is gone when main() starts: this probe runs its course."""
    stop = tmp_path / "stop"
    stop.touch()
    assert probe.main(["probe.py", "http://127.0.0.1:9/", "0.25", "0.1", "0.5", str(stop)]) == 0
    assert not stop.exists()
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])["summary"]
    assert summary["probes"] > 0
