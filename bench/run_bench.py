#!/usr/bin/env python3
"""`make bench`: runs the benchmarks and the mmload sweep, writes tables.

Steps (each can be skipped with --skip NAME):
  sim      mmsim_bench (simulator vs kernel; results/latest.{json,md})
  scaling  scaling_bench: items/s at 2 threads over 1 thread
  api      grpc_api_bench: the callback over the synchronous gRPC API
  sweep    mmload against a fresh mmsimd: every scenario at concurrency
           1, 8, 32, 128; ratios against `ping` at the same concurrency
Results go to bench/results/<step>.json and <step>.md. Every ratio is
measured in the same run as its baseline; nothing here fails on time.
Python standard library only.
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
SCENARIOS = ["ping", "fault-storm", "map-churn", "mixed-shared", "private",
             "fork-exit", "pressure"]


def machine():
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cpus": os.cpu_count(), "cpu_model": model, "load_1min": load,
            "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def write(name, data, markdown):
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, name + ".json"), "w") as f:
        json.dump(data, f, indent=2)
    with open(os.path.join(RESULTS, name + ".md"), "w") as f:
        f.write(markdown)
    print(markdown)


def gbench(binary, reps):
    out = subprocess.run(
        [binary, "--benchmark_format=json",
         "--benchmark_repetitions=%d" % reps, "--benchmark_min_time=0.5"],
        check=True, capture_output=True, text=True).stdout
    runs = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("run_type") != "iteration":
            continue
        runs.setdefault(b["run_name"], []).append(b["items_per_second"])
    return runs


def spread(values):
    return {"median": statistics.median(values), "min": min(values),
            "max": max(values), "n": len(values)}


def ratio_table(title, rows, note):
    md = ["## " + title, "", machine_line(), "",
          "| what | baseline items/s | items/s | ratio (median; min-max) | target |",
          "| --- | ---: | ---: | ---: | --- |"]
    for r in rows:
        md.append("| %s | %.0f | %.0f | %.2f (%.2f-%.2f) | %s |" % (
            r["what"], r["baseline"]["median"], r["value"]["median"],
            r["ratio"]["median"], r["ratio"]["min"], r["ratio"]["max"],
            r["target"]))
    md += ["", note, ""]
    return "\n".join(md)


def machine_line():
    m = machine()
    return "%d CPUs (%s), load %s, %s" % (m["cpus"], m["cpu_model"],
                                          m["load_1min"], m["utc"])


def pair_ratios(runs, pairs):
    rows = []
    for what, base, value, target in pairs:
        b, v = runs[base], runs[value]
        ratios = [x / y for x, y in zip(v, b)]
        rows.append({"what": what, "baseline_name": base, "name": value,
                     "baseline": spread(b), "value": spread(v),
                     "ratio": spread(ratios), "target": target})
    return rows


def step_scaling(build, reps):
    runs = gbench(os.path.join(build, "bench", "scaling_bench"), reps)
    name = "BM_Scale_%s/real_time/threads:%d"
    pairs = [
        ("faults, one mm", name % ("FaultsOneMm", 1), name % ("FaultsOneMm", 2),
         ">= 1.6"),
        ("faults, one mm each", name % ("FaultsPrivateMms", 1),
         name % ("FaultsPrivateMms", 2), ">= 1.8"),
        ("map churn, one mm", name % ("ChurnOneMm", 1),
         name % ("ChurnOneMm", 2), ">= 0.8"),
        ("faults beside a writer (fault items only)",
         name % ("MixedOneMm", 1), name % ("MixedOneMm", 2), "(reported)"),
    ]
    rows = pair_ratios(runs, pairs)
    write("scaling", {"machine": machine(), "rows": rows}, ratio_table(
        "In-process scaling: 2 threads over 1", rows,
        "Items/s over both threads; ratio = threads:2 / threads:1 of the "
        "same repetition."))


def step_api(build, reps):
    runs = gbench(os.path.join(build, "bench", "grpc_api_bench"), reps)
    name = "BM_Grpc_%s/callback:%d/min_time:0.500/real_time/threads:%d"
    pairs = []
    for rpc in ("Ping", "Touch"):
        for threads in (1, 8, 32):
            pairs.append(("%s, %d clients: callback / sync" % (rpc, threads),
                          name % (rpc, 0, threads), name % (rpc, 1, threads),
                          "(choice)"))
    rows = pair_ratios(runs, pairs)
    write("grpc_api", {"machine": machine(), "rows": rows}, ratio_table(
        "gRPC server API: callback over synchronous", rows,
        "Above 1: the callback API served more calls per second."))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def step_sweep(build, seconds, concurrencies, reps):
    mmsimd = os.path.join(build, "server", "mmsimd")
    mmload = os.path.join(build, "client", "mmload")
    port, mport = free_port(), free_port()
    server = subprocess.Popen(
        [mmsimd, "--grpc_address=127.0.0.1:%d" % port,
         "--metrics_address=127.0.0.1:%d" % mport, "--frames=32768"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        results = {}
        for scenario in SCENARIOS:
            for c in concurrencies:
                runs = []
                for _ in range(reps):
                    out = subprocess.run(
                        [mmload, "--server=127.0.0.1:%d" % port,
                         "--scenario=" + scenario, "--concurrency=%d" % c,
                         "--connections=%d" % min(c, 4),
                         "--duration=%ss" % seconds, "--warmup=0.5s",
                         "--output=json", "--max_error_rate=1"],
                        check=True, capture_output=True, text=True).stdout
                    runs.append(json.loads(out))
                results["%s/%d" % (scenario, c)] = runs
                print("%-13s c=%-4d %8.0f calls/s" % (
                    scenario, c,
                    statistics.median(r["calls_per_second"] for r in runs)),
                    file=sys.stderr)
    finally:
        server.terminate()
        server.wait(timeout=60)
    md = ["## mmload sweep", "", machine_line(),
          "", "%d s per run, median of %d runs; `vs ping` is calls/s over "
          "`ping` at the same concurrency (target for touch-like unary "
          "calls: >= 0.85)." % (seconds, reps), "",
          "| scenario | concurrency | calls/s (min-max) | vs ping | p50 | p99 | errors | mmap_sem contended |",
          "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for scenario in SCENARIOS:
        for c in concurrencies:
            runs = results["%s/%d" % (scenario, c)]
            rates = [r["calls_per_second"] for r in runs]
            ping = statistics.median(
                r["calls_per_second"] for r in results["ping/%d" % c])
            mid = sorted(runs, key=lambda r: r["calls_per_second"])[len(runs) // 2]
            contended = sum(l["contended"] for l in mid["server_locks"]
                            if l["lock"] == "mmap_sem")
            md.append("| %s | %d | %.0f (%.0f-%.0f) | %.2f | %.0fus | %.0fus | %d | %d |" % (
                scenario, c, statistics.median(rates), min(rates), max(rates),
                statistics.median(rates) / ping,
                mid["latency_ns"]["p50"] / 1e3, mid["latency_ns"]["p99"] / 1e3,
                mid["errors"], contended))
    md.append("")
    write("mmload", {"machine": machine(), "seconds": seconds,
                     "results": results}, "\n".join(md))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build/release")
    parser.add_argument("--skip", action="append", default=[])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--concurrency", default="1,8,32,128")
    args = parser.parse_args()
    if "sim" not in args.skip:
        subprocess.run([os.path.join(args.build, "bench", "mmsim_bench"),
                        "--mmsim_write_results"], check=True)
    if "scaling" not in args.skip:
        step_scaling(args.build, args.reps)
    if "api" not in args.skip:
        step_api(args.build, args.reps)
    if "sweep" not in args.skip:
        step_sweep(args.build, args.seconds,
                   [int(c) for c in args.concurrency.split(",")], args.reps)


if __name__ == "__main__":
    main()
