"""The results: one JSON file, one table, and each target printed as met or not."""

import datetime
import json
import os
import platform
import re
import subprocess
from pathlib import Path

SECURITY = "Password & Security page"
SIGNIN_ONE = "sign-in, 1 client"
# Flat means the largest level is at most this much slower than the smallest.
GROWTH_TOLERANCE = 1.5
SECURITY_RATIO = 0.6
SIGNIN_PAGE_RATIO = 0.8
SIGNIN_OVERHEAD_MS = 5.0
PAGE_QUERIES = 4
# Above this share of the CPU used by other programs, the figures are suspect.
BUSY_PCT = 15

# Which measured step is the headline figure of each kind of scenario.
_HEADLINE = {"signin": "sign-in"}


def slug(name):
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def machine_note():
    """Say how busy the machine already is: other work skews every figure."""
    load1, _, _ = os.getloadavg()
    cores = len(os.sched_getaffinity(0))
    print(f"load average {load1:.2f} on {cores} cores before the run")
    if load1 > 0.5 * cores:
        print("warning: the machine is busy; figures will be lower and noisier")


def cpu_shares(used, machine, generator_pid, db_pids, window):
    """CPU seconds in the measured window: workers, database, load generator, rest."""
    generator = used.pop(generator_pid)
    database = sum(used.pop(pid) for pid in db_pids)
    workers = sum(used.values())
    return {
        "window_s": window,
        "workers_s": round(workers, 2),
        "database_s": round(database, 2),
        "generator_s": round(generator, 2),
        "other_s": round(max(0.0, machine - workers - database - generator), 2),
    }


def _headline(name, result):
    metrics = result["metrics"]
    key = next(
        (k for k in (_HEADLINE.get(result.get("kind")), name) if k in metrics), None
    )
    if key is None:
        key = next(iter(metrics), None)
    return metrics.get(key, {"count": 0, "per_s": 0.0, "p50_ms": 0.0, "p99_ms": 0.0})


def _row(name, result, bare):
    if "skipped" in result:
        return {"skipped": result["skipped"]}
    headline = _headline(name, result)
    cores = len(os.sched_getaffinity(0))
    shares = result["cpu"]
    count = headline["count"]
    return {
        "per_s": headline["per_s"],
        "p50_ms": headline["p50_ms"],
        "p99_ms": headline["p99_ms"],
        "ratio_to_bare_page": _ratio(headline["per_s"], bare["per_s"]),
        "worker_cpu_ms": _per(shares["workers_s"], count),
        # The same comparison by CPU per request: steadier on a busy machine.
        "cpu_ratio_to_bare_page": _ratio(
            bare["cpu_ms"], _per(shares["workers_s"], count)
        ),
        "database_cpu_ms": _per(shares["database_s"], count),
        "other_cpu_pct": round(100 * shares["other_s"] / (shares["window_s"] * cores)),
        "errors": result["errors"],
    }


def _ratio(ours, limit):
    return round(ours / limit, 3) if ours and limit else None


def _per(seconds, count):
    """Milliseconds per request (or per flow)."""
    return round(seconds * 1000 / count, 2) if count else None


def _git_commit():
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def _service_ms(row):
    """Server CPU per request, workers and database: what a missing index raises."""
    return round((row["worker_cpu_ms"] or 0) + (row["database_cpu_ms"] or 0), 2)


def _signin(result):
    one = result.get("metrics", {})
    posts = one.get("password+code POSTs", {}).get("p50_ms")
    argon2 = one.get("Argon2 verify alone", {}).get("p50_ms")
    if posts is None or argon2 is None:
        return {}
    posts_cpu = one.get("password+code POSTs, worker CPU", {}).get("p50_ms")
    argon2_cpu = one.get("Argon2 verify alone, CPU", {}).get("p50_ms")
    return {
        "password_and_code_posts_p50_ms": posts,
        "argon2_verify_p50_ms": argon2,
        "overhead_p50_ms": round(posts - argon2, 2),
        # The same by CPU time rather than the clock: steadier on a busy machine.
        "posts_worker_cpu_p50_ms": posts_cpu,
        "argon2_verify_cpu_p50_ms": argon2_cpu,
        "cpu_overhead_p50_ms": _difference(posts_cpu, argon2_cpu),
        # The code POST has no hash in it: its cost is all ours.
        "code_post_cpu_p50_ms": one.get("POST /signin/challenge, worker CPU", {}).get(
            "p50_ms"
        ),
    }


def _difference(total, part):
    return round(total - part, 2) if total is not None and part is not None else None


def _growth(bench, bare):
    table = {}
    for users, scenarios in sorted(bench.growth.items()):
        table[users] = {
            name: _row(name, result, bare) for name, result in scenarios.items()
        }
        table[users]["security_service_ms"] = _service_ms(table[users][SECURITY])
        table[users]["signin"] = _signin(scenarios[SIGNIN_ONE])
        table[users]["max_page_queries"] = _max_page_queries(bench.queries[users])
    return table


def _max_page_queries(routes):
    return max(
        (route["queries"] for name, route in routes.items() if name.startswith("GET")),
        default=0,
    )


def build(bench):
    bare_name = "bare Flask: template page"
    bare_result = bench.scenarios[bare_name]
    bare = {
        "per_s": _headline(bare_name, bare_result)["per_s"],
        "cpu_ms": _per(
            bare_result["cpu"]["workers_s"], _headline(bare_name, bare_result)["count"]
        ),
    }
    args = bench.args
    results = {
        "meta": {
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "commit": _git_commit(),
            "db": args.db,
            "users": args.users,
            "events_per_user": args.events,
            "clients": args.clients,
            "duration_s": args.duration,
            "workers": args.workers,
            "threads": args.threads,
            "cores": len(os.sched_getaffinity(0)),
            "python": platform.python_version(),
            "seconds": bench.seconds,
            "seeding_s": bench.seconds_seeding,
        },
        "scenarios": {
            name: _row(name, result, bare) for name, result in bench.scenarios.items()
        },
        "signin": _signin(bench.scenarios.get(SIGNIN_ONE, {})),
        "queries": bench.queries,
        "growth": _growth(bench, bare),
        "memory": bench.memory,
        "errors": bench.errors,
        "profiles": bench.profiles,
        "raw": bench.scenarios,
    }
    results["targets"] = targets(results)
    return results


def _target(name, value, met):
    return {"name": name, "value": value, "met": bool(met)}


def _ratio_target(results, scenario, limit):
    ratio = results["scenarios"][scenario]["ratio_to_bare_page"]
    return _target(
        f"{scenario} throughput >= {limit} x bare template page",
        ratio,
        ratio is not None and ratio >= limit,
    )


def _growth_targets(results):
    growth = results["growth"]
    if len(growth) < 2:
        return []
    smallest, largest = growth[min(growth)], growth[max(growth)]
    span = f"from {min(growth):,} to {max(growth):,} users (<= {GROWTH_TOLERANCE}x)"
    found = []
    for name, read in (
        ("Password & Security page server time per request", _security_cost),
        ("sign-in code POST worker CPU", _signin_cost),
    ):
        change = _ratio(read(largest), read(smallest))
        found.append(
            _target(
                f"{name} flat {span}",
                change,
                change is not None and change <= GROWTH_TOLERANCE,
            )
        )
    return found


def _security_cost(level):
    return level["security_service_ms"]


def _signin_cost(level):
    return level["signin"].get("code_post_cpu_p50_ms")


def targets(results):
    signin = results["signin"]
    queries = results["queries"]
    main = queries[results["meta"]["users"]]
    counts_by_level = [
        {route: row["queries"] for route, row in routes.items()}
        for routes in queries.values()
    ]
    hook_adds = max(
        row["hook_adds"] for routes in queries.values() for row in routes.values()
    )
    return [
        _ratio_target(results, SECURITY, SECURITY_RATIO),
        _ratio_target(results, "sign-in page", SIGNIN_PAGE_RATIO),
        _target(
            f"sign-in overhead beyond Argon2 <= {SIGNIN_OVERHEAD_MS} ms at p50",
            signin.get("overhead_p50_ms"),
            signin and signin["overhead_p50_ms"] <= SIGNIN_OVERHEAD_MS,
        ),
        _target(
            "MFA hook adds no query for an enrolled user", hook_adds, hook_adds == 0
        ),
        _target(
            f"no page issues more than {PAGE_QUERIES} queries",
            _max_page_queries(main),
            _max_page_queries(main) <= PAGE_QUERIES,
        ),
        _target(
            "no route's query count grows with users or events",
            "same at every level" if _all_equal(counts_by_level) else "differs",
            _all_equal(counts_by_level),
        ),
        *_growth_targets(results),
        _target(
            f"zero errors at {results['meta']['clients']} clients",
            len(results["errors"]),
            not results["errors"],
        ),
    ]


def _all_equal(items):
    return all(item == items[0] for item in items)


def write(results, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")


def _fmt(value, digits=1):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def table(results):
    meta = results["meta"]
    lines = [
        "",
        f"mfasite benchmark: {meta['db']}, {meta['users']:,} users x "
        f"{meta['events_per_user']} events, {meta['clients']} clients, "
        f"{meta['duration_s']:g} s per scenario, {_workers(meta)} "
        f"on {meta['cores']} cores ({meta['seconds']} s in all)",
        "",
        f"{'':34}{'per s':>9}{'p50 ms':>9}{'p99 ms':>9}{'x bare':>8}"
        f"{'CPU ms':>8}{'x CPU':>7}{'DB ms':>7}{'other%':>8}{'errors':>8}",
    ]
    for name, row in results["scenarios"].items():
        if "skipped" in row:
            lines.append(f"{name:34}skipped: {row['skipped']}")
            continue
        lines.append(
            f"{name:34}{_fmt(row['per_s']):>9}{_fmt(row['p50_ms']):>9}"
            f"{_fmt(row['p99_ms']):>9}{_fmt(row['ratio_to_bare_page'], 2):>8}"
            f"{_fmt(row['worker_cpu_ms'], 2):>8}"
            f"{_fmt(row['cpu_ratio_to_bare_page'], 2):>7}"
            f"{_fmt(row['database_cpu_ms'], 2):>7}"
            f"{_fmt(row['other_cpu_pct']):>8}"
            f"{_fmt(row['errors']):>8}"
        )
    lines += _busy_lines(results["scenarios"])
    lines += _signin_lines(results["signin"])
    lines += _query_lines(results["queries"][meta["users"]], meta["users"])
    lines += _growth_lines(results["growth"])
    lines += _profile_lines(results["profiles"])
    memory = results["memory"]
    lines += [
        "",
        f"Memory after the run (RSS): master {memory['master_mib']} MiB, workers "
        + ", ".join(f"{mib} MiB" for mib in memory["workers_mib"]),
        "",
        "Targets",
    ]
    for target in results["targets"]:
        mark = "met    " if target["met"] else "NOT MET"
        lines.append(f"  [{mark}] {target['name']}: {_fmt(target['value'], 2)}")
    if results["errors"]:
        lines += ["", "Errors:"] + [f"  {error}" for error in results["errors"]]
    return "\n".join(lines)


def _workers(meta):
    if meta["threads"] > 1:
        return f"{meta['workers']} gunicorn workers x {meta['threads']} threads"
    return f"{meta['workers']} gunicorn sync workers"


def _busy_lines(scenarios):
    busiest = max(
        (row.get("other_cpu_pct") or 0 for row in scenarios.values()), default=0
    )
    if busiest <= BUSY_PCT:
        return []
    return [
        "",
        f"warning: other programs used up to {busiest}% of the machine's CPU during "
        "a scenario (column other%); rerun on a quiet machine for stable figures",
    ]


def _signin_lines(signin):
    if not signin:
        return []
    return [
        "",
        f"Sign-in at 1 client: password + code POSTs p50 "
        f"{signin['password_and_code_posts_p50_ms']} ms, Argon2 verify alone "
        f"{signin['argon2_verify_p50_ms']} ms, overhead {signin['overhead_p50_ms']} ms",
        f"  by CPU time: the POSTs' worker CPU p50 "
        f"{_fmt(signin['posts_worker_cpu_p50_ms'], 2)} ms, Argon2 "
        f"{_fmt(signin['argon2_verify_cpu_p50_ms'], 2)} ms, overhead "
        f"{_fmt(signin['cpu_overhead_p50_ms'], 2)} ms",
    ]


def _query_lines(routes, users):
    lines = [
        "",
        f"{f'Queries per request ({users:,} users)':50}{'queries':>9}"
        f"{'no hook':>9}{'hook adds':>11}",
    ]
    for name, row in routes.items():
        lines.append(
            f"{name:50}{row['queries']:>9}{row['without_hook']:>9}{row['hook_adds']:>11}"
        )
    return lines


def _growth_lines(growth):
    if not growth:
        return []
    levels = sorted(growth)
    rows = (
        ("Security page p50 ms", lambda level: level[SECURITY]["p50_ms"]),
        ("Security page per s", lambda level: level[SECURITY]["per_s"]),
        ("Security page server ms/request", _security_cost),
        ("sign-in POSTs p50 ms, 1 client", _signin_posts),
        ("sign-in code POST CPU ms", _signin_cost),
        ("most queries on a page", lambda level: level["max_page_queries"]),
    )
    lines = ["", f"{'Growth (users)':34}" + "".join(f"{n:>12,}" for n in levels)]
    for label, read in rows:
        values = "".join(f"{_fmt(read(growth[n])):>12}" for n in levels)
        lines.append(f"{label:34}{values}")
    return lines


def _signin_posts(level):
    return level["signin"].get("password_and_code_posts_p50_ms")


def _profile_lines(profiles):
    lines = []
    for name, found in profiles.items():
        lines += ["", f"Where the workers were during {name} ({found['file']}):"]
        lines += [f"  {share:6.1%}  {frame}" for share, frame in found["top"]]
    return lines
