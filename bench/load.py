"""The load generator: concurrent clients doing whole flows, in a process of its own.

    python -m bench.load < spec.json > result.json

Each client is an aiohttp session with its own cookie jar, so it keeps the
session cookie and reads CSRF tokens from the pages as a browser does.
Requests made during the warm-up count as errors if they fail, but their
latencies are not kept.
"""

import asyncio
import json
import re
import statistics
import sys
import time
import uuid
from collections import Counter, deque

import aiohttp
import argon2
import pyotp

from . import common, cpu

_CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')
TOTP_STEP = 30
MEASURE_START = "measure-start"
MEASURE_END = "measure-end"


class Recorder:
    """Latencies per measured step, and every error with its reason."""

    def __init__(self, worker_pids=()):
        self.measure_from = self.measure_until = float("inf")
        self.samples = {}
        self.errors = Counter()
        self.worker_pids = worker_pids

    def add_now(self, name, value):
        """Keep a value (a CPU time, say) measured just now, if inside the window."""
        if self.measure_from <= time.perf_counter() <= self.measure_until:
            self.samples.setdefault(name, []).append(value)

    def worker_cpu(self):
        """CPU seconds the site's workers have used (given only with one client)."""
        return sum(cpu.process_seconds(pid) for pid in self.worker_pids)

    def begin(self, warmup, duration):
        self.measure_from = time.perf_counter() + warmup
        self.measure_until = self.measure_from + duration

    def running(self):
        return time.perf_counter() < self.measure_until

    def add(self, name, started, seconds):
        """Keep what finished inside the window: throughput counts completions."""
        if self.measure_from <= started + seconds <= self.measure_until:
            self.samples.setdefault(name, []).append(seconds)

    def error(self, name, reason):
        self.errors[f"{name}: {reason}"] += 1


class Failed(Exception):
    """A step got an answer other than the one a working site gives."""


async def fetch(session, recorder, name, method, path, expect, marker=None, **kw):
    """One request; return (response, body, seconds) or raise Failed."""
    started = time.perf_counter()
    try:
        async with session.request(method, path, allow_redirects=False, **kw) as resp:
            body = await resp.text()
    except (aiohttp.ClientError, TimeoutError) as error:
        recorder.error(name, type(error).__name__)
        raise Failed from error
    seconds = time.perf_counter() - started

    if resp.status != expect:
        recorder.error(name, f"HTTP {resp.status}")
        raise Failed
    if (
        marker is not None
        and marker not in body
        and marker not in resp.headers.get("Location", "")
    ):
        recorder.error(name, f"missing {marker!r}")
        raise Failed
    recorder.add(name, started, seconds)
    return resp, body, seconds


def csrf_token(body):
    match = _CSRF.search(body)
    return match.group(1) if match else ""


class TotpUsers:
    """Seeded authenticator users, each used at most once per 30-second step.

    The site refuses a code whose step is not newer than the last one
    accepted for that device, so a user comes back only in a later step.
    """

    def __init__(self, user_ids):
        self.free = deque(user_ids)
        self.last_step = {}
        self.waits = 0

    async def take(self):
        while True:
            step = int(time.time() // TOTP_STEP)
            for _ in range(len(self.free)):
                user_id = self.free.popleft()
                if self.last_step.get(user_id, -1) < step:
                    return user_id
                self.free.append(user_id)
            self.waits += 1
            await asyncio.sleep(0.1)

    def code(self, user_id):
        now = time.time()
        self.last_step[user_id] = int(now // TOTP_STEP)
        return pyotp.TOTP(common.totp_secret(user_id)).at(now)

    def give_back(self, user_id):
        self.free.append(user_id)


async def sign_in(session, recorder, users, user_id):
    """Password then authenticator code, as a person does.

    Returns the two POSTs' time and, when the spec gave the workers, the CPU
    the workers spent on them.
    """
    try:
        _, body, _ = await fetch(
            session, recorder, "GET /signin", "GET", "/signin", 200
        )
        form = {
            "csrf_token": csrf_token(body),
            "email": common.email(user_id),
            "password": common.PASSWORD,
        }
        before = recorder.worker_cpu()
        _, _, password_seconds = await fetch(
            session,
            recorder,
            "POST /signin",
            "POST",
            "/signin",
            303,
            marker="/signin/challenge",
            data=form,
        )
        password_cpu = recorder.worker_cpu() - before
        path = "/signin/challenge"
        _, body, _ = await fetch(session, recorder, f"GET {path}", "GET", path, 200)
        form = {"csrf_token": csrf_token(body), "code": users.code(user_id)}
        before = recorder.worker_cpu()
        _, _, code_seconds = await fetch(
            session, recorder, f"POST {path}", "POST", path, 303, data=form
        )
        code_cpu = recorder.worker_cpu() - before
        if recorder.worker_pids:
            recorder.add_now("POST /signin, worker CPU", password_cpu)
            recorder.add_now(f"POST {path}, worker CPU", code_cpu)
    finally:
        users.give_back(user_id)
    return password_seconds + code_seconds, password_cpu + code_cpu


def _time_hash(recorder, parameters):
    """One Argon2 verify here, between two sign-ins, while the server is idle."""
    key = tuple(sorted(parameters.items()))
    if key not in _stored_hashes:
        hasher = argon2.PasswordHasher(**parameters)
        _stored_hashes[key] = hasher, hasher.hash(common.PASSWORD)
    hasher, stored = _stored_hashes[key]

    started, cpu_started = time.perf_counter(), time.process_time()
    hasher.verify(stored, common.PASSWORD)
    cpu = time.process_time() - cpu_started
    recorder.add("Argon2 verify alone", started, time.perf_counter() - started)
    recorder.add_now("Argon2 verify alone, CPU", cpu)


_stored_hashes = {}


def _client_session(base_url):
    return aiohttp.ClientSession(
        base_url=base_url,
        # The site is on an IP address; a browser would keep its cookies too.
        cookie_jar=aiohttp.CookieJar(unsafe=True),
        # Gunicorn's sync workers close every connection after one response.
        connector=aiohttp.TCPConnector(force_close=True, limit=1),
        timeout=aiohttp.ClientTimeout(total=60),
    )


async def get_loop(spec, recorder, users, session, client):
    """GET one path over and over."""
    while recorder.running():
        try:
            await fetch(
                session,
                recorder,
                spec["name"],
                "GET",
                spec["path"],
                200,
                marker=spec.get("marker"),
                headers=spec.get("headers", {}),
            )
        except Failed:
            await asyncio.sleep(0.05)


async def signin_loop(spec, recorder, users, session, client):
    """Whole sign-ins, each in a fresh cookie jar as a new browser would be."""
    while recorder.running():
        user_id = await users.take()
        started = time.perf_counter()
        session.cookie_jar.clear()
        try:
            posts, posts_cpu = await sign_in(session, recorder, users, user_id)
        except Failed:
            await asyncio.sleep(0.05)
            continue
        finished = time.perf_counter()
        recorder.add("sign-in", started, finished - started)
        # Filed as ending with the flow, so it falls in the same window.
        recorder.add("password+code POSTs", finished - posts, posts)
        if recorder.worker_pids:
            recorder.add_now("password+code POSTs, worker CPU", posts_cpu)
        if "argon2" in spec:
            # Blocks the event loop on purpose: with one client, nothing else runs.
            _time_hash(recorder, spec["argon2"])


def _webhook_form(number):
    return {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": "AC" + "0" * 32,
        "From": f"+1555{number % 10_000_000:07d}",
        "To": "+15550000000",
        "Body": "Hello",
        "NumMedia": "0",
    }


def webhook_request(spec, number):
    """A form and its X-Twilio-Signature, computed by Twilio's own library."""
    from twilio.request_validator import RequestValidator

    form = _webhook_form(number)
    url = spec["public_url"] + spec["path"]
    signature = RequestValidator(spec["auth_token"]).compute_signature(url, form)
    return form, {"X-Twilio-Signature": signature}


async def webhook_loop(spec, recorder, users, session, client):
    """Inbound SMS webhooks, each a new message with a valid signature."""
    number = client * 1_000_000
    while recorder.running():
        number += 1
        form, headers = webhook_request(spec, number)
        try:
            await fetch(
                session,
                recorder,
                spec["name"],
                "POST",
                spec["path"],
                spec.get("expect", 200),
                data=form,
                headers=headers,
            )
        except Failed:
            await asyncio.sleep(0.05)


LOOPS = {"get": get_loop, "signin": signin_loop, "webhook": webhook_loop}


def summarize(samples, duration):
    ordered = sorted(samples)
    if len(ordered) >= 2:
        cuts = statistics.quantiles(ordered, n=100, method="inclusive")
        p50, p99 = cuts[49], cuts[98]
    else:
        p50 = p99 = ordered[0] if ordered else 0.0
    return {
        "count": len(ordered),
        "per_s": round(len(ordered) / duration, 2),
        "p50_ms": round(p50 * 1000, 2),
        "p99_ms": round(p99 * 1000, 2),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 2) if ordered else 0.0,
        "max_ms": round(ordered[-1] * 1000, 2) if ordered else 0.0,
    }


async def _signed_in(session, recorder, users):
    """Sign a client in before the clock starts; None if that failed."""
    try:
        await sign_in(session, recorder, users, await users.take())
    except Failed:
        await session.close()
        return None
    return session


async def _announce(recorder):
    """Tell the parent when the measured window opens and closes, to sample CPU."""
    await asyncio.sleep(max(0.0, recorder.measure_from - time.perf_counter()))
    print(MEASURE_START, file=sys.stderr, flush=True)
    await asyncio.sleep(max(0.0, recorder.measure_until - time.perf_counter()))
    print(MEASURE_END, file=sys.stderr, flush=True)


async def run(spec):
    recorder = Recorder(spec.get("worker_pids", ()))
    users = TotpUsers(spec.get("users", []))
    loop = LOOPS[spec["kind"]]
    sessions = [_client_session(spec["base_url"]) for _ in range(spec["clients"])]
    if spec.get("signed_in"):
        sessions = await asyncio.gather(
            *(_signed_in(session, recorder, users) for session in sessions)
        )

    recorder.begin(spec.get("warmup", 1.0), spec["duration"])
    try:
        await asyncio.gather(
            _announce(recorder),
            *(
                loop(spec, recorder, users, session, client)
                for client, session in enumerate(sessions)
                if session is not None
            ),
        )
    finally:
        for session in sessions:
            if session is not None:
                await session.close()
    return {
        "name": spec["name"],
        "kind": spec["kind"],
        "clients": spec["clients"],
        "duration_s": spec["duration"],
        "errors": sum(recorder.errors.values()),
        "error_kinds": dict(recorder.errors),
        "pool_waits": users.waits,
        "metrics": {
            name: summarize(samples, spec["duration"])
            for name, samples in recorder.samples.items()
        },
    }


def main():
    spec = json.load(sys.stdin)
    import uvloop

    json.dump(uvloop.run(run(spec)), sys.stdout)


if __name__ == "__main__":
    main()
