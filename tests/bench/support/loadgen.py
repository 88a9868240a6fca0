"""The API benchmark's load generator: its own process, plain asyncio streams on keep-alive.

Much lighter than an HTTP library, so the servers measured get most of the CPU. ``run_load``
starts it with a spec on stdin (host, port, kind, visits, timing, the hospital's secret) and
reads one JSON object back: the count, the rate, p50/p99 latency and every answer's status.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import math
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from tests.e2e.server import fee_batch_body

BATCHES_PER_VISIT = 20
LINES_PER_BATCH = 5


def signed_headers(
    secret: str, code: str, method: str, path: str, body: bytes, key: str
) -> list[tuple[str, str]]:
    timestamp = str(int(time.time()))
    nonce = uuid.uuid4().hex
    canonical = "\n".join(
        (method, path, timestamp, nonce, hashlib.sha256(body).hexdigest())
    ).encode()
    signature = hmac.new(secret.encode(), canonical, hashlib.sha256).hexdigest()
    return [
        ("X-Shuxin-Hospital", code),
        ("X-Shuxin-Timestamp", timestamp),
        ("X-Shuxin-Nonce", nonce),
        ("X-Shuxin-Signature", signature),
        ("Idempotency-Key", key),
    ]


def _request_path(kind: str, visit: str) -> str:
    if kind == "fees":
        return f"/his/v1/visits/{visit}/fees"
    if kind == "honest":
        return f"/honest/v1/visits/{visit}/fees"
    return "/bare"


async def _client(spec: dict[str, Any], visits: list[str], index: int, out: dict[str, Any]) -> None:
    host, port = spec["host"], spec["port"]
    reader, writer = await asyncio.open_connection(host, port)
    warmup_until, stop_at = spec["t0"] + spec["warmup"], spec["t_end"]
    n = 0
    latencies: list[float] = out["latencies"]
    statuses: dict[str, int] = out["statuses"]
    kind = spec["kind"]
    secret, code = (spec["secret"], spec["code"]) if kind != "bare" else ("bare", "bare")
    while True:
        now = time.perf_counter()
        if now >= stop_at:
            break
        visit = visits[(n // BATCHES_PER_VISIT) % len(visits)]
        batch = f"C{index}R{spec['run']}N{n}-{uuid.uuid4().hex[:6]}"
        body = json.dumps(_fee_body(batch)).encode()
        path = _request_path(kind, visit)
        headers = signed_headers(secret, code, "POST", path, body, uuid.uuid4().hex)
        head = f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers)
        head += f"Content-Length: {len(body)}\r\n\r\n"
        sent = time.perf_counter()
        writer.write(head.encode() + body)
        status_line = await reader.readline()
        length = 0
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await reader.readexactly(length)
        done = time.perf_counter()
        n += 1
        if sent >= warmup_until and done <= stop_at:
            latencies.append(done - sent)
        # Every answer's status, the warm-up's too: an error is an error whenever it comes.
        status = status_line.split(b" ", 2)[1].decode() if status_line else "EOF"
        statuses[status] = statuses.get(status, 0) + 1
        if not status_line:
            break
    out["sent"] += n
    writer.close()


def _fee_body(batch: str) -> dict[str, Any]:
    return fee_batch_body(batch, LINES_PER_BATCH, "0.01")


async def _load(spec: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"latencies": [], "statuses": {}, "sent": 0}
    t0 = time.perf_counter()
    spec = {**spec, "t0": t0, "t_end": t0 + spec["warmup"] + spec["seconds"]}
    await asyncio.gather(
        *(_client(spec, visits, i, out) for i, visits in enumerate(spec["visits"]))
    )
    latencies = sorted(out["latencies"])
    count = len(latencies)
    return {
        "count": count,
        "sent": out["sent"],
        "rps": count / spec["seconds"],
        "p50_ms": 1000 * latencies[count // 2] if count else math.nan,
        "p99_ms": 1000 * latencies[min(count - 1, int(count * 0.99))] if count else math.nan,
        "statuses": out["statuses"],
    }


def loadgen_main() -> int:
    spec = json.loads(sys.stdin.read())
    print(json.dumps(asyncio.run(_load(spec))))
    return 0


def run_load(spec: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.bench.support.loadgen"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])},
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


if __name__ == "__main__":
    sys.exit(loadgen_main())
