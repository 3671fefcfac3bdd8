"""Sampling the site's workers with py-spy while a scenario runs (--profile)."""

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path


def py_spy():
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise SystemExit(
            "--profile needs py-spy: pip install -r requirements-bench.txt"
        )
    return found


def start(master_pid, seconds, output):
    """Record every worker of a gunicorn master as collapsed stacks."""
    command = [
        py_spy(),
        "record",
        "--pid",
        str(master_pid),
        "--subprocesses",
        "--duration",
        str(max(1, round(seconds))),
        "--rate",
        "250",
        "--format",
        "raw",
        "--output",
        str(output),
        "--nonblocking",
    ]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _frame_name(frame):
    # "function (path/to/file.py:line)": keep the function and the file's tail.
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    return f"{name} ({'/'.join(Path(path).parts[-2:])})"


def summary(path, top=8):
    """The functions most often on top of the stack, as (share, name) pairs."""
    leaves = Counter()
    total = 0
    for line in Path(path).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        leaves[_frame_name(stack.split(";")[-1])] += int(count)
        total += int(count)
    return [(count / total, name) for name, count in leaves.most_common(top)]
