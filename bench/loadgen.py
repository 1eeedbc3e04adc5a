"""HTTP load: ``wrk`` (Debian package) when present, else a small asyncio generator.

Both are closed-loop: ``connections`` keep-alive connections, each sending its next request as
soon as the previous answer arrived, for ``seconds``. Both report requests per second, the
latency percentiles, and how many answers were not 2xx. ``wrk`` is preferred: it is written
in C and takes a fraction of the CPU the service under test needs; the Python generator needs
about as much CPU per request as a trivial endpoint does, so on a two-core machine it depresses
the figures it measures (the ratios less than the absolute numbers).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import statistics
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

LUA = """
local bodies = {}
for line in io.lines(os.getenv("JRP_BENCH_BODIES")) do bodies[#bodies + 1] = line end
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("JRP_BENCH_KEY")
request = function()
  i = i + 1
  if i > #bodies then i = 1 end
  return wrk.format(nil, os.getenv("JRP_BENCH_PATH"), nil, bodies[i])
end
"""


@dataclass
class Load:
    tool: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    errors: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def ensure_wrk() -> str | None:
    """The path of ``wrk``, installing Debian's package when run as root; None when absent."""
    found = shutil.which("wrk")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    for command in (["apt-get", "install", "-y", "wrk"], ["apt-get", "update"],
                    ["apt-get", "install", "-y", "wrk"]):  # fmt: skip
        subprocess.run(command, capture_output=True, check=False, timeout=600)
        if shutil.which("wrk"):
            break
    return shutil.which("wrk")


def run(
    base: str,
    *,
    path: str,
    bodies: Path | None,
    key: str | None,
    connections: int,
    seconds: float,
    out: Path,
) -> Load:
    """GET ``path`` (no bodies) or POST each line of ``bodies`` in turn, with ``key``."""
    wrk = shutil.which("wrk")
    if wrk:
        return _wrk(wrk, base, path, bodies, key, connections, seconds, out)
    return asyncio.run(_python(base, path, bodies, key, connections, seconds))


def _ms(text: str) -> float:
    value = float(re.sub(r"[a-z]+$", "", text))
    unit = re.sub(r"^[0-9.]+", "", text)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def _wrk(
    wrk: str,
    base: str,
    path: str,
    bodies: Path | None,
    key: str | None,
    connections: int,
    seconds: float,
    out: Path,
) -> Load:
    command = [wrk, "-t1", f"-c{connections}", f"-d{int(seconds)}s", "--latency"]
    env = dict(os.environ)
    if bodies is not None:
        script = out / "checks.lua"
        script.write_text(LUA)
        command += ["-s", str(script)]
        env.update(JRP_BENCH_BODIES=str(bodies), JRP_BENCH_KEY=key or "",
                   JRP_BENCH_PATH=path)  # fmt: skip
        target = base
    else:
        target = base + path
    text = subprocess.run([*command, target], capture_output=True, text=True, env=env,
                          check=True).stdout  # fmt: skip
    (out / "wrk-last.txt").write_text(text)  # what the figures below were read from
    total = re.search(r"(\d+) requests in ([0-9.]+)(\w+)", text)
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", text, re.MULTILINE))
    if total is None or set(percentiles) != {"50", "99"}:
        raise RuntimeError(f"wrk's output lacks the request count or a percentile:\n{text}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    duration = float(total.group(2)) * (60 if total.group(3) == "m" else 1)
    return Load(
        tool="wrk",
        requests=int(total.group(1)),
        seconds=duration,
        rps=float(re.search(r"Requests/sec:\s+([0-9.]+)", text).group(1)),  # type: ignore[union-attr]
        p50_ms=_ms(percentiles["50"]),
        p99_ms=_ms(percentiles["99"]),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        errors=sum(int(n) for n in errors.groups()) if errors else 0,
    )


async def _python(
    base: str, path: str, bodies: Path | None, key: str | None, connections: int, seconds: float
) -> Load:
    host, port = base.removeprefix("http://").split(":")
    lines = bodies.read_bytes().splitlines() if bodies is not None else [b""]
    latencies: list[float] = []
    statuses = {"ok": 0, "bad": 0, "errors": 0}
    deadline = time.perf_counter() + seconds

    def request(n: int) -> bytes:
        if bodies is None:
            return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
        body = lines[n % len(lines)]
        head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                f"Authorization: Bearer {key}\r\nContent-Length: {len(body)}\r\n\r\n")  # fmt: skip
        return head.encode() + body

    async def client(offset: int) -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        n = offset
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            writer.write(request(n))
            n += connections
            try:
                status_line = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
            except (asyncio.IncompleteReadError, ConnectionError):
                statuses["errors"] += 1
                return
            latencies.append(time.perf_counter() - began)
            statuses["ok" if status_line.split()[1].startswith(b"2") else "bad"] += 1
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(connections)))
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return Load(
        tool="python",
        requests=len(latencies),
        seconds=elapsed,
        rps=len(latencies) / elapsed,
        p50_ms=cuts[49] * 1000,
        p99_ms=cuts[98] * 1000,
        non_2xx=statuses["bad"],
        errors=statuses["errors"],
    )
