#!/usr/bin/env python3
"""`make bench`: runs the benchmarks and the mmload sweep, writes tables.

Steps (each can be skipped with --skip NAME):
  sim      mmsim_bench (simulator vs kernel; results/latest.{json,md})
  scaling  scaling_bench: items/s at 2 threads over 1 thread
  api      grpc_api_bench: the callback over the synchronous gRPC API
  sweep    mmload against a fresh mmsimd: every scenario at concurrency
           1, 8, 32, 128; ratios against `ping` at the same concurrency
  pervma   mmload mixed-shared and fault-storm against mmsimd with and
           without --per_vma_lock
  batch    mmload --stream --batch N (the Batch RPC) over unary mmload at
           the same concurrency: operations/s ratio, target >= 20
  h2load   h2load (nghttp2) with pre-encoded gRPC frames against Ping and
           Touch, beside mmload at the same concurrency: the two must agree
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
SCENARIOS = ["ping", "fault-storm", "find-vma", "map-churn", "mixed-shared",
             "private", "fork-exit", "pressure"]
BATCH_SCENARIOS = ["fault-storm", "find-vma", "map-churn"]
BATCH_SIZES = [16, 64, 256]


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


def section(title, intro, header, lines, left=(0,), note=None):
    """A results section in Markdown: title, machine, intro, a table whose
    columns are right-aligned except those in `left`, and a note."""
    md = ["## " + title, "", machine_line(), ""]
    if intro:
        md += [intro, ""]
    md.append("| " + " | ".join(header) + " |")
    md.append("| " + " | ".join("---" if i in left else "---:"
                                for i in range(len(header))) + " |")
    md += ["| " + " | ".join(cells) + " |" for cells in lines]
    md.append("")
    if note:
        md += [note, ""]
    return "\n".join(md)


def ratio_cell(spread_, digits=2):
    """A spread as `median (min-max)`."""
    f = "%%.%df" % digits
    return (f + " (" + f + "-" + f + ")") % (
        spread_["median"], spread_["min"], spread_["max"])


def ratio_table(title, rows, note):
    return section(
        title, None,
        ["what", "baseline items/s", "items/s", "ratio (median; min-max)",
         "target"],
        [[r["what"], "%.0f" % r["baseline"]["median"],
          "%.0f" % r["value"]["median"], ratio_cell(r["ratio"]), r["target"]]
         for r in rows],
        left=(0, 4), note=note)


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
        ("faults, one mm, per-VMA lock", name % ("FaultsOneMmPerVma", 1),
         name % ("FaultsOneMmPerVma", 2), "(reported)"),
        ("faults beside a writer, per-VMA lock",
         name % ("MixedOneMmPerVma", 1), name % ("MixedOneMmPerVma", 2),
         "(reported)"),
        ("per-VMA lock over mmap_sem: faults beside a writer (2 threads)",
         name % ("MixedOneMm", 2), name % ("MixedOneMmPerVma", 2),
         "> 1 (raises)"),
    ]
    rows = pair_ratios(runs, pairs)
    write("scaling", {"machine": machine(), "rows": rows}, ratio_table(
        "In-process scaling: 2 threads over 1", rows,
        "Items/s over both threads; ratio = value / baseline of the same "
        "repetition (threads:2 over threads:1, or per-VMA lock over "
        "mmap_sem)."))


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


def pin(cpus):
    """A taskset prefix that runs a command on `cpus` (e.g. "0"), or none."""
    return ["taskset", "-c", cpus] if cpus else []


def start_mmsimd(build, *flags, cpus=None):
    """A fresh mmsimd on free loopback ports; returns (process, port)."""
    port, mport = free_port(), free_port()
    server = subprocess.Popen(
        pin(cpus) + [os.path.join(build, "server", "mmsimd"),
         "--grpc_address=127.0.0.1:%d" % port,
         "--metrics_address=127.0.0.1:%d" % mport, "--frames=32768"]
        + list(flags),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    return server, port


def mmload(build, port, seconds, *flags, cpus=None):
    out = subprocess.run(
        pin(cpus) + [os.path.join(build, "client", "mmload"),
         "--server=127.0.0.1:%d" % port, "--duration=%ss" % seconds,
         "--warmup=0.5s", "--output=json", "--max_error_rate=1"] + list(flags),
        check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def step_sweep(build, seconds, concurrencies, reps):
    server, port = start_mmsimd(build)
    try:
        results = {}
        for scenario in SCENARIOS:
            for c in concurrencies:
                runs = [mmload(build, port, seconds, "--scenario=" + scenario,
                               "--concurrency=%d" % c,
                               "--connections=%d" % min(c, 4))
                        for _ in range(reps)]
                for r in runs:  # the percentiles stay; the buckets weigh MBs
                    r.pop("histogram_ns", None)
                results["%s/%d" % (scenario, c)] = runs
                print("%-13s c=%-4d %8.0f calls/s" % (
                    scenario, c,
                    statistics.median(r["calls_per_second"] for r in runs)),
                    file=sys.stderr)
    finally:
        server.terminate()
        server.wait(timeout=60)
    write("mmload", {"machine": machine(), "seconds": seconds,
                     "results": results},
          sweep_markdown(results, seconds, concurrencies, reps))


def sweep_markdown(results, seconds, concurrencies, reps):
    lines = []
    for scenario in SCENARIOS:
        for c in concurrencies:
            runs = results["%s/%d" % (scenario, c)]
            rates = [r["calls_per_second"] for r in runs]
            ping = statistics.median(
                r["calls_per_second"] for r in results["ping/%d" % c])
            mid = sorted(runs, key=lambda r: r["calls_per_second"])[len(runs) // 2]
            contended = sum(l["contended"] for l in mid["server_locks"]
                            if l["lock"] == "mmap_sem")
            lines.append([
                scenario, "%d" % c,
                "%.0f (%.0f-%.0f)" % (statistics.median(rates), min(rates),
                                      max(rates)),
                "%.2f" % (statistics.median(rates) / ping),
                "%.0fus" % (mid["latency_ns"]["p50"] / 1e3),
                "%.0fus" % (mid["latency_ns"]["p99"] / 1e3),
                "%d" % mid["errors"], "%d" % contended])
    return section(
        "mmload sweep",
        "%d s per run, median of %d runs; `vs ping` is calls/s over "
        "`ping` at the same concurrency (target for touch-like unary "
        "calls: >= 0.85)." % (seconds, reps),
        ["scenario", "concurrency", "calls/s (min-max)", "vs ping", "p50",
         "p99", "errors", "mmap_sem contended"], lines)


def step_batch(build, seconds, concurrency, reps):
    server, port = start_mmsimd(build)
    rows = []
    try:
        for scenario in BATCH_SCENARIOS:
            common = ["--scenario=" + scenario,
                      "--concurrency=%d" % concurrency,
                      "--connections=%d" % min(concurrency, 4)]
            unary, batched = [], {n: [] for n in BATCH_SIZES}
            for _ in range(reps):  # interleaved: each ratio from one round
                unary.append(mmload(build, port, seconds, *common))
                for n in BATCH_SIZES:
                    batched[n].append(mmload(build, port, seconds, *common,
                                             "--stream", "--batch=%d" % n))
            u = [r["calls_per_second"] for r in unary]
            for n in BATCH_SIZES:
                b = [r["calls_per_second"] for r in batched[n]]
                rows.append({"scenario": scenario, "batch": n,
                             "unary": spread(u), "batched": spread(b),
                             "ratio": spread([x / y for x, y in zip(b, u)]),
                             "errors": sum(r["errors"] for r in batched[n])})
                print("%-13s batch %-4d %.1fx" % (
                    scenario, n, rows[-1]["ratio"]["median"]), file=sys.stderr)
    finally:
        server.terminate()
        server.wait(timeout=60)
    write("batch", {"machine": machine(), "rows": rows}, section(
        "Batch stream over unary calls",
        "mmload at concurrency %d, %g s per run, %d rounds; ratio = "
        "operations/s of `--stream --batch N` over unary calls in the "
        "same round (target: >= 20)." % (concurrency, seconds, reps),
        ["scenario", "batch", "unary ops/s", "batched ops/s",
         "ratio (median; min-max)", "errors"],
        [[r["scenario"], "%d" % r["batch"], "%.0f" % r["unary"]["median"],
          "%.0f" % r["batched"]["median"], ratio_cell(r["ratio"], 1),
          "%d" % r["errors"]] for r in rows]))


def step_pervma(build, seconds, reps):
    """mixed-shared and fault-storm over RPC against mmsimd with and
    without --per_vma_lock, alternating servers round by round."""
    servers = {False: start_mmsimd(build), True: start_mmsimd(build,
                                                               "--per_vma_lock")}
    rows = []
    try:
        for scenario in ("mixed-shared", "fault-storm"):
            for c in (8, 32):
                runs = {False: [], True: []}
                for _ in range(reps):
                    for mode in (False, True):
                        runs[mode].append(mmload(
                            build, servers[mode][1], seconds,
                            "--scenario=" + scenario, "--concurrency=%d" % c,
                            "--connections=%d" % min(c, 4)))
                base = [r["calls_per_second"] for r in runs[False]]
                vma = [r["calls_per_second"] for r in runs[True]]
                rows.append({"scenario": scenario, "concurrency": c,
                             "mmap_sem": spread(base), "per_vma": spread(vma),
                             "ratio": spread([v / b for v, b in zip(vma, base)]),
                             "errors": sum(r["errors"] for m in runs
                                           for r in runs[m])})
    finally:
        for server, _ in servers.values():
            server.terminate()
            server.wait(timeout=60)
    write("pervma", {"machine": machine(), "rows": rows}, section(
        "Per-VMA lock mode over RPC",
        "mmload against two mmsimd, one with `--per_vma_lock`, %g s per "
        "run, %d alternating rounds; ratio = calls/s with per-VMA locks "
        "over calls/s with mmap_sem in the same round." % (seconds, reps),
        ["scenario", "concurrency", "mmap_sem calls/s", "per-VMA calls/s",
         "ratio (median; min-max)", "errors"],
        [[r["scenario"], "%d" % r["concurrency"],
          "%.0f" % r["mmap_sem"]["median"], "%.0f" % r["per_vma"]["median"],
          ratio_cell(r["ratio"]), "%d" % r["errors"]] for r in rows]))


def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def grpc_frame(message):
    """A gRPC length-prefixed message: flag 0 (uncompressed), big-endian
    length, the serialized protobuf."""
    return b"\x00" + len(message).to_bytes(4, "big") + message


def touch_request(pid, addr):
    # TouchRequest{pid = 1 (int32), addr = 2 (uint64), access = 3 (READ=1)}
    return (b"\x08" + varint(pid) + b"\x10" + varint(addr) + b"\x18\x01")


def h2load(port, rpc, path, seconds, streams, cpus=None):
    """h2load's requests/s and status line for one pre-encoded call."""
    out = subprocess.run(
        pin(cpus) + ["h2load", "-D", "%g" % seconds, "--warm-up-time=1",
         "-c", "1", "-m", str(streams),
         "-H", "content-type: application/grpc", "-H", "te: trailers",
         "-d", path,
         "http://127.0.0.1:%d/mmsim.v1.MemoryManager/%s" % (port, rpc)],
        check=True, capture_output=True, text=True).stdout
    rps, status = None, None
    for line in out.splitlines():
        if line.startswith("finished in"):
            rps = float(line.split(",")[1].split()[0])
        if line.startswith("status codes:"):
            status = line.strip()
    return rps, status


def step_h2load(build, seconds, streams, reps):
    mmctl = os.path.join(build, "client", "mmctl")
    # The server on CPU 0, the load generators on CPU 1: each client's own
    # CPU cost then does not come out of the server's, so both measure the
    # server (on one CPU) rather than how light the client is.
    two = (os.cpu_count() or 1) >= 2
    server_cpu, client_cpu = ("0", "1") if two else (None, None)
    server, port = start_mmsimd(build, cpus=server_cpu)
    rows = []
    try:
        ctl = [mmctl, "--server=127.0.0.1:%d" % port]
        pid = int(subprocess.run(ctl + ["create"], check=True,
                                 capture_output=True, text=True).stdout)
        addr = int(subprocess.run(
            ctl + ["mmap", str(pid), "--len", "4K", "--prot", "rw-",
                   "--flags", "private,anonymous,populate"],
            check=True, capture_output=True, text=True).stdout, 16)
        bodies = {"Ping": grpc_frame(b""),
                  "Touch": grpc_frame(touch_request(pid, addr))}
        with tempfile.TemporaryDirectory() as tmp:
            for rpc, body in bodies.items():
                path = os.path.join(tmp, rpc + ".bin")
                with open(path, "wb") as f:
                    f.write(body)
                scenario = "ping" if rpc == "Ping" else "fault-storm"
                h2, ml, status = [], [], None
                for _ in range(reps):  # interleaved rounds
                    rps, status = h2load(port, rpc, path, seconds, streams,
                                         cpus=client_cpu)
                    h2.append(rps)
                    ml.append(mmload(
                        build, port, seconds, "--scenario=" + scenario,
                        "--concurrency=%d" % streams, "--connections=1",
                        "--pages=1", cpus=client_cpu)["calls_per_second"])
                rows.append({"rpc": rpc, "streams": streams,
                             "h2load": spread(h2), "mmload": spread(ml),
                             "ratio": spread([m / h for m, h in zip(ml, h2)]),
                             "h2load_status": status})
    finally:
        server.terminate()
        server.wait(timeout=60)
    write("h2load", {"machine": machine(), "rows": rows}, section(
        "h2load cross-check",
        "One connection, %d streams (h2load `-c 1 -m %d`; mmload "
        "`--connections 1 --concurrency %d`), %g s each, %d interleaved "
        "rounds, medians; mmsimd pinned to CPU 0 and the client to CPU 1 "
        "(`taskset`). mmload's fault-storm with `--pages 1` sends the "
        "same Touch as h2load's pre-encoded frame. Target: the ratio "
        "within 0.8-1.2." % (streams, streams, streams, seconds, reps),
        ["RPC", "h2load req/s", "mmload calls/s", "mmload / h2load (min-max)",
         "h2load status"],
        [[r["rpc"], "%.0f" % r["h2load"]["median"],
          "%.0f" % r["mmload"]["median"], ratio_cell(r["ratio"]),
          r["h2load_status"]] for r in rows], left=(0, 4)))


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
    if "pervma" not in args.skip:
        step_pervma(args.build, args.seconds, args.reps)
    if "batch" not in args.skip:
        step_batch(args.build, args.seconds, 8, args.reps)
    if "h2load" not in args.skip:
        step_h2load(args.build, args.seconds, 8, args.reps)


if __name__ == "__main__":
    main()
