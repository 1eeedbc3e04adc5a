"""The performance figures of issue 8, measured side by side in one run, as one table.

    python -m bench.run [--scale city|small] [--db sqlite|postgresql] [--seconds S]
                        [--decisions N] [--rebuild-base] [--pg-url URL]

From a fresh clone (after ``scripts/install``): generates the data set (``bench.dataset``),
loads subjects and relations with ``jrp import`` into a *base* database (kept, and reused while
the data set is unchanged: at city scale it takes a quarter of an hour), copies it to a *run*
database, and then, in this order, measures on the run database:

1. bulk entry registration: ``jrp import entries`` (rule evaluation, derivations, index);
2. start-up and memory: ``Service.start`` in a fresh process (``bench.probe startup``);
3. in-process decision rate: ``engine.checks.answer`` per CPU second (``bench.probe``);
4. HTTP: ``jrp serve`` with 1 worker (log on), ``bench.server`` with 1 worker and no decision
   log, ``jrp serve`` with 2 workers; each time a trivial endpoint (``GET /healthz``) and
   ``POST /v1/checks`` alternately, ``--rounds`` times (3), under ``wrk`` (``bench.loadgen``);
5. the decision log filled to ``--decisions`` more in-process decisions (log on), then
   ``engine.replay.replay`` of the whole log, then ``jrp verify``.

Prints one Markdown table and writes every figure to ``bench/out/results.json``. Everything it
creates lives under ``bench/out/`` (git-ignored) or in PostgreSQL databases named
``jrp_bench_<scale>_base`` and ``jrp_bench_<scale>_run``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from bench import dataset, loadgen
from engine.store import db
from engine.verifiable.checkpoints import LOGS
from engine.verifiable.trees import checkpoint_log
from tests.serving import ServeProcess

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PYTHON = sys.executable
KEY = "bench-implementer-key"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432"
TARGETS = {
    "http_throughput_ratio": (">=", 0.6),
    "http_p99_ratio": ("<=", 2.0),
    "log_on_off_ratio": (">=", 0.8),
    "inprocess_per_cpu_s": (">=", 20_000),
    "entries_per_s": (">=", 3_000),
    "replay_per_s": (">=", 10_000),
    "rss_per_worker_mib": ("<=", 4 * 1024),
    "start_s": ("<=", 60),
}


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(command: list[str], *, log: Path, env: dict[str, str] | None = None) -> str:
    """Run a command to completion (output kept in ``log``); its stdout; raises on failure."""
    with log.open("w") as handle:
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=handle, text=True,
                              env={**os.environ, **(env or {})}, cwd=ROOT)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} failed ({done.returncode}); see {log}")
    return done.stdout


def probe(name: str, url: str, logs: Path, *more: str) -> dict[str, Any]:
    say(f"probe {name}")
    text = run([PYTHON, "-m", "bench.probe", name, "--db", url, *more], log=logs / f"{name}.log")
    return dict(json.loads(text.strip().splitlines()[-1]))


# --- databases ---------------------------------------------------------------------------------


def pg_admin(pg_url: str) -> sa.Engine:
    return sa.create_engine(f"{pg_url}/postgres", isolation_level="AUTOCOMMIT")


def database_url(kind: str, scale: str, role: str, pg_url: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{OUT / f'{scale}-{role}.db'}"
    return f"{pg_url}/jrp_bench_{scale}_{role}"


def last_seq(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.text("SELECT max(seq) FROM event")).scalar() or 0)
    except sa.exc.SQLAlchemyError:
        return -1
    finally:
        engine.dispose()


def ensure_base(args: argparse.Namespace, manifest: dict[str, Any], data: Path,
                logs: Path) -> tuple[str, dict[str, Any]]:  # fmt: skip
    """The base database (subjects and relations), built with ``jrp import`` when missing."""
    url = database_url(args.db, args.scale, "base", args.pg_url)
    marker = OUT / f"base-{args.scale}-{args.db}.json"
    expected = manifest["orgs"] + manifest["persons"] + manifest["relations"]
    if marker.exists() and not args.rebuild_base:
        stored = json.loads(marker.read_text())
        if stored.get("generator") == manifest["generator"] and last_seq(url) > expected:
            say(f"base database reused: {url}")
            build_trees(url)  # a base built before the bench did this
            return url, {**stored["imports"], "cached": True}
    say(f"building the base database {url} (jrp import subjects, relations)")
    if args.db == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{OUT / f'{args.scale}-base.db'}{suffix}").unlink(missing_ok=True)
    else:
        with pg_admin(args.pg_url).connect() as connection:
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS jrp_bench_{args.scale}_base"))
            connection.execute(sa.text(f"CREATE DATABASE jrp_bench_{args.scale}_base"))
    imports = {}
    for kind in ("subjects", "relations"):
        imports[kind] = jrp_import(kind, data / f"{kind}.csv", url, logs)
    build_trees(url)
    marker.write_text(json.dumps({"generator": manifest["generator"], "url": url,
                                  "imports": imports}, indent=2))  # fmt: skip
    return url, {**imports, "cached": False}


def build_trees(url: str) -> None:
    """Extend both logs' Merkle trees in the base database (unsigned checkpoints, as ``jrp
    serve`` without a key makes), as a service in use has them. Otherwise every server
    started on a fresh copy builds the tree of every imported event in its checkpoint thread
    during the first measured rounds: 6.5 million leaves at city scale, about 30 s of CPU
    competing with the checks (docs/performance.md, "A first start on a big database")."""
    engine = db.create_db_engine(url)
    try:
        for log in LOGS:
            began = time.perf_counter()
            if checkpoint_log(engine, log, None) is not None:
                say(f"{log} tree built to the newest record ({time.perf_counter() - began:.0f} s)")
    finally:
        engine.dispose()


def jrp_import(kind: str, path: Path, url: str, logs: Path) -> dict[str, Any]:
    """``jrp import KIND FILE``: lines, seconds and lines per second from its summary line."""
    say(f"jrp import {kind} {path.name}")
    began = time.perf_counter()
    text = run([PYTHON, "-m", "api.cli", "import", kind, str(path), "--db", url],
               log=logs / f"import-{kind}.log")  # fmt: skip
    summary = re.search(r"([\d,]+) lines in .*?; ([0-9.]+) s, ([\d,]+) lines/s", text)
    if summary is None:
        raise SystemExit(f"no summary from jrp import {kind}: {text[-500:]}")
    snapshot = re.search(r"snapshot at event [\d,]+ stored \(([0-9.]+) s\)",
                         (logs / f"import-{kind}.log").read_text())  # fmt: skip
    return {
        "lines": int(summary.group(1).replace(",", "")),
        "seconds": float(summary.group(2)),
        "per_s": int(summary.group(3).replace(",", "")),
        "process_s": round(time.perf_counter() - began, 1),
        "snapshot_s": float(snapshot.group(1)) if snapshot else None,
    }


def fresh_run_database(args: argparse.Namespace) -> str:
    """A copy of the base database for this run's writes."""
    url = database_url(args.db, args.scale, "run", args.pg_url)
    say(f"copying the base database to {url}")
    return copy_database(args, "base", "run")


def copy_database(args: argparse.Namespace, source: str, target: str) -> str:
    """Replace the ``target`` database of this scale (a role: ``run``, ...) with a copy of
    ``source``; its URL."""
    if args.db == "sqlite":
        path = OUT / f"{args.scale}-{target}.db"
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(OUT / f"{args.scale}-{source}.db", path)
    else:
        pg_copy(args.pg_url, f"jrp_bench_{args.scale}_{target}", f"jrp_bench_{args.scale}_{source}")
    return database_url(args.db, args.scale, target, args.pg_url)


def pg_copy(admin_url: str, name: str, template: str) -> None:
    """Replace the PostgreSQL database ``name`` with a copy of ``template``."""
    with pg_admin(admin_url).connect() as connection:
        connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        connection.execute(sa.text(f"CREATE DATABASE {name} TEMPLATE {template}"))
        # The copy went through PostgreSQL's WAL (15's default strategy): checkpoint it now,
        # or the checkpoint it forces lands in the measurements that follow.
        connection.execute(sa.text("CHECKPOINT"))


# --- HTTP --------------------------------------------------------------------------------------


def write_callers(path: Path) -> Path:
    digest = hashlib.sha256(KEY.encode()).hexdigest()
    callers = [{"name": "bench implementer", "department": "finance", "roles": ["implementer"],
                "key_sha256": digest}]  # fmt: skip
    path.write_text(yaml.safe_dump({"callers": callers}))
    return path


def cpu_ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total


def memory(pid: int) -> dict[str, int]:
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name.lower() + "_mib"] = int(value.split()[0]) // 1024
    return found


class Server(ServeProcess):
    """``jrp serve`` (or ``bench.server``) in a child process, until ``stop``."""

    def __init__(
        self, name: str, command: list[str], workers: int, logs: Path, *, cwd: Path = ROOT
    ) -> None:
        self.name = name
        super().__init__(command, logs / f"serve-{name}.log", workers=workers,
                         env={"JRP_LOG_FORMAT": "json"}, cwd=cwd)  # fmt: skip


def measure(server: Server, args: argparse.Namespace, checks: Path, logs: Path) -> dict[str, Any]:
    """Trivial endpoint and checks alternately (after a warm-up of each), ``--rounds`` times."""

    def one(kind: str, seconds: float) -> dict[str, Any]:
        pids = server.pids()
        ticks = cpu_ticks(pids)
        bodies = checks if kind == "check" else None
        path = "/v1/checks" if kind == "check" else "/healthz"
        load = loadgen.run(server.base, path=path, bodies=bodies, key=KEY,
                           connections=args.connections, seconds=seconds, out=logs)  # fmt: skip
        used = (cpu_ticks(pids) - ticks) / os.sysconf("SC_CLK_TCK")
        figures = load.to_dict()
        figures["cpu_us_per_request"] = round(used / max(load.requests, 1) * 1e6)
        figures["loadavg_1m"] = round(os.getloadavg()[0], 2)
        return figures

    one("trivial", 5)
    one("check", 5)
    rounds: dict[str, list[dict[str, Any]]] = {"trivial": [], "check": []}
    for _ in range(args.rounds):
        for kind in ("trivial", "check"):
            say(f"  {server.name}: {kind} for {args.seconds:.0f} s")
            rounds[kind].append(one(kind, args.seconds))
    result: dict[str, Any] = {}
    for kind, runs in rounds.items():
        result[kind] = {
            key: round(statistics.fmean(r[key] for r in runs), 2)
            for key in ("rps", "p50_ms", "p99_ms", "cpu_us_per_request", "loadavg_1m")
        }
        result[kind]["non_2xx"] = sum(r["non_2xx"] for r in runs)
        result[kind]["errors"] = sum(r["errors"] for r in runs)
        result[kind]["tool"] = runs[0]["tool"]
    result["throughput_ratio"] = round(result["check"]["rps"] / result["trivial"]["rps"], 3)
    result["p99_ratio"] = round(result["check"]["p99_ms"] / result["trivial"]["p99_ms"], 3)
    result["workers_memory"] = [memory(pid) for pid in server.worker_pids()]
    return result


def http(args: argparse.Namespace, url: str, checks: Path, logs: Path) -> dict[str, Any]:
    callers = write_callers(OUT / "bench-callers.yaml")
    serve = [PYTHON, "-m", "api.cli", "serve", "--db", url, "--callers", str(callers)]
    nolog = [PYTHON, "-m", "bench.server", "--db", url, "--callers", str(callers),
             "--no-decision-log"]  # fmt: skip
    configs = [("1-worker", serve, 1), ("1-worker-no-log", nolog, 1), ("2-workers", serve, 2)]
    results: dict[str, Any] = {}
    for name, command, workers in configs:
        say(f"HTTP {name}: starting")
        server = Server(name, command, workers, logs)
        try:
            ready = server.wait_ready(timeout=1200)
            results[name] = {"ready_s": round(ready, 1), **measure(server, args, checks, logs)}
        except (SystemExit, Exception) as exc:  # one configuration failing spoils no other
            say(f"HTTP {name} failed: {exc}")
            results[name] = {"error": str(exc)}
        finally:
            server.stop()
    return results


# --- alternating rounds (bench.ab, bench.log_onoff) ---------------------------------------


def rounds_parser(description: str, *, seconds: float, rounds: int) -> argparse.ArgumentParser:
    """The options every alternating-rounds bench takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--scale", default="small", choices=sorted(dataset.SCALES))
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--seconds", type=float, default=seconds)
    parser.add_argument("--rounds", type=int, default=rounds)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--rebuild-base", action="store_true")
    parser.add_argument("--label", default="", help="a name for the summary line")
    return parser


@dataclass(frozen=True)
class RoundsSetup:
    """What each round of an alternating bench needs, made once."""

    logs: Path
    data: Path
    base: str
    callers: Path
    measured: argparse.Namespace
    """The options for ``measure``: one measured run of each endpoint per server."""


def prepare_rounds(args: argparse.Namespace, name: str) -> RoundsSetup:
    """The data set, the base database (built once) and the callers file, for bench ``name``."""
    OUT.mkdir(parents=True, exist_ok=True)
    logs = OUT / f"logs-{name}-{args.scale}-{args.db}"
    logs.mkdir(exist_ok=True)
    loadgen.ensure_wrk()
    data = OUT / f"data-{args.scale}"
    manifest = dataset.generate(args.scale, data)
    base, _ = ensure_base(args, manifest, data, logs)
    callers = write_callers(OUT / "bench-callers.yaml")
    measured = argparse.Namespace(**{**vars(args), "rounds": 1})
    return RoundsSetup(logs, data, base, callers, measured)


def save_summary(name: str, summary: dict[str, Any]) -> None:
    """Print the summary line and append it to ``bench/out/<name>.jsonl``."""
    print(json.dumps(summary))
    with (OUT / f"{name}.jsonl").open("a") as out:
        out.write(json.dumps(summary) + "\n")


# --- the table ---------------------------------------------------------------------------------


def met(name: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    op, target = TARGETS[name]
    return "yes" if (value >= target if op == ">=" else value <= target) else "**no**"


_FAILED = {
    "throughput_ratio": float("nan"),
    "p99_ratio": float("nan"),
    "workers_memory": [],
    **{kind: {"rps": float("nan"), "p50_ms": float("nan"), "p99_ms": float("nan"),
              "cpu_us_per_request": 0, "tool": "-"} for kind in ("check", "trivial")},
}  # fmt: skip


def table(figures: dict[str, Any], meta: dict[str, Any]) -> str:
    h = {name: _FAILED if "error" in run else run for name, run in figures["http"].items()}
    one, nolog, two = h["1-worker"], h["1-worker-no-log"], h["2-workers"]
    peaks = [*one["workers_memory"], *two["workers_memory"], figures["startup"]]
    rss = max(m["vmhwm_mib"] for m in peaks)
    log_ratio = round(one["check"]["rps"] / nolog["check"]["rps"], 3)
    derived = {
        "http_throughput_ratio": one["throughput_ratio"],
        "http_p99_ratio": one["p99_ratio"],
        "log_on_off_ratio": log_ratio,
        "inprocess_per_cpu_s": figures["inprocess"]["answers_per_cpu_s"],
        "entries_per_s": figures["entries"]["per_s"],
        "replay_per_s": figures["replay"]["decisions_per_s"],
        "rss_per_worker_mib": rss,
        "start_s": figures["startup"]["start_s"],
    }
    figures["derived"] = derived

    def c(kind: dict[str, Any]) -> str:
        return (f"{kind['rps']:,.0f} req/s, p50 {kind['p50_ms']:.1f} ms, p99 "
                f"{kind['p99_ms']:.1f} ms, {kind['cpu_us_per_request']:,} µs CPU/req")  # fmt: skip

    rows = [
        (
            "HTTP checks / trivial endpoint, throughput (1 worker, log on)",
            "≥ 0.6",
            f"{one['throughput_ratio']:.2f}",
            met("http_throughput_ratio", one["throughput_ratio"]),
        ),
        (
            "HTTP checks / trivial endpoint, p99 latency (1 worker, log on)",
            "≤ 2.0",
            f"{one['p99_ratio']:.2f}",
            met("http_p99_ratio", one["p99_ratio"]),
        ),
        ("  checks, 1 worker, log on", "", c(one["check"]), ""),
        ("  trivial `GET /healthz`, 1 worker", "", c(one["trivial"]), ""),
        (
            "decision log on / off, check throughput",
            "≥ 0.8",
            f"{log_ratio:.2f} ({one['check']['rps']:,.0f} / {nolog['check']['rps']:,.0f} req/s)",
            met("log_on_off_ratio", log_ratio),
        ),
        ("  checks, 2 workers, log on", "", c(two["check"]), ""),
        ("  trivial, 2 workers", "", c(two["trivial"]), ""),
        (
            "  checks / trivial, 2 workers",
            "",
            f"{two['throughput_ratio']:.2f} (p99 {two['p99_ratio']:.2f})",
            "",
        ),
        (
            "in-process decisions (answer, no HTTP, no log) per CPU second",
            "≥ 20,000",
            f"{derived['inprocess_per_cpu_s']:,} ({figures['inprocess']['with_hits']:,} of "
            f"{figures['inprocess']['checks']:,} with hits: "
            f"{figures['inprocess']['answers_with_hits_per_cpu_s'] or 0:,}/s)",
            met("inprocess_per_cpu_s", derived["inprocess_per_cpu_s"]),
        ),
        (
            "bulk entry registration (`jrp import entries`)",
            "≥ 3,000 /s",
            f"{derived['entries_per_s']:,} /s ({figures['entries']['lines']:,} in "
            f"{figures['entries']['seconds']:.0f} s)",
            met("entries_per_s", derived["entries_per_s"]),
        ),
        (
            "replay of the decision log",
            "≥ 10,000 /s",
            f"{derived['replay_per_s']:,} /s ({figures['replay']['replayed']:,} decisions, "
            f"{figures['replay']['identical']:,} identical; {figures['replay']['replay_s']} s "
            f"in all, of which {figures['replay']['restore_s']} s before the first decision: "
            f"restoring the state at its position, opening the query)",
            met("replay_per_s", derived["replay_per_s"]),
        ),
        ("RSS per worker (peak, VmHWM)", "≤ 4 GB", f"{rss:,} MiB", met("rss_per_worker_mib", rss)),
        (
            "start-up: `Service.start`, projections ready",
            "≤ 60 s",
            f"{derived['start_s']} s ({figures['startup']['start_cpu_s']} s CPU; snapshot at "
            f"{figures['startup']['snapshot_seq'] or 0:,} of {figures['startup']['events']:,} "
            f"events)",
            met("start_s", derived["start_s"]),
        ),
        (
            "  in-process checks with log on (to fill the log)",
            "",
            f"{figures['decisions']['decisions_per_s']:,} /s, "
            f"{figures['decisions']['cpu_us_per_decision']} µs CPU each",
            "",
        ),
        ("  decision chain verified (`jrp verify`)", "", figures["verify"], ""),
    ]
    head = (f"scale {meta['scale']} on {meta['db']}: {meta['counts']}; {meta['machine']}; "
            f"load generator {one['check']['tool']}, {meta['connections']} connections, "
            f"{meta['seconds']:.0f} s per run (mean of {meta['rounds']})"
            + (f"; PostgreSQL {meta['server']}" if meta.get("server") else ""))  # fmt: skip
    lines = [head, "", "| figure | target | measured | met |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c_} | {d} |" for a, b, c_, d in rows]
    return "\n".join(lines)


PG_SETTINGS = ("server_version", "autovacuum", "fsync", "synchronous_commit", "shared_buffers")
"""The PostgreSQL server's settings the figures depend on, shown beside them (a machine's
configuration may differ from PostgreSQL's defaults: this workplace's turns autovacuum off)."""


def server_settings(args: argparse.Namespace) -> str:
    """``name=value`` of ``PG_SETTINGS``, on PostgreSQL; empty on SQLite."""
    if args.db != "postgresql":
        return ""
    with pg_admin(args.pg_url).connect() as connection:
        values = [connection.execute(sa.text(f"SHOW {name}")).scalar() for name in PG_SETTINGS]
    return ", ".join(f"{name}={value}" for name, value in zip(PG_SETTINGS, values, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(dataset.SCALES), default="city")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rounds", type=int, default=3,
                        help="load runs per endpoint and configuration, alternating")  # fmt: skip
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--decisions", type=int, default=200_000)
    parser.add_argument("--rebuild-base", action="store_true")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    logs = OUT / f"logs-{args.scale}-{args.db}"
    logs.mkdir(exist_ok=True)
    began = time.perf_counter()
    if loadgen.ensure_wrk() is None:
        say("wrk is not installed and cannot be: using the Python load generator")
    data = OUT / f"data-{args.scale}"
    say(f"data set {data}")
    manifest = dataset.generate(args.scale, data)
    _, base_imports = ensure_base(args, manifest, data, logs)
    url = fresh_run_database(args)
    figures: dict[str, Any] = {"base_imports": base_imports}
    partial = OUT / "results.partial.json"

    def keep(name: str, value: Any) -> None:
        figures[name] = value
        partial.write_text(json.dumps(figures, indent=2))

    keep("entries", jrp_import("entries", data / "entries.jsonl", url, logs))
    keep("startup", probe("startup", url, logs))
    keep("inprocess", probe("inprocess", url, logs, "--checks", str(data / "checks.jsonl")))
    keep("http", http(args, url, data / "checks.jsonl", logs))
    keep("decisions", probe("decisions", url, logs, "--checks", str(data / "checks.jsonl"),
                            "--count", str(args.decisions)))  # fmt: skip
    keep("replay", probe("replay", url, logs))
    say("jrp verify")
    verify = subprocess.run([PYTHON, "-m", "api.cli", "verify", "--db", url], cwd=ROOT,
                            capture_output=True, text=True)  # fmt: skip
    figures["verify"] = "intact" if verify.returncode == 0 else f"BROKEN: {verify.stdout[-200:]}"
    meta = {
        "scale": args.scale,
        "db": args.db,
        "counts": f"{manifest['orgs']:,} orgs, {manifest['persons']:,} persons, "
        f"{manifest['relations']:,} holdings, {manifest['entries']:,} entries",
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
        "server": server_settings(args),
        "connections": args.connections,
        "seconds": args.seconds,
        "rounds": args.rounds,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "total_minutes": None,
    }
    text = table(figures, meta)
    meta["total_minutes"] = round((time.perf_counter() - began) / 60, 1)
    (OUT / "results.json").write_text(json.dumps({"meta": meta, "figures": figures}, indent=2))
    print(text)
    say(f"done in {meta['total_minutes']} min; figures in {OUT / 'results.json'}")


if __name__ == "__main__":
    main()
