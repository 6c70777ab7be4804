# SPDX-License-Identifier: GPL-3.0-or-later
"""A client-side prober, bounded in time: one HTTP request every INTERVAL s (each with a TIMEOUT s timeout)
for DURATION s at most, or until the file STOP exists (one an earlier probe left is removed at the start), then a
summary with the client-visible outage.

    probe.py URL DURATION [INTERVAL] [TIMEOUT] [STOP]

Prints one JSON line per request, [time, last line of the body or null, seconds the request took], and last
{"summary": {...}}: probes, failures, the answers seen, the outage, and the times of the first
and last probe on CLOCK_BOOTTIME (the first field of /proc/uptime: the lab's hosts share one kernel, so a
drill can check that the window covered the failure it caused). Stdlib only: it runs on the lab's client with the system python3.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import sys
import time
import urllib.request


def answer_gaps(samples):
    """(answer, next answer) times of consecutive answered requests, a request answered at its start plus
    its latency (samples without one count as answered at once); and whether the probe ended still failing."""
    answers = [t + (rest[0] if rest else 0.0) for t, body, *rest in samples if body is not None]
    ended_failing = bool(samples) and samples[-1][1] is None
    return list(itertools.pairwise(answers)), ended_failing


def outage(samples):
    """Longest client-visible gap: the longest time between two answers, so a request answered late (its SYN
    lost and sent again a second later) counts as the wait it was, as do failures; at one request every
    INTERVAL s that is INTERVAL at best. Failures before the first answer have no start and do not count;
    0.0 with fewer than two answers; None when the probe ended still failing."""
    gaps, ended_failing = answer_gaps(samples)
    if ended_failing:
        return None
    return max((b - a for a, b in gaps), default=0.0)


def summary(samples, interval, timeout):
    gap = outage(samples)
    return {
        "probes": len(samples),
        "failed": sum(1 for sample in samples if sample[1] is None),
        "answers": sorted({sample[1] for sample in samples if sample[1] is not None}),
        "outage_s": None if gap is None else round(gap, 2),
        "interval_s": interval,
        "timeout_s": timeout,
        "first_t": samples[0][0] if samples else None,
        "last_t": samples[-1][0] if samples else None,
    }


def probe(url, duration, interval, timeout, stop=None):
    samples = []
    end = time.monotonic() + duration
    while time.monotonic() < end and not (stop and os.path.exists(stop)):
        start = time.clock_gettime(time.CLOCK_BOOTTIME)
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                body = resp.read().decode().strip().splitlines()[-1]
        except Exception:  # noqa: BLE001 - any failure is a failed probe
            body = None
        samples.append([start, body, round(time.clock_gettime(time.CLOCK_BOOTTIME) - start, 4)])
        print(json.dumps(samples[-1]), flush=True)
        time.sleep(max(0.0, interval - (time.clock_gettime(time.CLOCK_BOOTTIME) - start)))
    return samples


def main(argv):
    url, duration = argv[1], float(argv[2])
    interval = float(argv[3]) if len(argv) > 3 else 0.1
    timeout = float(argv[4]) if len(argv) > 4 else 1.0
    stop = argv[5] if len(argv) > 5 else None
    if stop:  # the stop file of an earlier probe ends nothing of this one
        with contextlib.suppress(FileNotFoundError):
            os.unlink(stop)
    samples = probe(url, duration, interval, timeout, stop)
    print(json.dumps({"summary": summary(samples, interval, timeout)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
