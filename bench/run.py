"""Measure mfasite against the bare-Flask limit and print one table.

    python -m bench.run [--db postgres] [--users 10000] [--clients 32] ...

See the README's "Benchmark" section for what each figure means.
"""

import argparse
import json
import logging
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from cryptography.fernet import Fernet

from mfasite import create_app
from mfasite.config import Defaults

from . import common, cpu, database, load, profile, queries, report, seed
from .servers import Gunicorn, environment

HERE = Path(__file__).resolve().parent
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/mfasite_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/10"
LIMITS = (
    "SIGNIN_IP_LIMIT",
    "PASSWORD_FAILURE_LIMIT",
    "CODE_ENTRY_IP_LIMIT",
    "SECOND_FACTOR_LIMIT",
    "WEBHOOK_IP_LIMIT",
)
UNREACHED_LIMIT = "1000000 per minute"

SECURITY = "Password & Security page"
SIGNIN_PAGE = "sign-in page"
MODAL = "enrollment modal fragment"
SIGNIN_ONE = "sign-in, 1 client"
SIGNIN_MANY = "sign-in, all clients"
WEBHOOK = "SMS webhook POST"
BARE_PLAIN = "bare Flask: plain string"
BARE_PAGE = "bare Flask: template page"


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="./dev bench", description=__doc__)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG_URL),
        help="database the benchmark creates and drops (loopback only)",
    )
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=100, help="events per user")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0, help="s per scenario")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument(
        "--growth",
        default="1000,10000",
        help="user counts for the growth test, comma-separated ('' to skip); "
        "add 100000 for the full test",
    )
    parser.add_argument("--growth-duration", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument(
        "--threads", type=int, default=1, help="above 1: gthread workers"
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL),
        help="rate-limit storage; the run empties this database (loopback only)",
    )
    parser.add_argument("--profile", action="store_true", help="py-spy the workers")
    parser.add_argument("--output", default=str(HERE / "results" / "latest.json"))
    args = parser.parse_args(argv)
    args.growth = sorted({int(n) for n in args.growth.split(",") if n.strip()})
    return args


class UserPool:
    """Hands out disjoint slices of authenticator users, so no code is replayed."""

    def __init__(self, users):
        self.ids = common.totp_user_ids(users)

    def take(self, count):
        taken, self.ids = self.ids[:count], self.ids[count:]
        if not taken:
            raise SystemExit("too few seeded users for the benchmark: raise --users")
        return taken


def has_webhook_route(config):
    """The SMS webhook scenario runs once POST /sms/webhook stops answering 404."""
    app = create_app(config)
    return app.test_client().post("/sms/webhook").status_code != 404


class Bench:
    def __init__(self, args):
        self.args = args
        self.workdir = Path(tempfile.mkdtemp(prefix="mfasite-bench-"))
        self.settings = {
            "SECRET_KEY": secrets.token_hex(32),
            "MFA_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "MFA_HMAC_KEY": secrets.token_hex(32),
            "TWILIO_AUTH_TOKEN": common.TWILIO_AUTH_TOKEN,
            # Shared counters, as in production, so the limits cost what they do.
            "RATELIMIT_STORAGE_URI": args.redis_url,
            # All the load comes from one address and a few hundred accounts:
            # the limits still count every request but never refuse one.
            **{name: UNREACHED_LIMIT for name in LIMITS},
        }
        self.scenarios = {}
        self.growth = {}
        self.queries = {}
        self.seconds_seeding = {}
        self.errors = []
        self.profiles = {}
        self.webhook_found = has_webhook_route(
            {**self.config("sqlite://"), "PUBLIC_BASE_URL": "http://127.0.0.1"}
        )
        # The database of the level being measured; None while the bare app runs.
        self.url = None

    def config(self, url, server=None):
        config = {**self.settings, "SQLALCHEMY_DATABASE_URI": url}
        if server is not None:
            config["PUBLIC_BASE_URL"] = server.url
        return config

    def gunicorn(self, name, app_spec, settings, probe):
        log = self.workdir / f"{name}.log"
        server = Gunicorn(
            app_spec, self.args.workers, self.args.threads, environment(settings), log
        )
        return server.start(probe)

    def load(self, server, spec, duration=None):
        """Run one scenario in a load-generator process; sample CPU around it."""
        spec = {
            "base_url": server.url,
            "clients": self.args.clients,
            "duration": duration or self.args.duration,
            "warmup": self.args.warmup,
            **spec,
        }
        print(f"  {spec['name']}: {spec['clients']} clients, {spec['duration']:g} s")
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.load"],
            cwd=HERE.parent,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        process.stdin.write(json.dumps(spec))
        process.stdin.close()

        sample = recording = used = None
        for line in process.stderr:
            if line.strip() == load.MEASURE_START:
                db_pids = database.backend_pids(self.args.db, self.url)
                sample = cpu.Sample([*server.worker_pids(), process.pid, *db_pids])
                recording = self._start_profile(server, spec)
            elif line.strip() == load.MEASURE_END and sample is not None:
                used = sample.finish()
            else:
                sys.stderr.write(line)
        result = json.loads(process.stdout.read() or "{}")
        if process.wait() != 0 or not result or used is None:
            raise RuntimeError(f"load generator failed on {spec['name']}")

        result["cpu"] = report.cpu_shares(*used, process.pid, db_pids, spec["duration"])
        self._finish_profile(recording, spec["name"], result)
        if result["errors"]:
            self.errors.append(f"{spec['name']}: {result['error_kinds']}")
        return result

    def _start_profile(self, server, spec):
        if not self.args.profile or server is self.bare:
            return None
        output = self.workdir / f"profile-{len(self.profiles)}.txt"
        return output, profile.start(server.process.pid, spec["duration"], output)

    def _finish_profile(self, recording, name, result):
        if recording is None:
            return
        output, process = recording
        process.wait()
        if output.exists():
            kept = (
                Path(self.args.output).parent / "profiles" / f"{report.slug(name)}.txt"
            )
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(output, kept)
            result["profile"] = {"file": str(kept), "top": profile.summary(output)}
            self.profiles[name] = result["profile"]

    def run(self):
        args = self.args
        started = time.perf_counter()
        report.machine_note()

        print("bare Flask app")
        self.bare = self.gunicorn("bare", "bench.bare_app:app", self.settings, "/plain")
        try:
            self.scenarios[BARE_PLAIN] = self.load(
                self.bare, {"name": BARE_PLAIN, "kind": "get", "path": "/plain"}
            )
            self.scenarios[BARE_PAGE] = self.load(
                self.bare, {"name": BARE_PAGE, "kind": "get", "path": "/page"}
            )
        finally:
            self.bare.stop()

        # The main level first, then the other sizes of the growth test.
        self.level(args.users, main=True)
        for users in args.growth:
            if users != args.users:
                self.level(users, main=False)

        self.seconds = round(time.perf_counter() - started, 1)

    def level(self, users, main):
        """Seed a database with `users` accounts, serve it, and measure it."""
        args = self.args
        print(f"{users:,} users, {args.events} events each ({args.db})")
        url = self.url = database.fresh(args.db, args.pg_url, self.workdir, users)
        try:
            self.seconds_seeding[users] = round(
                seed.seed(self.config(url), users, args.events), 1
            )
            print(f"  seeded in {self.seconds_seeding[users]} s")
            pool = UserPool(users)
            query_users = pool.take(2)
            if main:
                with self.site(url, users) as site:
                    self.main_scenarios(site, pool)
                    self.memory = site.memory()
            # A fresh server, so every size of the growth test starts alike.
            with self.site(url, users) as site:
                if users in args.growth:
                    self.growth[users] = self.growth_scenarios(site, pool)
                self.queries[users] = queries.count_routes(
                    self.config(url, site), query_users, self.webhook_maker(site)
                )
        finally:
            database.drop(args.db, url)

    @contextmanager
    def site(self, url, users):
        site = self.gunicorn(f"site-{users}", "wsgi:app", self.config(url), "/signin")
        try:
            yield site
        finally:
            site.stop()

    def webhook_maker(self, site):
        if not self.webhook_found:
            return None
        spec = self.webhook_spec(site)
        counter = iter(range(10**9))
        return lambda: load.webhook_request(spec, next(counter))

    def webhook_spec(self, site):
        return {
            "name": WEBHOOK,
            "kind": "webhook",
            "path": "/sms/webhook",
            "public_url": site.url,
            "auth_token": common.TWILIO_AUTH_TOKEN,
        }

    def main_scenarios(self, site, pool):
        clients = self.args.clients
        self.scenarios[SIGNIN_PAGE] = self.load(
            site,
            {
                "name": SIGNIN_PAGE,
                "kind": "get",
                "path": "/signin",
                "marker": "Sign in",
            },
        )
        self.scenarios[SECURITY] = self.load(site, self.security_spec(pool))
        self.scenarios[MODAL] = self.load(
            site,
            {
                "name": MODAL,
                "kind": "get",
                "path": "/account/security/authenticator",
                "headers": queries.MODAL_HEADERS,
                "marker": 'class="secret"',
                "signed_in": True,
                "users": pool.take(clients),
            },
        )

        self.scenarios[SIGNIN_ONE] = self.load(site, self.signin_one_spec(site, pool))
        self.scenarios[SIGNIN_MANY] = self.load(site, self.signin_spec(pool))

        if self.webhook_found:
            self.scenarios[WEBHOOK] = self.load(site, self.webhook_spec(site))
        else:
            print("  SMS webhook: skipped, POST /sms/webhook answers 404")
            self.scenarios[WEBHOOK] = {"skipped": "POST /sms/webhook answers 404"}

    def security_spec(self, pool):
        return {
            "name": SECURITY,
            "kind": "get",
            "path": "/account/security",
            "marker": 'id="methods-heading"',
            "signed_in": True,
            "users": pool.take(self.args.clients),
        }

    def signin_one_spec(self, site, pool):
        return {
            "name": SIGNIN_ONE,
            "kind": "signin",
            "clients": 1,
            "users": pool.take(100),
            # With one client, the workers' CPU during a POST is that POST's.
            "worker_pids": site.worker_pids(),
            # Timed between sign-ins, so both see the same machine.
            "argon2": {
                "time_cost": Defaults.ARGON2_TIME_COST,
                "memory_cost": Defaults.ARGON2_MEMORY_COST,
                "parallelism": Defaults.ARGON2_PARALLELISM,
            },
        }

    def signin_spec(self, pool):
        # A user signs in at most once per 30-second TOTP step; leave room to spare.
        size = min(600, max(self.args.clients, len(pool.ids) // 2))
        return {"name": SIGNIN_MANY, "kind": "signin", "users": pool.take(size)}

    def growth_scenarios(self, site, pool):
        duration = self.args.growth_duration
        # The sign-in at one client: no queue, so its time is its cost, and the
        # part beyond the hash (which does not depend on the data) shows.
        return {
            SECURITY: self.load(site, self.security_spec(pool), duration),
            SIGNIN_ONE: self.load(site, self.signin_one_spec(site, pool), duration),
        }


def main(argv=None):
    args = parse_args(argv if argv is not None else sys.argv[1:])
    # The site logs each security event at INFO; here only problems should show.
    logging.basicConfig(level=logging.WARNING)
    if args.db == "postgres":
        database.check_loopback(args.pg_url)
    database.check_loopback(args.redis_url)
    bench = Bench(args)
    database.empty_redis(args.redis_url)
    try:
        bench.run()
    finally:
        shutil.rmtree(bench.workdir, ignore_errors=True)
        database.empty_redis(args.redis_url)
    results = report.build(bench)
    report.write(results, args.output)
    print(report.table(results))
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
