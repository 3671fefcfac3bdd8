"""Gunicorn, started the same way for the site and the bare app, on free ports."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid):
    """Process ids whose parent is pid (gunicorn's workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may contain spaces; the parent id follows its ')'.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Gunicorn:
    """One gunicorn master and its workers, access log off (gunicorn's default)."""

    def __init__(self, app_spec, workers, threads, env, log_path):
        self.app_spec = app_spec
        self.workers = workers
        self.threads = threads
        self.env = env
        self.log_path = log_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None

    def start(self, probe_path="/"):
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(self.workers),
            # Said outright: gunicorn would otherwise read the production
            # gunicorn.conf.py in the project folder, which asks for gthread.
            "--worker-class",
            "sync" if self.threads == 1 else "gthread",
            "--threads",
            str(self.threads),
            "--bind",
            f"127.0.0.1:{self.port}",
            # Gunicorn 27 opens a control socket in ~/.gunicorn unless told not to.
            "--no-control-socket",
            "--graceful-timeout",
            "5",
            self.app_spec,
        ]
        env = {**self.env, "PUBLIC_BASE_URL": self.url}
        self.env = env
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_ready(probe_path)
        return self

    def _wait_ready(self, path, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log_path}")
            if len(self.worker_pids()) == self.workers and self._answers(path):
                return
            time.sleep(0.2)
        raise RuntimeError(
            f"gunicorn did not answer in {timeout}s; see {self.log_path}"
        )

    def _answers(self, path):
        try:
            with urllib.request.urlopen(self.url + path, timeout=5):
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False

    def worker_pids(self):
        return _children(self.process.pid)

    def memory(self):
        """Resident memory of the master and each worker, in MiB."""
        return {
            "master_mib": round(rss_kib(self.process.pid) / 1024, 1),
            "workers_mib": [
                round(rss_kib(pid) / 1024, 1) for pid in self.worker_pids()
            ],
        }

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def environment(settings):
    """The server's environment: ours, with the site's settings as strings."""
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.update({key: str(value) for key, value in settings.items()})
    return env
