"""CPU time from /proc: ours (workers, load generator) and the whole machine's."""

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def process_seconds(pid):
    """CPU seconds a process's threads have run so far, to the nanosecond.

    Gunicorn 27's workers serve requests in a second thread, so every task
    counts; /proc/PID/stat would too, but only in 10 ms ticks. A thread that
    has ended no longer counts (0 for a process that is gone).
    """
    total = 0
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except OSError:
            continue
    return total / 1e9


def machine_busy_seconds():
    """CPU seconds all processes have run (user, nice, system), since boot.

    Interrupts are left out: loopback networking runs there for our own
    requests, and a process's own figures do not include it either.
    """
    fields = Path("/proc/stat").read_text().split()[1:4]
    return sum(int(value) for value in fields) / _TICKS


class Sample:
    """CPU used by given processes and by the machine between two points."""

    def __init__(self, pids):
        self.pids = pids
        self.start = self._read()

    def _read(self):
        return (
            {pid: process_seconds(pid) for pid in self.pids},
            machine_busy_seconds(),
        )

    def finish(self):
        ours_before, machine_before = self.start
        ours_after, machine_after = self._read()
        used = {pid: ours_after[pid] - ours_before[pid] for pid in self.pids}
        return used, machine_after - machine_before
