#!/usr/bin/env python3
"""Checks the files under deploy/ with the real tools (standard library only).

  validate_deploy.py static --source-dir DIR [--mmsimd PATH --mmctl PATH]
      promtool check config / check rules, prometheus.sh usage errors and
      shellcheck, every JSON and YAML file parses, the dashboard's structure
      and PromQL syntax, compose and Kubernetes settings (kubectl
      kustomize), systemd-analyze verify and security, and the Dockerfile's
      package lists against deploy/install-deps.sh and the binaries' shared
      libraries.

  validate_deploy.py live --source-dir DIR --mmsimd PATH --mmctl PATH
      starts the real mmsimd on free loopback ports, creates processes with
      mmctl, runs the Dockerfile's HEALTHCHECK command, and checks that
      every metric the dashboard queries is a "# TYPE" line of /metrics;
      then starts deploy/local/prometheus.sh against it, waits (at most
      30 s) for the target to be up, and runs every dashboard query through
      Prometheus's HTTP API (queries of current values must return data).

  validate_deploy.py dashboard --catalog FILE [--source-dir DIR]
      checks the dashboard's metric names against a text list of metrics
      (lines "- mmsim_name{labels}  type ...", as in the metric catalog).

Exit status: 0 all checks passed (skipped checks say why), 1 a check
failed, 2 usage error.
"""

import argparse
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

FAILURES = []
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def ok(msg):
    print(f"ok    {msg}", flush=True)


def fail(msg):
    print(f"FAIL  {msg}", flush=True)
    FAILURES.append(msg)


def skip(msg):
    print(f"skip  {msg}", flush=True)


def run(cmd, **kw):
    """Runs cmd, stdout and stderr together; a missing program is exit 127."""
    try:
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=kw.pop("timeout", 60), **kw)
    except FileNotFoundError as e:
        return subprocess.CompletedProcess(cmd, 127, f"{cmd[0]}: {e.strerror}")


# ---------------------------------------------------------------- dashboard

def dashboard_path(src):
    return os.path.join(src, "deploy", "grafana", "dashboards", "mmsim.json")


def dashboard_panels(dash):
    """Every panel, rows' nested panels included."""
    for p in dash.get("panels", []):
        yield p
        yield from p.get("panels", [])


def dashboard_queries(dash):
    """(where, PromQL) for every panel target and query variable."""
    for p in dashboard_panels(dash):
        for t in p.get("targets", []):
            if "expr" in t:
                yield f'panel "{p.get("title")}" {t.get("refId")}', t["expr"]
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            q = v.get("query")
            yield f'variable "{v["name"]}"', q["query"] if isinstance(q, dict) else q


def concrete(expr):
    """The PromQL Grafana would send, with its variables replaced."""
    m = re.fullmatch(r"\s*label_values\((.*),\s*\w+\)\s*", expr)
    if m:  # a Grafana function, not PromQL: check its selector
        expr = m.group(1)
    for var, value in (("$__rate_interval", "5s"), ("$__range", "1m"),
                       ("$__interval", "1s")):
        expr = expr.replace(var, value)
    return re.sub(r"\$\{?\w+\}?", ".*", expr)


def dashboard_metric_names(dash):
    names = set()
    for _, expr in dashboard_queries(dash):
        names.update(re.findall(r"\bmmsim_[A-Za-z0-9_]+", expr))
    return names


def check_names(dash, types, against):
    """Each name the dashboard uses must be a family in `types` (name ->
    type); a histogram's _bucket/_sum/_count series count as the family."""
    used = dashboard_metric_names(dash)
    missing = set()
    for name in sorted(used):
        if name in types:
            continue
        base = next((name[:-len(s)] for s in HISTOGRAM_SUFFIXES
                     if name.endswith(s)), None)
        if base and types.get(base) in ("histogram", "summary") and not (
                name.endswith("_bucket") and types[base] == "summary"):
            continue
        # A histogram's series are reported as the family: "name (histogram)".
        missing.add(f"{base} (histogram)" if base and base not in types else name)
    if missing:
        fail(f"{len(missing)} dashboard metric families not in {against}: "
             f"{', '.join(sorted(missing))}")
    else:
        ok(f"all {len(used)} metric names of the dashboard are in {against}")
    families = {n for n in types if n.startswith("mmsim_")}
    covered = {n if n in types else n.rsplit("_", 1)[0] for n in used}
    unused = sorted(families - covered)
    if unused:  # not an error: a dashboard need not show everything
        print(f"note  families in {against} without a panel: {', '.join(unused)}")


def catalog_types(path):
    types = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"\s*-\s+(mmsim_[a-z0-9_]+)(\{[^}]*\})?\s+"
                         r"(gauge|counter|histogram|summary)\b", line)
            if m:
                types[m.group(1)] = m.group(3)
    return types


def exposition_types(text):
    return dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.MULTILINE))


def check_dashboard_structure(dash):
    ids = [p.get("id") for p in dashboard_panels(dash)]
    if len(ids) != len(set(ids)) or None in ids:
        fail("dashboard panel ids are missing or not unique")
    bad = []
    for p in dashboard_panels(dash):
        g = p.get("gridPos", {})
        if not all(k in g for k in "hwxy") or g["x"] + g["w"] > 24:
            bad.append(f'{p.get("title")}: gridPos {g}')
        if p.get("type") != "row" and not p.get("targets"):
            bad.append(f'{p.get("title")}: no targets')
        for t in p.get("targets", []):
            if not t.get("expr", "").strip():
                bad.append(f'{p.get("title")}: empty expr')
    if dash.get("uid") != "mmsim":
        bad.append(f'uid is {dash.get("uid")!r}, want "mmsim"')
    if bad:
        fail("dashboard structure: " + "; ".join(bad))
    else:
        n = sum(1 for p in dashboard_panels(dash) if p.get("type") != "row")
        ok(f"dashboard structure ({n} panels, unique ids, targets, 24-column grid)")


def check_promql_syntax(dash, tmp):
    """promtool parses each query as the expression of a recording rule."""
    queries = list(dashboard_queries(dash))
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:q{i}", "expr": concrete(expr)}
        for i, (_, expr) in enumerate(queries)]}]}
    path = os.path.join(tmp, "dashboard-rules.json")  # JSON is YAML
    with open(path, "w") as f:
        json.dump(rules, f)
    r = run(["promtool", "check", "rules", path])
    if r.returncode == 0:
        ok(f"promtool check rules: {len(queries)} dashboard queries parse")
    else:
        where = [queries[int(i)][0] for i in re.findall(r"dashboard:q(\d+)", r.stdout)]
        fail(f"promtool check rules on the dashboard queries ({'; '.join(where)}):\n{r.stdout}")


# ---------------------------------------------------------------- static

def check_promtool_configs(src):
    for name in ("prometheus.yml", "prometheus-compose.yml"):
        path = os.path.join(src, "deploy", "prometheus", name)
        r = run(["promtool", "check", "config", path])
        if r.returncode == 0:
            ok(f"promtool check config {name}")
        else:
            fail(f"promtool check config {name}:\n{r.stdout}")


def check_prometheus_script(src):
    script = os.path.join(src, "deploy", "local", "prometheus.sh")
    problems = []
    if run([script, "--help"]).returncode != 0:
        problems.append("--help does not exit 0")
    for bad in (["--target", "a;b:1"], ["--listen", "nohost"], ["--bogus"]):
        r = run([script, *bad])
        if r.returncode != 2 or "prometheus.sh: " not in r.stdout:
            problems.append(f"{' '.join(bad)}: exit {r.returncode}, want 2 and a message")
    if problems:
        fail("local/prometheus.sh usage errors: " + "; ".join(problems))
    else:
        ok("local/prometheus.sh: --help, and bad arguments exit 2 with a message")
    if shutil.which("shellcheck"):
        r = run(["shellcheck", script, os.path.join(src, "deploy", "install-deps.sh")])
        (ok if r.returncode == 0 else fail)(
            "shellcheck local/prometheus.sh install-deps.sh"
            + ("" if r.returncode == 0 else f":\n{r.stdout}"))
    else:
        skip("shellcheck not installed")


def deploy_files(src, *patterns):
    out = []
    for pat in patterns:
        out += glob.glob(os.path.join(src, "deploy", "**", pat), recursive=True)
    return sorted(out)


def check_json(src):
    for path in deploy_files(src, "*.json"):
        r = run([sys.executable, "-m", "json.tool", path])
        rel = os.path.relpath(path, src)
        (ok if r.returncode == 0 else fail)(f"json.tool {rel}" + (
            "" if r.returncode == 0 else f": {r.stdout.strip()}"))


def load_yaml(src):
    """rel path -> list of documents, or None if PyYAML is missing."""
    try:
        import yaml  # python3-yaml (deploy/install-deps.sh)
    except ImportError:
        skip("YAML parsing: python3-yaml is not installed")
        return None
    docs = {}
    for path in deploy_files(src, "*.yml", "*.yaml"):
        rel = os.path.relpath(path, src)
        try:
            with open(path, encoding="utf-8") as f:
                docs[rel] = [d for d in yaml.safe_load_all(f) if d is not None]
            ok(f"YAML parses: {rel}")
        except yaml.YAMLError as e:
            fail(f"YAML {rel}: {e}")
    return docs


def check_compose(docs):
    compose = docs.get("deploy/compose.yaml")
    if not compose:
        fail("deploy/compose.yaml missing or empty")
        return
    services = compose[0].get("services", {})
    problems = [f"no service {s}" for s in ("mmsimd", "prometheus", "grafana")
                if s not in services]
    for name, svc in services.items():
        for port in svc.get("ports", []):
            if not str(port).startswith("127.0.0.1:"):
                problems.append(f"{name} publishes {port} beyond loopback")
    prom = docs.get("deploy/prometheus/prometheus-compose.yml", [{}])[0]
    targets = [t for sc in prom.get("scrape_configs", [])
               for st in sc.get("static_configs", []) for t in st["targets"]]
    if targets != ["mmsimd:9464"]:
        problems.append(f"prometheus-compose.yml targets {targets}, want mmsimd:9464")
    if problems:
        fail("compose.yaml: " + "; ".join(problems))
    else:
        ok("compose.yaml: mmsimd, prometheus, grafana; ports on 127.0.0.1 only")


def check_k8s(docs):
    objs = [d for rel, ds in docs.items() if rel.startswith("deploy/k8s/")
            for d in ds]
    kinds = {d.get("kind"): d for d in objs}
    problems = [f"no {k}" for k in ("Deployment", "Service", "ServiceMonitor")
                if k not in kinds]
    dep = kinds.get("Deployment")
    if dep:
        pod = dep["spec"]["template"]
        ann = pod["metadata"].get("annotations", {})
        if ann.get("prometheus.io/scrape") != "true":
            problems.append("pod lacks prometheus.io/scrape annotation")
        spec = pod["spec"]
        sec = {**spec.get("securityContext", {})}
        for c in spec["containers"]:
            csec = {**sec, **c.get("securityContext", {})}
            if not csec.get("runAsNonRoot"):
                problems.append(f"container {c['name']} not runAsNonRoot")
            res = c.get("resources", {})
            if not res.get("requests") or not res.get("limits"):
                problems.append(f"container {c['name']} lacks requests/limits")
            for probe in ("livenessProbe", "readinessProbe"):
                if c.get(probe, {}).get("grpc", {}).get("port") != 50051:
                    problems.append(f"container {c['name']} {probe} is not grpc on 50051")
    if problems:
        fail("k8s manifests: " + "; ".join(problems))
    else:
        ok("k8s manifests: Deployment (grpc probes, non-root, resources, "
           "scrape annotations), Service, ServiceMonitor")


def check_systemd(src, mmsimd):
    unit = os.path.join(src, "deploy", "systemd", "mmsimd.service")
    if not shutil.which("systemd-analyze"):
        skip("systemd-analyze verify: systemd-analyze not installed")
        return
    with tempfile.TemporaryDirectory() as d:
        # verify wants ExecStart's binary to exist: point it at a real one.
        exe = os.path.abspath(mmsimd) if mmsimd else "/bin/true"
        with open(unit) as f:
            text = f.read().replace("/usr/local/bin/mmsimd", exe)
        copy = os.path.join(d, "mmsimd.service")
        with open(copy, "w") as f:
            f.write(text)
        r = run(["systemd-analyze", "verify", "--man=no", copy])
        # Offline exposure score, 0 (locked down) to 10; fails above 2.0.
        sec = run(["systemd-analyze", "security", "--offline=yes",
                   "--threshold=20", "--no-pager", copy])
    out = r.stdout.strip()
    # verify exits 0 on unknown keys and bad values but names the unit in
    # its warnings; messages about the host's own units are not ours.
    ours = [l for l in out.splitlines() if "mmsimd.service" in l]
    if r.returncode == 0 and not ours:
        ok("systemd-analyze verify mmsimd.service")
    elif ours:
        fail("systemd-analyze verify mmsimd.service:\n" + "\n".join(ours))
    else:
        skip(f"systemd-analyze verify cannot run here (exit {r.returncode}): {out[:300]}")
    score = re.search(r"Overall exposure level for \S+: (\S+ \S+)", sec.stdout)
    if sec.returncode == 0 and score:
        ok(f"systemd-analyze security --offline: exposure {score.group(1)}")
    elif score:
        fail(f"systemd-analyze security: exposure {score.group(1)} (want <= 2.0)")
    else:
        skip(f"systemd-analyze security --offline: {sec.stdout.strip()[-200:]}")


def shell_words(text, var):
    m = re.search(var + r"=\(\s*(.*?)\)", text, re.DOTALL)
    return set(m.group(1).split()) if m else set()


def dockerfile_packages(text):
    """{stage name: apt packages it installs}."""
    stages, current = {}, None
    for line in text.replace("\\\n", " ").splitlines():
        m = re.match(r"\s*FROM\s+\S+(?:\s+AS\s+(\S+))?", line, re.IGNORECASE)
        if m:
            current = m.group(1) or "final"
            stages[current] = set()
        m = re.search(r"apt-get install (.*?)(?:&&|$)", line)
        if m and current:
            stages[current] |= {w for w in m.group(1).split()
                                if not w.startswith("-")}
    return stages


def check_dockerfile(src, binaries):
    with open(os.path.join(src, "deploy", "Dockerfile")) as f:
        text = f.read()
    with open(os.path.join(src, "deploy", "install-deps.sh")) as f:
        deps = shell_words(f.read(), "PACKAGES")
    stages = dockerfile_packages(text)
    build = stages.get("build", set())
    runtime = stages.get("runtime", set())
    problems = []
    if not build or not runtime:
        problems.append(f"stages 'build' and 'runtime' with apt-get install, found {sorted(stages)}")
    if build - deps:
        problems.append(f"build stage installs {sorted(build - deps)}, "
                        "which deploy/install-deps.sh does not list")
    if "USER mmsim" not in text or "HEALTHCHECK" not in text:
        problems.append("missing USER mmsim or HEALTHCHECK")
    installed = set(runtime)  # what the runtime image will hold
    if run(["apt-cache", "show", "libc6"]).returncode != 0:
        skip("Dockerfile runtime packages: no apt-cache or no package lists here")
    elif runtime:
        known = run(["apt-cache", "show", "--no-all-versions", *sorted(runtime)])
        if known.returncode != 0:
            problems.append(f"runtime packages unknown to apt: {known.stdout[-300:]}")
        deps = run(["apt-cache", "depends", "--recurse", "--no-recommends",
                    "--no-suggests", "--no-conflicts", "--no-breaks",
                    "--no-replaces", "--no-enhances", *sorted(runtime)])
        installed |= set(re.findall(r"^(\S+)$", deps.stdout, re.MULTILINE))
    installed |= {"libc6", "libstdc++6", "libgcc-s1"}  # in debian:12 itself
    binaries = [b for b in binaries if b]
    if binaries and not (shutil.which("readelf") and shutil.which("dpkg")):
        skip("Dockerfile runtime libraries: readelf or dpkg missing")
        binaries = []
    # Each shared library a binary links directly must come from a package
    # the runtime stage installs (or pulls in as a dependency).
    wanted = []  # (binary, soname, candidate paths)
    for binary in binaries:
        needed = re.findall(r"\(NEEDED\).*\[(.*)\]",
                            run(["readelf", "-d", binary]).stdout)
        ldd = dict(re.findall(r"^\s*(\S+) => (\S+)", run(["ldd", binary]).stdout,
                              re.MULTILINE))
        for lib in needed:
            if re.match(r"lib(asan|ubsan|tsan)\.", lib):
                continue  # sanitizer builds only
            if lib not in ldd:
                problems.append(f"ldd does not resolve {lib}")
                continue
            # dpkg knows a file by the path its package ships (usrmerge).
            paths = {ldd[lib], os.path.realpath(ldd[lib])}
            paths |= {p[4:] if p.startswith("/usr/") else "/usr" + p for p in set(paths)}
            wanted.append((binary, lib, paths))
    owners = {}
    if wanted:
        found = run(["dpkg", "-S", *sorted(set().union(*(w[2] for w in wanted)))])
        for pkg, path in re.findall(r"^(\S+?)(?::\w+)?: (\S+)$", found.stdout, re.MULTILINE):
            owners[path] = pkg
    for binary, lib, paths in wanted:
        pkgs = {owners[p] for p in paths if p in owners}
        if not pkgs & installed:
            problems.append(f"{os.path.basename(binary)} needs {lib} from "
                            f"{'/'.join(sorted(pkgs)) or '?'}, not in the runtime stage")
    if problems:
        fail("Dockerfile: " + "; ".join(problems))
    else:
        ok(f"Dockerfile: build packages in install-deps.sh, runtime packages "
           f"{'provide the libraries of ' + ', '.join(map(os.path.basename, binaries)) if binaries else 'known to apt'}")


def check_kubectl(src):
    """kubectl's kustomize renders offline (apply --dry-run needs a server)."""
    if not shutil.which("kubectl"):
        skip("kubectl kustomize: kubectl not installed (manifests checked as YAML only)")
        return
    r = run(["kubectl", "kustomize", os.path.join(src, "deploy", "k8s")], timeout=30)
    kinds = re.findall(r"^kind: (\S+)$", r.stdout, re.MULTILINE)
    if r.returncode == 0 and sorted(kinds) == ["Deployment", "Service"]:
        ok("kubectl kustomize deploy/k8s renders Deployment and Service")
    else:
        fail(f"kubectl kustomize deploy/k8s: exit {r.returncode}, kinds {kinds}:\n{r.stdout[-500:]}")


def static(args):
    src = args.source_dir
    tmp = tempfile.mkdtemp(prefix="mmsim-validate-")
    try:
        check_promtool_configs(src)
        check_prometheus_script(src)
        check_json(src)
        with open(dashboard_path(src)) as f:
            dash = json.load(f)
        check_dashboard_structure(dash)
        check_promql_syntax(dash, tmp)
        docs = load_yaml(src)
        if docs is not None:
            check_compose(docs)
            check_k8s(docs)
        check_kubectl(src)
        check_systemd(src, args.mmsimd)
        check_dockerfile(src, [args.mmsimd, args.mmctl])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- live

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def poll(what, fn, seconds=30):
    """Calls fn until it returns a true value, at most `seconds`."""
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        try:
            v = fn()
            if v:
                return v
        except (OSError, ValueError, KeyError) as e:
            last = e
        time.sleep(0.2)
    fail(f"{what}: not within {seconds}s (last error: {last})")
    return None


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def stop(pid, name):
    """SIGTERM, up to 10 s, then SIGKILL."""
    if not pid or not alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        if not alive(pid):
            return
        time.sleep(0.1)
    print(f"note  {name} (pid {pid}) ignored SIGTERM for 10s; killing it")
    os.kill(pid, signal.SIGKILL)


def mmctl(args, server, *words):
    r = run([args.mmctl, "--server", server, *words], timeout=30)
    if r.returncode != 0:
        fail(f"mmctl {' '.join(words)}: exit {r.returncode}: {r.stdout.strip()}")
    return r.stdout.strip()


def healthcheck_command(src, mmctl, grpc):
    """The Dockerfile's HEALTHCHECK CMD, run with this mmctl and server."""
    with open(os.path.join(src, "deploy", "Dockerfile")) as f:
        text = f.read().replace("\\\n", " ")
    m = re.search(r"^HEALTHCHECK .*?CMD (\[.*\])\s*$", text, re.MULTILINE)
    if not m:
        return None
    return [mmctl if w == "/usr/local/bin/mmctl" else
            grpc if w == "127.0.0.1:50051" else w for w in json.loads(m.group(1))]


def live(args):
    src = args.source_dir
    tmp = tempfile.mkdtemp(prefix="mmsim-live-")
    server = prom_pid = health = None
    try:
        port_file = os.path.join(tmp, "ports")
        with open(os.path.join(tmp, "mmsimd.log"), "w") as log:
            server = subprocess.Popen(
                [args.mmsimd, "--grpc_address=127.0.0.1:0",
                 "--metrics_address=127.0.0.1:0", f"--port_file={port_file}"],
                stdout=log, stderr=subprocess.STDOUT)
        ports = poll("mmsimd writes its --port_file",
                     lambda: server.poll() is None and os.path.exists(port_file)
                     and dict(l.split("=") for l in open(port_file).read().split()))
        if not ports:
            return
        grpc = f"127.0.0.1:{ports['grpc_port']}"
        metrics = f"127.0.0.1:{ports['metrics_port']}"
        ok(f"mmsimd pid {server.pid}: gRPC {grpc}, metrics {metrics}")

        # A couple of processes with mappings, a fault and a fork, so the
        # per-pid series and the event counters exist.
        for _ in range(2):
            pid = mmctl(args, grpc, "create")
            addr = mmctl(args, grpc, "mmap", pid, "--len", "64K", "--prot", "rw-",
                         "--flags", "private,anonymous").split()[0]
            mmctl(args, grpc, "touch", pid, addr, "--access", "write")
            mmctl(args, grpc, "fork", pid)

        health = healthcheck_command(src, args.mmctl, grpc)
        if not health:
            fail("no HEALTHCHECK ... CMD [...] in deploy/Dockerfile")
        else:
            r = run(health, timeout=30)
            (ok if r.returncode == 0 else fail)(
                f"Dockerfile HEALTHCHECK (mmctl {' '.join(health[1:])}) on a running "
                f"mmsimd: exit {r.returncode}" + ("" if r.returncode == 0 else f": {r.stdout}"))

        text = http_get(f"http://{metrics}/metrics")
        with open(dashboard_path(src)) as f:
            dash = json.load(f)
        check_names(dash, exposition_types(text), "mmsimd's /metrics")

        prom_port = free_port()
        pid_file = os.path.join(tmp, "prometheus.pid")
        r = run([os.path.join(src, "deploy", "local", "prometheus.sh"), "--background",
                 "--listen", f"127.0.0.1:{prom_port}", "--target", metrics,
                 "--storage", os.path.join(tmp, "prometheus"), "--pid-file", pid_file],
                timeout=60)
        if os.path.exists(pid_file):
            prom_pid = int(open(pid_file).read())
        if r.returncode != 0:
            fail(f"prometheus.sh --background: exit {r.returncode}:\n{r.stdout}")
            return
        ok(f"prometheus.sh started Prometheus pid {prom_pid} on 127.0.0.1:{prom_port}")
        api = f"http://127.0.0.1:{prom_port}/api/v1"

        def target_up():
            targets = json.loads(http_get(f"{api}/targets"))["data"]["activeTargets"]
            return [t for t in targets if t["labels"].get("job") == "mmsim"
                    and t["health"] == "up" and metrics in t["scrapeUrl"]]
        if poll("Prometheus reports the mmsim target up", target_up):
            ok(f"Prometheus target job=mmsim {metrics} is up")

        def query(expr):
            url = f"{api}/query?" + urllib.parse.urlencode({"query": expr})
            try:
                return json.loads(http_get(url))
            except urllib.error.HTTPError as e:  # 400: a bad expression
                return json.loads(e.read().decode())
        if poll("Prometheus has scraped mmsim_rpcs_total",
                lambda: query("mmsim_rpcs_total")["data"]["result"]):
            ok("Prometheus holds mmsimd's samples (mmsim_rpcs_total)")
        bad, empty = [], []
        queries = list(dashboard_queries(dash))
        for where, expr in queries:
            res = query(concrete(expr))
            if res.get("status") != "success":
                bad.append(f"{where}: {res.get('error')}")
            # A query of current values (no rate, no filter that may match
            # nothing) has data after one scrape; else its panel is blank.
            elif not re.search(r"\brate\(|\bincrease\(|!=", expr) and \
                    not res["data"]["result"]:
                empty.append(where)
        if bad:
            fail("Prometheus rejects dashboard queries: " + "; ".join(bad))
        else:
            ok(f"Prometheus evaluates all {len(queries)} dashboard queries")
        if empty:
            fail("dashboard queries of current values return nothing: " + "; ".join(empty))
        else:
            ok("every dashboard query of current values returns data")
    finally:
        stop(prom_pid, "prometheus")
        if server:
            stop(server.pid, "mmsimd")
            try:
                code = server.wait(timeout=10)
                if code != 0:
                    fail(f"mmsimd exited with {code} after SIGTERM")
            except subprocess.TimeoutExpired:
                fail("mmsimd did not exit")
            if health and server.poll() is not None:
                r = run(health, timeout=30)
                (ok if r.returncode != 0 else fail)(
                    f"Dockerfile HEALTHCHECK on a stopped mmsimd: exit {r.returncode}")
        if FAILURES:
            for name in ("mmsimd.log", "prometheus/prometheus.log"):
                p = os.path.join(tmp, name)
                if os.path.exists(p):
                    print(f"--- last lines of {name}")
                    print("".join(open(p).readlines()[-15:]), end="")
        shutil.rmtree(tmp, ignore_errors=True)


def dashboard(args):
    with open(dashboard_path(args.source_dir)) as f:
        dash = json.load(f)
    check_names(dash, catalog_types(args.catalog), args.catalog)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=("static", "live", "dashboard"))
    p.add_argument("--source-dir", default=os.path.dirname(os.path.dirname(here)))
    p.add_argument("--mmsimd")
    p.add_argument("--mmctl")
    p.add_argument("--catalog")
    args = p.parse_args()
    if args.mode == "live" and not (args.mmsimd and args.mmctl):
        p.error("live needs --mmsimd and --mmctl")
    if args.mode == "dashboard" and not args.catalog:
        p.error("dashboard needs --catalog")
    {"static": static, "live": live, "dashboard": dashboard}[args.mode](args)
    if FAILURES:
        print(f"\n{len(FAILURES)} check(s) failed", flush=True)
        return 1
    print("\nall checks passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
