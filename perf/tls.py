#!/usr/bin/env python3
"""TLS: the cost of TLS per request, corecache against redis-server (Debian's is built
with TLS), each on its plain port and its TLS port in the same run: redis-benchmark
`-t set,get -c 50 -P 1` and `-P 16` with a client certificate, rounds alternating
between the servers. Reports requests per second and the TLS/plain ratio of each
server, and corecache's TLS throughput as a ratio of redis-server's. Test certificates
are made with openssl for the run.

    python3 perf/tls.py [--corecache-bin PATH] [--threads 2] [--requests 200000] [--rounds 3]

Writes the raw results to perf/results/tls-<UTC>.json."""

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (the harness next to this file)


def make_certs(d: Path) -> None:
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    (d / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for args in (
        "req -x509 -new -nodes -newkey rsa:2048 -keyout ca.key -out ca.crt -days 2 -subj /CN=ca",
        "req -new -nodes -newkey rsa:2048 -keyout server.key -out server.csr -subj /CN=localhost",
        "x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt "
        "-days 2 -extfile server.ext",
        "req -new -nodes -newkey rsa:2048 -keyout client.key -out client.csr -subj /CN=client",
        "x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt "
        "-days 2 -extfile client.ext",
    ):
        subprocess.run(["openssl", *args.split()], cwd=d, check=True, capture_output=True)


def rps(port: int, tls_dir: Path | None, requests: int, pipeline: int) -> dict[str, float]:
    cmd = ["redis-benchmark", "-h", bench.HOST, "-p", str(port), "-t", "set,get",
           "-n", str(requests), "-c", "50", "-P", str(pipeline), "-q"]
    if tls_dir is not None:
        cmd += ["--tls", "--cacert", str(tls_dir / "ca.crt"), "--cert",
                str(tls_dir / "client.crt"), "--key", str(tls_dir / "client.key")]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600).stdout
    got = {}
    for name, value in re.findall(r"(SET|GET): ([0-9.]+) requests per second", out.replace("\r", "\n")):
        got[name] = float(value)
    if len(got) != 2:
        raise bench.BenchError(f"unexpected redis-benchmark output: {out[-500:]}")
    return got


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corecache-bin", type=Path)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--requests", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    bench.ensure_redis_tools()
    binary = a.corecache_bin or bench.build_corecache()
    with tempfile.TemporaryDirectory(prefix="corecache-tls-") as tmp:
        d = Path(tmp)
        make_certs(d)
        ports = {"redis": bench.free_port(), "corecache": bench.free_port()}
        tls_args = ("--tls-cert-file", str(d / "server.crt"), "--tls-key-file",
                    str(d / "server.key"), "--tls-ca-cert-file", str(d / "ca.crt"))
        redis = bench.RedisServer(d, ("--tls-port", str(ports["redis"]), *tls_args))
        core = bench.CorecacheServer(d, binary, a.threads,
                                     extra=("--tls-port", str(ports["corecache"]), *tls_args))
        servers = {"redis": redis, "corecache": core}
        results: dict = {name: {} for name in servers}
        try:
            for s in servers.values():
                s.start()
            for pipeline in (1, 16):
                for r in range(a.rounds):
                    for name, s in servers.items():
                        for mode, port, tdir in (("plain", s.port, None),
                                                 ("tls", ports[name], d)):
                            got = rps(port, tdir, a.requests, pipeline)
                            for cmd, v in got.items():
                                key = f"{cmd} P{pipeline} {mode}"
                                results[name].setdefault(key, []).append(v)
                            bench.log(f"round {r} {name} {mode} P{pipeline}: {got}")
        finally:
            for s in servers.values():
                s.stop()
    med = {n: {k: sorted(v)[len(v) // 2] for k, v in rs.items()} for n, rs in results.items()}
    print("| measure | redis-server | corecache | corecache / redis |")
    print("|---|--:|--:|--:|")
    for pipeline in (1, 16):
        for cmd in ("SET", "GET"):
            for mode in ("plain", "tls"):
                k = f"{cmd} P{pipeline} {mode}"
                r, c = med["redis"][k], med["corecache"][k]
                print(f"| {k}, requests/s | {r:,.0f} | {c:,.0f} | {c / r:.2f}x |")
            for n in ("redis", "corecache"):
                ratio = med[n][f"{cmd} P{pipeline} tls"] / med[n][f"{cmd} P{pipeline} plain"]
                print(f"| {cmd} P{pipeline}, TLS / plain on {n} | | | {ratio:.2f} |")
    path = bench.write_results("tls", {"medians": med, "runs": results,
                                        "requests": a.requests, "threads": a.threads})
    print(f"results: {path}")


if __name__ == "__main__":
    main()
