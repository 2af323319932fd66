#!/usr/bin/env python3
"""papercast side by side with feed2toot, and against the floor (see bench/README.md).

    python3 bench/run.py                 # everything, default repetitions
    python3 bench/run.py --only announce,unchanged --runs 30
    python3 bench/run.py profiles        # the [profile.release] comparison

Installs what it needs under target/ (feed2toot 0.17 and BeautifulSoup in
target/bench/venv, mastodon-mock 0.6.1 in target/peers/mastodon), builds papercast in
release, serves the corpus on loopback, and prints a table; every figure, with each
run's raw numbers, goes to target/bench/results.json (and a timestamped copy).
"""

import argparse
import datetime
import fcntl
import json
import os
import platform
import secrets
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
TARGET = os.path.join(REPO, "target")
BENCH = os.path.join(TARGET, "bench")
VENV = os.path.join(BENCH, "venv")
PEERS = os.path.join(TARGET, "peers")
MOCK_PACKAGE = "mastodon_mock==0.6.1"
NEW_SLUG = "2025-10-07-potm"  # the new entry: 4 papers, 4 figures in the corpus
FEED = "/feed_rss_created.xml"
TOKEN_ENV = "PAPERCAST_BENCH_TOKEN"
SECTIONS = ["announce", "unchanged", "scale", "extract", "depth", "size"]


def corpus_dir():
    return os.environ.get("PAPERCAST_CORPUS") or os.path.join(
        REPO, "..", "shared", "corpus", "graphcore-research"
    )


def say(*parts):
    print(*parts, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ installing


def install_venv():
    """target/bench/venv with feed2toot and BeautifulSoup, from the pinned requirements."""
    requirements = os.path.join(HERE, "requirements.txt")
    with open(requirements, "rb") as f:
        marker = os.path.join(VENV, "installed-" + hash_hex(f.read()))
    if os.path.isfile(marker):
        return
    if sys.version_info[:2] > (3, 11):
        python = shutil.which("python3.11") or sys.exit(
            "feed2toot 0.17 needs Python <= 3.11: run this script with python3.11"
        )
    else:
        python = sys.executable
    say(f"installing feed2toot and BeautifulSoup into {VENV} ...")
    shutil.rmtree(VENV, ignore_errors=True)
    run_checked([python, "-m", "venv", VENV])
    run_checked(
        [os.path.join(VENV, "bin/pip"), "install", "--quiet", "--disable-pip-version-check",
         "-r", requirements]
    )
    open(marker, "w").close()


def install_mock():
    """target/peers/mastodon, shared with the tests (same marker and lock file)."""
    os.makedirs(PEERS, exist_ok=True)
    venv = os.path.join(PEERS, "mastodon")
    program = os.path.join(venv, "bin/mastodon_mock")
    marker = os.path.join(venv, "installed-" + MOCK_PACKAGE)
    with open(os.path.join(PEERS, "mastodon.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.isfile(marker):
            say(f"installing {MOCK_PACKAGE} into {venv} ...")
            run_checked([os.environ.get("PYTHON", "python3"), "-m", "venv", venv])
            run_checked(
                [os.path.join(venv, "bin/pip"), "install", "--quiet",
                 "--disable-pip-version-check", MOCK_PACKAGE]
            )
            open(marker, "w").close()
    return program


def hash_hex(data):
    import hashlib

    return hashlib.sha256(data).hexdigest()[:16]


def run_checked(argv, **kwargs):
    done = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done


def cargo_build(target_dir=None, env=None, helper=True):
    """Builds papercast (and the extraction helper) in release; returns their paths and
    the papercast build's wall and CPU time (cargo and every rustc it ran). The helper is
    a bench target, so it also builds the dev-dependencies in release."""
    env = dict(os.environ if env is None else env)
    if target_dir:
        env["CARGO_TARGET_DIR"] = target_dir
    built = measure(["cargo", "build", "--release", "--locked", "--bin", "papercast"], REPO,
                    env, timeout=7200)
    built.check("cargo build --release")
    binary = os.path.join(target_dir or TARGET, "release", "papercast")
    if not helper:
        return binary, None, {"wall_s": built.wall, "cpu_s": built.cpu}
    done = run_checked(
        ["cargo", "build", "--release", "--locked", "--bench", "extract_files",
         "--message-format=json"],
        cwd=REPO, env=env,
    )
    helper = None
    for line in done.stdout.splitlines():
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            continue
        if message.get("reason") == "compiler-artifact" and message["target"]["name"] == "extract_files":
            helper = message.get("executable") or helper
    if not helper:
        sys.exit("cargo did not report the extract_files executable")
    return binary, helper, {"wall_s": built.wall, "cpu_s": built.cpu}


# ---------------------------------------------------------------------- measuring


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Measured:
    """One whole process: wall time, CPU and peak RSS from wait4's rusage."""

    def __init__(self, argv, code, start, end, rusage, out, err):
        self.argv, self.code, self.start, self.end = argv, code, start, end
        self.wall = end - start
        self.user, self.sys = rusage.ru_utime, rusage.ru_stime
        self.cpu = self.user + self.sys
        self.maxrss_mb = rusage.ru_maxrss / 1024  # KiB on Linux
        self.out, self.err = out, err

    def row(self):
        return {"wall_s": self.wall, "cpu_s": self.cpu, "user_s": self.user, "sys_s": self.sys,
                "maxrss_mb": self.maxrss_mb, "code": self.code}

    def check(self, what):
        if self.code != 0:
            sys.exit(f"{what}: exit {self.code}\n{self.out[-3000:]}\n{self.err[-3000:]}")


def measure(argv, cwd, env=None, timeout=600):
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=err)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        _, status, rusage = os.wait4(proc.pid, 0)
        end = time.monotonic()
        timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Measured(argv, proc.returncode, start, end, rusage,
                        out.read().decode(errors="replace"), err.read().decode(errors="replace"))


def summary(values):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    q = statistics.quantiles(values, n=4) if len(values) >= 2 else [values[0]] * 3
    median = statistics.median(values)
    return {"median": median, "min": values[0], "max": values[-1], "q1": q[0], "q3": q[2],
            "n": len(values), "spread": (q[2] - q[0]) / median if median else 0.0}


def union_length(intervals):
    total, end = 0.0, None
    for a, b in sorted(intervals):
        if end is None or a > end:
            total += b - a
            end = b
        elif b > end:
            total += b - end
            end = b
    return total


# ------------------------------------------------------------------------ servers


class Servers:
    """The corpus site, mastodon-mock and the logging proxy in front of the mock."""

    def __init__(self, mock_program):
        self.dir = tempfile.mkdtemp(prefix="run-", dir=BENCH)
        self.procs = []
        self.site_port, self.mock_port, self.proxy_port = free_port(), free_port(), free_port()
        self.site = f"http://127.0.0.1:{self.site_port}"
        self.mock = f"http://127.0.0.1:{self.mock_port}"
        self.proxy = f"http://127.0.0.1:{self.proxy_port}"
        self.proxy_log = os.path.join(self.dir, "proxy.jsonl")
        self.site_log = os.path.join(self.dir, "site.jsonl")
        python = sys.executable
        servers = os.path.join(HERE, "servers.py")
        self.spawn("site", [python, servers, "site", "--port", str(self.site_port),
                            "--corpus", corpus_dir(), "--hide-slug", NEW_SLUG,
                            "--log", self.site_log])
        config = os.path.join(self.dir, "mock.toml")
        with open(config, "w") as f:
            f.write(f'media_storage_path = "{self.dir}/media"\n[database]\n'
                    f'path = "{self.dir}/mock.db"\n')
        self.spawn("mock", [mock_program, "serve", "--config", config, "--host", "127.0.0.1",
                            "--port", str(self.mock_port), "--log-level", "warning"])
        self.spawn("proxy", [python, servers, "proxy", "--port", str(self.proxy_port),
                             "--upstream", f"127.0.0.1:{self.mock_port}", "--log", self.proxy_log])
        self.wait(self.site + "/_bench/stats")
        self.wait(self.mock + "/api/v1/instance")
        self.wait(self.proxy + "/api/v1/instance")
        self.proxy_seen = 0

    def spawn(self, name, argv):
        log = open(os.path.join(self.dir, name + ".log"), "w")
        self.procs.append((name, subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                                  stderr=log)))

    def wait(self, url):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for name, proc in self.procs:
                if proc.poll() is not None:
                    sys.exit(f"{name} stopped: {open(os.path.join(self.dir, name + '.log')).read()}")
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return
            except OSError:
                time.sleep(0.1)
        sys.exit(f"{url} did not answer within 60 s")

    def stop(self):
        for _, proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        for _, proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def call(self, base, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def feed(self, state):
        self.call(self.site, "POST", f"/_bench/feed/{state}", {})

    def site_stats(self):
        return self.call(self.site, "GET", "/_bench/stats")

    def reset_site_stats(self):
        self.call(self.site, "POST", "/_bench/stats/reset", {})

    def new_account(self, prefix):
        name = f"{prefix}{secrets.token_hex(4)}"
        return self.call(self.mock, "POST", "/api/v1/_mock/dev_user", {"username": name})["access_token"]

    def read_log(self, path, start, end):
        records = []
        with open(path) as f:
            for line in f:
                record = json.loads(line)
                first = record.get("recv", record.get("start"))
                if start <= first <= end:
                    records.append(record)
        return records


# ---------------------------------------------------------------------- papercast


def papercast_config(directory, servers, sources=None, account=True):
    """A config file with the state database in `directory`."""
    lines = [
        "[store]", f'path = "{directory}/state.db"', "",
        "[fetch]", "timeout_secs = 30", "",
        "[watch]", "jitter_percent = 0", "",
    ]
    if account:
        lines += ["[[accounts]]", 'name = "bench"', 'platform = "mastodon"',
                  f'server = "{servers.proxy}"', f'token_env = "{TOKEN_ENV}"',
                  'language = "en"', 'review = "none"', ""]
    for name, url in sources or [("blog", servers.site + FEED)]:
        lines += ["[[sources]]", f'name = "{name}"', f'feed = "{url}"',
                  'categories = ["Papers of the Month"]', 'poll_interval = "10m"', ""]
    path = os.path.join(directory, "papercast.toml")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return path


def papercast_env(token=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERCAST") and k != "RUST_LOG"}
    if token:
        env[TOKEN_ENV] = token
    return env


def fresh_dir(name):
    path = os.path.join(BENCH, "work", name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def copy_state(source, target):
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(source + suffix):
            shutil.copy(source + suffix, target + suffix)


class PapercastRunner:
    def __init__(self, binary, servers, wrap=()):
        self.binary, self.servers = binary, servers
        # A command prefix for the measured runs (a profiler such as heaptrack).
        self.wrap = list(wrap)
        self.states = {}

    def base_state(self, feed_state):
        """A state database that has seen the feed in `feed_state` (a first poll)."""
        if feed_state not in self.states:
            directory = fresh_dir(f"papercast-base-{feed_state}")
            config = papercast_config(directory, self.servers)
            self.servers.feed(feed_state)
            done = measure([self.binary, "--config", config, "watch", "--once"], directory,
                           papercast_env(self.servers.new_account("pcbase")))
            done.check("papercast first poll")
            self.states[feed_state] = os.path.join(directory, "state.db")
        return self.states[feed_state]

    def run(self, scenario, index):
        """One `watch --once` with fresh state: `announce` (one new entry) or `unchanged`."""
        base = self.base_state("old" if scenario == "announce" else "new")
        directory = fresh_dir(f"papercast-{scenario}-{index}")
        config = papercast_config(directory, self.servers)
        copy_state(base, os.path.join(directory, "state.db"))
        token = self.servers.new_account("pc")
        self.servers.feed("new")
        self.servers.reset_site_stats()
        done = measure(self.wrap + [self.binary, "--config", config, "watch", "--once"],
                       directory, papercast_env(token))
        done.check(f"papercast {scenario}")
        stats = self.servers.site_stats()
        shutil.rmtree(directory, ignore_errors=True)
        if self.wrap:
            log = os.path.join(BENCH, "work", f"wrapped-{scenario}-{index}.log")
            with open(log, "w") as f:
                f.write(done.out + done.err)
            say(f"papercast {scenario} run {index} under {self.wrap[0]}: output in {log}")
        return done, stats


# ---------------------------------------------------------------------- feed2toot


class Feed2tootRunner:
    def __init__(self, servers):
        self.servers = servers
        self.program = os.path.join(VENV, "bin/feed2toot")
        self.caches = {}
        self.dir = fresh_dir("feed2toot")
        app = servers.call(servers.proxy, "POST", "/api/v1/apps",
                           {"client_name": "feed2toot", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                            "scopes": "read write"})
        self.client = os.path.join(self.dir, "client_credentials.txt")
        with open(self.client, "w") as f:
            f.write(f"{app['client_id']}\n{app['client_secret']}\n{servers.proxy}\n")

    def config(self, directory, token):
        user = os.path.join(directory, "user_credentials.txt")
        with open(user, "w") as f:
            f.write(f"{token}\n{self.servers.proxy}\n")
        path = os.path.join(directory, "feed2toot.ini")
        with open(path, "w") as f:
            f.write(
                f"[mastodon]\ninstance_url={self.servers.proxy}\nuser_credentials={user}\n"
                f"client_credentials={self.client}\ntoot_visibility=public\n\n"
                f"[cache]\ncachefile={directory}/feed2toot.db\ncache_limit=10000\n\n"
                f"[lock]\nlock_file={directory}/feed2toot.lock\nlock_timeout=3600\n\n"
                f"[rss]\nuri={self.servers.site}{FEED}\ntoot={{title}} {{link}}\n"
            )
        return path

    def base_cache(self, feed_state):
        if feed_state not in self.caches:
            directory = fresh_dir(f"feed2toot-base-{feed_state}")
            config = self.config(directory, self.servers.new_account("f2tbase"))
            self.servers.feed(feed_state)
            measure([self.program, "-c", config, "--populate-cache"], directory).check(
                "feed2toot --populate-cache")
            self.caches[feed_state] = os.path.join(directory, "feed2toot.db")
        return self.caches[feed_state]

    def run(self, scenario, index):
        base = self.base_cache("old" if scenario == "announce" else "new")
        directory = fresh_dir(f"feed2toot-{scenario}-{index}")
        config = self.config(directory, self.servers.new_account("f2t"))
        shutil.copy(base, os.path.join(directory, "feed2toot.db"))
        self.servers.feed("new")
        self.servers.reset_site_stats()
        done = measure([self.program, "-c", config], directory)
        done.check(f"feed2toot {scenario}")
        stats = self.servers.site_stats()
        shutil.rmtree(directory, ignore_errors=True)
        return done, stats


# ---------------------------------------------------------------- side by side


def chain_of(records, site_records):
    """The Mastodon requests of one run: papercast's time above the server's."""
    if not records:
        return None
    records.sort(key=lambda r: r["recv"])
    start, end = records[0]["recv"], max(r["sent"] for r in records)
    chain = end - start
    server = union_length([(r["up_start"], r["up_end"]) for r in records])
    through_proxy = union_length([(r["recv"], r["sent"]) for r in records])
    inside = [s for s in site_records if start <= s["start"] <= end]
    steps, last = [], start
    for r in records:
        steps.append({"request": f"{r['method']} {r['path']}", "status": r["status"],
                      "gap_before_s": max(0.0, r["recv"] - last),
                      "server_s": r["up_end"] - r["up_start"],
                      "proxy_s": (r["sent"] - r["recv"]) - (r["up_end"] - r["up_start"])})
        last = max(last, r["sent"])
    return {
        "chain_s": chain,
        "server_s": server,
        # Upper bound: the proxy's own handling counted as papercast's.
        "own_s": chain - server,
        # Lower bound: the proxy's own handling counted as the server's.
        "own_excluding_proxy_s": chain - through_proxy,
        "site_in_chain_s": union_length([(s["start"], s["end"]) for s in inside]),
        "site_requests_in_chain": len(inside),
        "requests": len(records),
        "statuses": sum(r["method"] == "POST" and r["path"] == "/api/v1/statuses" for r in records),
        "media": sum(r["method"] == "POST" and r["path"].startswith("/api/v2/media") for r in records),
        "steps": steps,
    }


def side_by_side(servers, papercast, feed2toot, scenario, runs):
    say(f"{scenario}: {runs} runs each, alternating papercast and feed2toot ...")
    papercast.base_state("old" if scenario == "announce" else "new")
    feed2toot.base_cache("old" if scenario == "announce" else "new")
    rows = {"papercast": [], "feed2toot": []}
    for index in range(runs):
        order = [("papercast", papercast), ("feed2toot", feed2toot)]
        if index % 2:
            order.reverse()
        for name, runner in order:
            done, stats = runner.run(scenario, index)
            proxy = servers.read_log(servers.proxy_log, done.start, done.end)
            site = servers.read_log(servers.site_log, done.start, done.end)
            row = done.row()
            row["feed_answers_304"] = stats["paths"].get(FEED, [0, 0])[1]
            row["feed_gets"] = stats["paths"].get(FEED, [0, 0])[0]
            row["site_requests"] = stats["requests"]
            row["mastodon_requests"] = len(proxy)
            statuses = sum(r["method"] == "POST" and r["path"] == "/api/v1/statuses" for r in proxy)
            row["statuses_posted"] = statuses
            expected = (6 if name == "papercast" else 1) if scenario == "announce" else 0
            if statuses != expected:
                sys.exit(f"{name} {scenario} run {index}: posted {statuses} statuses, expected "
                         f"{expected}\n{done.out[-2000:]}\n{done.err[-2000:]}")
            if name == "papercast" and scenario == "announce":
                row["chain"] = chain_of(proxy, site)
            rows[name].append(row)
    return rows


def side_by_side_summary(rows, scenario):
    out = {}
    for name, runs in rows.items():
        out[name] = {key: summary([r[key] for r in runs])
                     for key in ("wall_s", "cpu_s", "maxrss_mb")}
        out[name]["feed_answers_304"] = summary([r["feed_answers_304"] for r in runs])
        out[name]["mastodon_requests"] = summary([r["mastodon_requests"] for r in runs])
    ratios = {}
    for key in ("wall_s", "cpu_s", "maxrss_mb"):
        pairs = [p[key] / f[key] for p, f in zip(rows["papercast"], rows["feed2toot"]) if f[key]]
        ratios[key] = {"of_medians": out["papercast"][key]["median"] / out["feed2toot"][key]["median"],
                       "paired": summary(pairs)}
    out["ratio_papercast_over_feed2toot"] = ratios
    if scenario == "announce":
        chains = [r["chain"] for r in rows["papercast"] if r.get("chain")]
        chain = {key: summary([c[key] for c in chains])
                 for key in ("chain_s", "server_s", "own_s", "own_excluding_proxy_s",
                             "site_in_chain_s", "requests", "statuses", "media")}
        chain["own_share"] = summary([c["own_s"] / c["chain_s"] for c in chains])
        chain["own_share_excluding_proxy"] = summary(
            [c["own_excluding_proxy_s"] / c["chain_s"] for c in chains])
        # The chain's anatomy: per request (same sequence every run), medians.
        steps = []
        if chains and all(len(c["steps"]) == len(chains[0]["steps"]) for c in chains):
            for i, step in enumerate(chains[0]["steps"]):
                steps.append({
                    "request": step["request"],
                    "gap_before_ms": 1000 * statistics.median(c["steps"][i]["gap_before_s"] for c in chains),
                    "server_ms": 1000 * statistics.median(c["steps"][i]["server_s"] for c in chains),
                    "proxy_ms": 1000 * statistics.median(c["steps"][i]["proxy_s"] for c in chains),
                })
        chain["steps"] = steps
        out["papercast_chain"] = chain
    return out


# ------------------------------------------------------------------------ scaling


def curl_floor(servers, count, etag, directory):
    """`count` GETs of the feed (distinct URLs like the sources) over one keep-alive
    connection with curl; conditional when `etag` is given."""
    urls = os.path.join(directory, f"curl-{count}-{'cond' if etag else 'plain'}.txt")
    with open(urls, "w") as f:
        for i in range(count):
            f.write(f'url = "{servers.site}/s/{i}{FEED}"\noutput = "/dev/null"\n')
    argv = ["curl", "--silent", "--show-error", "--write-out", "%{http_code} %{num_connects}\n",
            "--config", urls]
    if etag:
        argv[1:1] = ["--header", f"If-None-Match: {etag}"]
    done = measure(argv, directory)
    done.check("curl floor")
    codes = [line.split() for line in done.out.splitlines() if line.strip()]
    want = "304" if etag else "200"
    if len(codes) != count or any(c[0] != want for c in codes):
        sys.exit(f"curl floor: expected {count} answers {want}, got {done.out[:500]}")
    done.connections = sum(int(c[1]) for c in codes)
    return done


def scaling(servers, binary, counts, runs):
    servers.feed("new")
    with urllib.request.urlopen(servers.site + "/s/0" + FEED) as response:
        etag = response.headers["ETag"]
    results = {}
    for count in counts:
        say(f"scaling: {count} sources, {runs} runs ...")
        directory = fresh_dir(f"scale-{count}")
        sources = [(f"s{i}", f"{servers.site}/s/{i}{FEED}") for i in range(count)]
        rows = []
        for index in range(runs):
            row = {}
            steps = ["papercast", "floor"] if index % 2 == 0 else ["floor", "papercast"]
            for step in steps:
                if step == "floor":
                    plain = curl_floor(servers, count, None, directory)
                    conditional = curl_floor(servers, count, etag, directory)
                    row["floor_first"] = plain.row() | {"connections": plain.connections}
                    row["floor_unchanged"] = conditional.row() | {"connections": conditional.connections}
                    continue
                state = os.path.join(directory, "state")
                shutil.rmtree(state, ignore_errors=True)
                os.makedirs(state)
                config = papercast_config(state, servers, sources, account=False)
                for phase, want in (("first", 0), ("unchanged", count)):
                    servers.reset_site_stats()
                    done = measure([binary, "--config", config, "watch", "--once"], state,
                                   papercast_env(), timeout=1800)
                    done.check(f"papercast watch --once, {count} sources, {phase} poll")
                    stats = servers.site_stats()
                    got = stats["paths"].get("/s/*" + FEED, [0, 0])
                    if got[0] != count or got[1] != want:
                        sys.exit(f"{count} sources, {phase} poll: {got[0]} GETs, {got[1]} answered "
                                 f"304; expected {count} and {want}\n{done.err[-2000:]}")
                    row[f"papercast_{phase}"] = done.row()
            rows.append(row)
        shutil.rmtree(directory, ignore_errors=True)
        result = {"runs": rows}
        for phase in ("first", "unchanged"):
            pc = [r[f"papercast_{phase}"] for r in rows]
            fl = [r[f"floor_{phase}"] for r in rows]
            result[phase] = {
                "papercast_wall_s": summary([r["wall_s"] for r in pc]),
                "papercast_cpu_s": summary([r["cpu_s"] for r in pc]),
                "papercast_maxrss_mb": summary([r["maxrss_mb"] for r in pc]),
                "floor_wall_s": summary([r["wall_s"] for r in fl]),
                "floor_cpu_s": summary([r["cpu_s"] for r in fl]),
                "ratio_to_floor": summary([p["wall_s"] / f["wall_s"] for p, f in zip(pc, fl)]),
                "cpu_ms_per_source": summary([1000 * r["cpu_s"] / count for r in pc]),
                "wall_ms_per_source": summary([1000 * r["wall_s"] / count for r in pc]),
            }
        results[str(count)] = result
    return results


# --------------------------------------------------------------------- extraction


def extraction(helper, runs, py_runs):
    pages_dir = os.path.join(corpus_dir(), "site")
    slugs = sorted(f[:-5] for f in os.listdir(os.path.join(corpus_dir(), "expected")) if f.endswith(".json"))
    python = os.path.join(VENV, "bin/python")
    baseline = os.path.join(HERE, "baseline_extract.py")
    rows = []
    say(f"extraction: {len(slugs)} corpus pages, papercast x{runs}, BeautifulSoup x{py_runs}, alternating ...")
    for slug in slugs:
        page = os.path.join(pages_dir, slug, "index.html")
        rust = json_line(run_checked([helper, "--runs", str(runs), page]).stdout)
        py = json_line(run_checked([python, baseline, "--runs", str(py_runs), page]).stdout)
        rows.append({"slug": slug, "bytes": rust["bytes"], "papercast_s": rust["median_s"],
                     "papercast_outcome": rust["outcome"], "bs4_s": py["median_s"],
                     "bs4_outcome": py["outcome"], "ratio": rust["median_s"] / py["median_s"]})
    total_rust = sum(r["papercast_s"] for r in rows)
    total_py = sum(r["bs4_s"] for r in rows)
    return {"pages": rows, "papercast_per_page_s": summary([r["papercast_s"] for r in rows]),
            "bs4_per_page_s": summary([r["bs4_s"] for r in rows]),
            "ratio_per_page": summary([r["ratio"] for r in rows]),
            "ratio_total": total_rust / total_py}


def json_line(text):
    lines = [l for l in text.splitlines() if l.startswith("{")]
    if not lines:
        sys.exit(f"no result line in: {text[:500]}")
    return json.loads(lines[-1])


def nested_page(depth, directory):
    """The new post's real page with its whole body wrapped in `depth` nested divs."""
    source = os.path.join(corpus_dir(), "site", NEW_SLUG, "index.html")
    with open(source, encoding="utf-8") as f:
        html = f.read()
    open_at = html.index(">", html.index("<body")) + 1
    close_at = html.rindex("</body>")
    html = (html[:open_at] + "<div>" * depth + html[open_at:close_at] + "</div>" * depth
            + html[close_at:])
    folder = os.path.join(directory, f"{NEW_SLUG}")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"nested-{depth}.html")
    with open(path, "w", encoding="utf-8") as f:
        f.write(html)
    return path


def depth_run(helper, depths, timeout):
    directory = fresh_dir("depth")
    python = os.path.join(VENV, "bin/python")
    baseline = os.path.join(HERE, "baseline_extract.py")
    rows = []
    for depth in depths:
        page = nested_page(depth, directory)
        say(f"depth: {depth} nested divs ...")
        row = {"depth": depth, "bytes": os.path.getsize(page)}
        for name, argv in (("papercast", [helper, "--runs", "3", "--max-secs", "20", page]),
                           ("bs4", [python, baseline, "--runs", "3", "--max-secs", "20", page])):
            done = measure(argv, directory, timeout=timeout)
            row[f"{name}_maxrss_mb"] = done.maxrss_mb
            if done.code == 0:
                line = json_line(done.out)
                row[f"{name}_s"] = line["median_s"]
                row[f"{name}_outcome"] = line["outcome"]
            else:
                row[f"{name}_s"] = None
                reason = "timed out" if done.wall >= timeout else f"exit {done.code}"
                row[f"{name}_outcome"] = f"failed ({reason}): {done.err.strip()[-300:]}"
        rows.append(row)
    shutil.rmtree(directory, ignore_errors=True)
    return rows


# ---------------------------------------------------------------------------- size


def binary_size(binary):
    with tempfile.TemporaryDirectory() as tmp:
        stripped = os.path.join(tmp, "papercast")
        run_checked(["strip", "--strip-all", "-o", stripped, binary])
        return {"binary": os.path.getsize(binary), "stripped": os.path.getsize(stripped)}


# -------------------------------------------------------------------------- output


def fmt(value, unit="s"):
    if value is None:
        return "-"
    if unit == "s":
        return f"{value:.3f} s" if value >= 0.1 else f"{value * 1000:.1f} ms"
    if unit == "ms":
        return f"{value:.2f} ms"
    if unit == "MB":
        return f"{value:.1f} MB"
    if unit == "x":
        return f"{value:.3f}x" if value < 10 else f"{value:.1f}x"
    if unit == "%":
        return f"{100 * value:.1f} %"
    return str(value)


def med(s):
    return s["median"] if s else None


def spread(s):
    return f"±{100 * s['spread'] / 2:.0f}%" if s else ""


def print_report(results):
    out = []
    meta = results["machine"]
    out.append(f"papercast bench  {results['started']}  git {results['git']}  "
               f"load {meta['load_before']} -> {meta['load_after']}")
    for scenario, title in (("announce", "(a) one new entry announced"),
                            ("unchanged", "(b) unchanged feed")):
        if scenario not in results:
            continue
        s = results[scenario]["summary"]
        r = s["ratio_papercast_over_feed2toot"]
        out.append(f"\n{title}  (medians of {s['papercast']['wall_s']['n']} alternating runs; "
                   "± = half the interquartile range)")
        out.append(f"  {'':12}{'wall':>18}{'CPU':>18}{'peak RSS':>16}{'feed 304s':>11}{'Mastodon req':>14}")
        for name in ("papercast", "feed2toot"):
            row = s[name]
            out.append(f"  {name:12}{fmt(med(row['wall_s'])) + ' ' + spread(row['wall_s']):>18}"
                       f"{fmt(med(row['cpu_s'])) + ' ' + spread(row['cpu_s']):>18}"
                       f"{fmt(med(row['maxrss_mb']), 'MB'):>16}"
                       f"{med(row['feed_answers_304']):>11.0f}{med(row['mastodon_requests']):>14.0f}")
        out.append(f"  {'ratio':12}{fmt(r['wall_s']['of_medians'], 'x'):>18}"
                   f"{fmt(r['cpu_s']['of_medians'], 'x'):>18}{fmt(r['maxrss_mb']['of_medians'], 'x'):>16}"
                   f"   (paired per run: wall {fmt(med(r['wall_s']['paired']), 'x')}, "
                   f"{fmt(r['wall_s']['paired']['min'], 'x')}..{fmt(r['wall_s']['paired']['max'], 'x')})")
        if scenario == "announce":
            c = s["papercast_chain"]
            out.append(f"  papercast's thread chain (first to last Mastodon request, as the proxy saw it): "
                       f"{fmt(med(c['chain_s']))}, server {fmt(med(c['server_s']))}, "
                       f"papercast's own {fmt(med(c['own_s']))} = {fmt(med(c['own_share']), '%')} of the chain "
                       f"({fmt(med(c['own_share_excluding_proxy']), '%')} if the proxy's handling counts as the "
                       f"server's); {med(c['requests']):.0f} requests, {med(c['statuses']):.0f} statuses, "
                       f"{med(c['media']):.0f} uploads; figure downloads inside it {fmt(med(c['site_in_chain_s']))}")
            if c["steps"]:
                out.append("    request (in order)                                   gap before   server")
                for step in c["steps"]:
                    out.append(f"    {step['request'][:52]:52} {step['gap_before_ms']:8.1f} ms {step['server_ms']:7.1f} ms")
    if "scale" in results:
        out.append("\nMany sources, one loopback host (medians; floor = curl, one keep-alive connection, same URLs)")
        out.append(f"  {'sources':>8} {'poll':10}{'papercast':>12}{'floor':>12}{'ratio':>9}"
                   f"{'CPU':>11}{'CPU/source':>12}{'wall/source':>13}{'peak RSS':>10}")
        for count, result in results["scale"].items():
            for phase in ("first", "unchanged"):
                p = result[phase]
                out.append(f"  {count:>8} {phase:10}{fmt(med(p['papercast_wall_s'])):>12}"
                           f"{fmt(med(p['floor_wall_s'])):>12}{fmt(med(p['ratio_to_floor']), 'x'):>9}"
                           f"{fmt(med(p['papercast_cpu_s'])):>11}{fmt(med(p['cpu_ms_per_source']), 'ms'):>12}"
                           f"{fmt(med(p['wall_ms_per_source']), 'ms'):>13}{fmt(med(p['papercast_maxrss_mb']), 'MB'):>10}")
    if "extract" in results:
        e = results["extract"]
        out.append(f"\nExtraction per corpus page, in-process (median over {len(e['pages'])} pages)")
        out.append(f"  papercast {fmt(med(e['papercast_per_page_s']))}, BeautifulSoup (html.parser) "
                   f"{fmt(med(e['bs4_per_page_s']))}; papercast/BeautifulSoup per page "
                   f"{fmt(med(e['ratio_per_page']), 'x')} (1/{1 / med(e['ratio_per_page']):.0f}; "
                   f"range 1/{1 / e['ratio_per_page']['max']:.0f}..1/{1 / e['ratio_per_page']['min']:.0f}), "
                   f"all pages 1/{1 / e['ratio_total']:.0f}")
    if "depth" in results:
        out.append(f"\nExtraction vs nesting depth ({NEW_SLUG} wrapped in N nested divs)")
        out.append(f"  {'depth':>8}{'bytes':>10}{'papercast':>12}{'per 1k':>10}{'RSS':>9}"
                   f"{'BeautifulSoup':>15}{'per 1k':>10}{'RSS':>9}  outcome")
        for row in results["depth"]:
            per = lambda t: fmt(t / max(row["depth"], 1) * 1000) if t is not None else "-"
            out.append(f"  {row['depth']:>8}{row['bytes']:>10}{fmt(row['papercast_s']):>12}{per(row['papercast_s']):>10}"
                       f"{fmt(row['papercast_maxrss_mb'], 'MB'):>9}{fmt(row['bs4_s']):>15}{per(row['bs4_s']):>10}"
                       f"{fmt(row['bs4_maxrss_mb'], 'MB'):>9}  papercast {row['papercast_outcome'][:60]}; "
                       f"bs4 {row['bs4_outcome'][:60]}")
    if "size" in results:
        s = results["size"]
        out.append(f"\nRelease binary: {s['binary'] / 1e6:.1f} MB as built, {s['stripped'] / 1e6:.1f} MB stripped")
    print("\n".join(out))


def git_describe():
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                           capture_output=True, text=True).stdout.strip()
    return done.stdout.strip() + ("-dirty" if dirty else "")


def loadavg():
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def write_results(results, name="results"):
    os.makedirs(BENCH, exist_ok=True)
    stamp = results["started"].replace(":", "").replace("-", "")
    for path in (os.path.join(BENCH, f"{name}.json"), os.path.join(BENCH, f"{name}-{stamp}.json")):
        with open(path, "w") as f:
            json.dump(results, f, indent=1)
    say(f"results: {os.path.join(BENCH, name + '.json')}")


# ---------------------------------------------------------------------- profiles

PROFILES = {
    # name: [profile.release] overrides (CARGO_PROFILE_RELEASE_<KEY>)
    "default": {},
    "strip": {"STRIP": "symbols"},
    "thin-strip": {"LTO": "thin", "STRIP": "symbols"},
    "fat-cg1-strip": {"LTO": "fat", "CODEGEN_UNITS": "1", "STRIP": "symbols"},
    "fat-cg1-strip-abort": {"LTO": "fat", "CODEGEN_UNITS": "1", "STRIP": "symbols", "PANIC": "abort"},
}


def profiles(args):
    names = args.variants.split(",") if args.variants else list(PROFILES)
    mock = install_mock()
    install_venv()
    builds = {}
    for name in names:
        settings = PROFILES[name]
        # The default profile is the one `cargo build --release` makes in target/.
        target = TARGET if name == "default" else os.path.join(BENCH, "profiles", name)
        record = os.path.join(BENCH, "profiles", f"{name}.build.json")
        env = dict(os.environ)
        for key, value in settings.items():
            env[f"CARGO_PROFILE_RELEASE_{key}"] = value
        clean = not (args.keep_builds and os.path.isfile(record))
        if clean and name != "default":
            shutil.rmtree(target, ignore_errors=True)
        if clean and name == "default" and os.path.isdir(os.path.join(TARGET, "release")):
            sys.exit("profiles: target/release exists, so the default build would not be clean; "
                     "move it away or pass --keep-builds (the default's build time is then unknown)")
        say(f"profile {name}: building {settings or '(no overrides)'} in {target} ...")
        binary, _, build = cargo_build(target, env, helper=False)
        if clean:
            os.makedirs(os.path.dirname(record), exist_ok=True)
            with open(record, "w") as f:
                json.dump(build, f)
        elif os.path.isfile(record):
            with open(record) as f:
                build = json.load(f)
        else:
            build = {"wall_s": None, "cpu_s": None}
        builds[name] = {"settings": settings, "build": build, "size": binary_size(binary),
                        "binary": binary}
    if args.build_only:
        for name, b in builds.items():
            say(f"{name}: {b}")
        return
    results = {"started": datetime.datetime.now().isoformat(timespec="seconds"), "git": git_describe(),
               "machine": {"nproc": os.cpu_count(), "load_before": loadavg()}, "profiles": builds}
    # Speed, alternating between variants: extraction of every corpus page, and announce.
    pages = [os.path.join(corpus_dir(), "site", f[:-5], "index.html")
             for f in sorted(os.listdir(os.path.join(corpus_dir(), "expected"))) if f.endswith(".json")]
    extract_times = {name: [] for name in names}
    announce = {name: [] for name in names}
    servers = Servers(mock)
    try:
        runners = {name: PapercastRunner(builds[name]["binary"], servers) for name in names}
        for round_ in range(args.runs):
            order = names if round_ % 2 == 0 else list(reversed(names))
            for name in order:
                # Whole `papercast extract` processes (start-up included): the helper
                # would need the dev-dependencies built again for every variant.
                total = 0.0
                for page in pages:
                    done = measure([builds[name]["binary"], "extract", page, "--format", "json"], BENCH)
                    done.check(f"papercast extract {page}")
                    total += done.wall
                extract_times[name].append(total)
                run, _ = runners[name].run("announce", round_)
                announce[name].append(run.row())
    finally:
        servers.stop()
    for name in names:
        builds[name]["extract_all_pages_s"] = summary(extract_times[name])
        builds[name]["announce_wall_s"] = summary([r["wall_s"] for r in announce[name]])
        builds[name]["announce_cpu_s"] = summary([r["cpu_s"] for r in announce[name]])
        builds[name]["announce_maxrss_mb"] = summary([r["maxrss_mb"] for r in announce[name]])
    results["machine"]["load_after"] = loadavg()
    write_results(results, "profiles")
    print(f"[profile.release] variants (build: clean `cargo build --release`, wall and CPU minutes; speed: medians of "
          f"{args.runs} alternating rounds; load {results['machine']['load_before']} -> {results['machine']['load_after']})")
    print(f"  {'variant':22}{'build wall/CPU':>15}{'binary':>10}{'stripped':>10}{'extract 21 pages':>18}"
          f"{'announce wall':>15}{'announce CPU':>14}{'peak RSS':>10}")
    for name in names:
        b = builds[name]
        wall, cpu = b["build"]["wall_s"], b["build"]["cpu_s"]
        build = f"{wall / 60:.0f}m/{cpu / 60:.0f}m" if wall else "-"
        print(f"  {name:22}{build:>15}{b['size']['binary'] / 1e6:>8.1f}MB{b['size']['stripped'] / 1e6:>8.1f}MB"
              f"{fmt(med(b['extract_all_pages_s'])):>18}{fmt(med(b['announce_wall_s'])):>15}"
              f"{fmt(med(b['announce_cpu_s'])):>14}{fmt(med(b['announce_maxrss_mb']), 'MB'):>10}")


# -------------------------------------------------------------------------- main


def main():
    parser = argparse.ArgumentParser(description="papercast side by side with feed2toot, and against the floor.")
    parser.add_argument("mode", nargs="?", default="bench", choices=["bench", "profiles"])
    parser.add_argument("--runs", type=int, default=20,
                        help="runs of each program per side-by-side scenario (default 20); "
                             "rounds per variant in `profiles` (default 20)")
    parser.add_argument("--scale", default="1,10,100,300,1000", help="source counts of the scaling run")
    parser.add_argument("--scale-runs", type=int, default=3, help="runs per source count (default 3)")
    parser.add_argument("--extract-runs", type=int, default=50,
                        help="timed extractions per page for papercast (default 50; BeautifulSoup: a fifth)")
    parser.add_argument("--depths", default="1000,10000,100000")
    parser.add_argument("--depth-timeout", type=float, default=300, help="seconds per depth and program")
    parser.add_argument("--only", help=f"comma-separated sections: {','.join(SECTIONS)}")
    parser.add_argument("--binary", help="a papercast binary to measure instead of building one")
    parser.add_argument("--wrap", help="a command prefix for papercast's announce and unchanged runs, "
                                       "e.g. 'heaptrack -o target/bench/heap' (its times then include the tool's)")
    parser.add_argument("--variants", help=f"profiles mode: comma-separated, of {','.join(PROFILES)}")
    parser.add_argument("--keep-builds", action="store_true", help="profiles mode: reuse earlier builds")
    parser.add_argument("--build-only", action="store_true", help="profiles mode: build, measure nothing else")
    args = parser.parse_args()
    os.makedirs(BENCH, exist_ok=True)
    if args.mode == "profiles":
        return profiles(args)

    sections = args.only.split(",") if args.only else SECTIONS
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        sys.exit(f"unknown section(s) {', '.join(sorted(unknown))}; choose from {', '.join(SECTIONS)}")
    mock = install_mock()
    install_venv()
    if args.binary:
        binary = os.path.abspath(args.binary)
        helper = cargo_build()[1] if {"extract", "depth"} & set(sections) else None
    else:
        say("building papercast in release ...")
        binary, helper, _ = cargo_build()
    results = {
        "started": datetime.datetime.now().isoformat(timespec="seconds"),
        "git": git_describe(),
        "binary": binary,
        "machine": {"nproc": os.cpu_count(), "python": platform.python_version(),
                    "load_before": loadavg(),
                    "rustc": subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()},
        "args": vars(args),
    }
    if {"announce", "unchanged", "scale"} & set(sections):
        servers = Servers(mock)
        try:
            papercast = PapercastRunner(binary, servers, shlex.split(args.wrap or ""))
            if {"announce", "unchanged"} & set(sections):
                feed2toot = Feed2tootRunner(servers)
                for scenario in ("announce", "unchanged"):
                    if scenario in sections:
                        rows = side_by_side(servers, papercast, feed2toot, scenario, args.runs)
                        results[scenario] = {"runs": rows, "summary": side_by_side_summary(rows, scenario)}
                        write_results(results)
            if "scale" in sections:
                counts = [int(c) for c in args.scale.split(",")]
                results["scale"] = scaling(servers, binary, counts, args.scale_runs)
                write_results(results)
        finally:
            servers.stop()
    if "extract" in sections:
        results["extract"] = extraction(helper, args.extract_runs, max(1, args.extract_runs // 5))
    if "depth" in sections:
        results["depth"] = depth_run(helper, [int(d) for d in args.depths.split(",")], args.depth_timeout)
    if "size" in sections:
        results["size"] = binary_size(binary)
    results["machine"]["load_after"] = loadavg()
    write_results(results)
    print_report(results)


if __name__ == "__main__":
    main()
