#!/usr/bin/env python3
"""A city of real Daiban processes on loopback, for the demo (ops/demo_city.py) and the
fault drills (tests/drills/drills.py).

City makes the city CA and the hub's certificate (ops/pki.sh), initialises the hub,
enrols each node with a one-time code, starts `daiban-hub serve` / `daiban-node serve`
as child processes, and puts a FaultProxy (ops/faultproxy.py) on every child -> parent
link so links can be taken down, slowed, reset or cut. It reads the nodes' SQLite stores
read-only to check convergence. Python 3 standard library only.

Every child process is started with PR_SET_PDEATHSIG, so nothing keeps running if the
driver itself dies; City.close() stops them with SIGTERM first.
"""

import ctypes
import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultproxy  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PASSWORD = "daiban-demo"
CITY_REGION = "210900000000"  # 阜新市

_PREFIX_LEN = {"village": 12, "township": 9, "county": 6, "city": 4}
_LETTER = {"village": "v", "township": "t", "county": "c"}


def _die_with_parent():
    # Runs in the child between fork and exec: SIGKILL it when the driver goes away.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def node_id_for(tier, region):
    return _LETTER[tier] + region[: _PREFIX_LEN[tier]]


class Api:
    """The JSON API of one node or the hub (plain HTTP on loopback, bearer token)."""

    def __init__(self, port, user, password=PASSWORD):
        self.base = f"http://127.0.0.1:{port}"
        self.token = None
        self.token = self.call("POST", "/api/login", {"user": user, "password": password})["token"]

    def call(self, method, path, body=None, ok=(200, 201, 202)):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        req.add_header("X-Daiban-Request", "1")
        if self.token:
            req.add_header("Authorization", "Bearer " + self.token)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            text = e.read().decode(errors="replace")
            if e.code in ok:
                return json.loads(text or "{}")
            raise ApiError(e.code, text) from None

    def get(self, path):
        return self.call("GET", path)

    def post(self, path, body):
        return self.call("POST", path, body)


class ApiError(Exception):
    def __init__(self, code, text):
        super().__init__(f"HTTP {code}: {text[:300]}")
        self.code = code
        self.text = text


class Node:
    """One daiban-node (or the hub, tier 'city') of the city."""

    def __init__(self, city, name, tier, region, web_port, sync_port=None):
        self.city = city
        self.name = name
        self.tier = tier
        self.region = region
        self.node_id = "hub" if tier == "city" else node_id_for(tier, region)
        self.web_port = web_port
        self.sync_port = sync_port
        self.data = os.path.join(city.root, name)
        self.proc = None
        self.parent = None
        self.fallback = None
        self.proxy = None  # the FaultProxy on this node's link to its parent
        self.env = {}  # extra environment for serve (e.g. libfaketime)
        self.prefix_cmd = []  # e.g. ["prlimit", "--fsize=..."]
        self.log_path = os.path.join(city.root, name + ".log")
        self.netns = None  # a network namespace the node runs in (drills); reached through the CLI
        self.listen_host = "127.0.0.1"
        self.sync_host = "127.0.0.1"
        self._apis = {}

    @property
    def prefix(self):
        return self.region[: _PREFIX_LEN[self.tier]]

    @property
    def db_path(self):
        return os.path.join(self.data, "hub.db" if self.tier == "city" else "node.db")

    def binary(self):
        return self.city.hub_bin if self.tier == "city" else self.city.node_bin

    def start(self, wait=True):
        assert self.proc is None or self.proc.poll() is not None, self.name + " is running"
        env = dict(os.environ, **self.env)
        log = open(self.log_path, "ab")
        cmd = self._ns() + self.prefix_cmd + [self.binary(), "serve", "--data", self.data]
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                     preexec_fn=_die_with_parent)
        log.close()
        if wait:
            self.wait_up()
        return self

    def _ns(self):
        return ["ip", "netns", "exec", self.netns] if self.netns else []

    def wait_up(self, timeout_s=20):
        deadline = time.time() + timeout_s
        url = f"http://{self.listen_host}:{self.web_port}/api/health"
        while time.time() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log_path}")
            if self.netns:
                probe = ["python3", "-c", f"import urllib.request; urllib.request.urlopen('{url}', timeout=1)"]
                if subprocess.run(self._ns() + probe, capture_output=True).returncode == 0:
                    return
                time.sleep(0.1)
                continue
            try:
                with urllib.request.urlopen(url, timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer on :{self.web_port} in {timeout_s} s; see {self.log_path}")

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout_s=15):
        """SIGTERM, wait; SIGKILL if it does not stop in time. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._apis.clear()
        return self.proc.returncode

    def kill9(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._apis.clear()

    def api(self, user):
        if user not in self._apis:
            self._apis[user] = Api(self.web_port, user)
        return self._apis[user]

    def cli(self, *args, check=True, env=None):
        r = subprocess.run(self._ns() + [self.binary(), *args, "--data", self.data], capture_output=True, text=True,
                           env=dict(os.environ, DAIBAN_PASSWORD=PASSWORD, **(env or {})), timeout=120)
        if check and r.returncode != 0:
            raise RuntimeError(f"{self.binary()} {args[0]} failed ({r.returncode}): {r.stderr.strip()[:500]}")
        return r

    def file_case(self, user, body):
        """Files a case (POST /api/cases, or the CLI inside the node's namespace): the case."""
        if self.netns:
            r = self.cli("case", "file", "--user", user, "--json", json.dumps(body), check=False)
            if r.returncode != 0:
                raise ApiError(0, r.stderr)
            return json.loads(r.stdout)["case"]
        return self.api(user).post("/api/cases", body)["case"]

    def status(self):
        """The node's GET /api/status JSON (through the CLI inside a namespace)."""
        if self.netns:
            return json.loads(self.cli("status").stdout)
        return self.api(self.city.users[self.name]).get("/api/status")

    def sync_once(self):
        """One sync now through the running node. True if it completed."""
        if self.parent is None:
            return True
        try:
            r = self.cli("sync", "--once", check=False)
        except subprocess.TimeoutExpired:
            return False
        return r.returncode == 0

    # ---- read-only views of the store (work while the node runs: WAL) ----

    def _query(self, sql, args=()):
        con = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def case_rows(self):
        """{case_id: (region, digest)} of every case held here."""
        return {c: (r, d) for c, r, d in self._query("SELECT case_id, region, digest FROM cases")}

    def case_digests(self):
        """{case_id: digest} of the cases of this node's subtree."""
        return {c: d for c, (r, d) in self.case_rows().items() if r.startswith(self.prefix)}

    def case_event_ids(self):
        """Ids of the case events (not master data) of this node's subtree."""
        rows = self._query("SELECT id, region, kind FROM events")
        return [i for i, r, k in rows if not k.startswith("master.") and r.startswith(self.prefix)]

    def own_event_ids(self):
        """Ids of the events this node wrote itself (its origin), all incarnations."""
        return [i for (i,) in self._query("SELECT id FROM events WHERE origin = ?", (self.node_id,))]

    def pending(self):
        try:
            return self.status()["pending"]
        except (OSError, ApiError, KeyError, RuntimeError, ValueError):
            return None


class City:
    """Builds and runs a city: hub, counties, townships, villages, with proxies on links."""

    def __init__(self, root, bin_dir, base_port=8700, config=None, sync_interval_s=3, sync_timeout_s=None, log=None):
        self.root = os.path.abspath(root)
        self.hub_bin = os.path.join(bin_dir, "server", "daiban-hub")
        self.node_bin = os.path.join(bin_dir, "node", "daiban-node")
        self.config = config or os.path.join(ROOT, "config")
        self.base = base_port
        self.sync_interval_s = sync_interval_s
        self.sync_timeout_s = sync_timeout_s
        self.nodes = {}  # name -> Node, in creation order (hub first)
        self.users = {}  # name -> the login made there
        self.proxies = []
        self.log = log or (lambda *a: None)
        self._next_port = base_port + 10
        self.hub = None

    def _ports(self, n):
        p = self._next_port
        self._next_port += n
        return p if n == 1 else tuple(range(p, p + n))

    def _run(self, args, **kw):
        r = subprocess.run(args, capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, DAIBAN_PASSWORD=PASSWORD), **kw)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed ({r.returncode}): {r.stderr.strip()[:800]}")
        return r.stdout

    def create_hub(self, supervisor="sup1"):
        os.makedirs(self.root, exist_ok=True)
        pki = os.path.join(self.root, "pki")
        self._run([os.path.join(ROOT, "ops", "pki.sh"), "ca", pki])
        self._run([os.path.join(ROOT, "ops", "pki.sh"), "hub", pki, "--region", CITY_REGION, "--host", "127.0.0.1"])
        hub = Node(self, "hub", "city", CITY_REGION, self.base, self.base + 1)
        self._run([self.hub_bin, "init", "--data", hub.data, "--region", CITY_REGION,
                   "--listen", f"127.0.0.1:{hub.web_port}", "--sync-listen", f"127.0.0.1:{hub.sync_port}",
                   "--pki", pki, "--config", self.config])
        self._run([self.hub_bin, "user", "add", "--data", hub.data, "--name", supervisor, "--role", "supervisor"])
        self.nodes["hub"] = hub
        self.users["hub"] = supervisor
        self.hub = hub
        return hub

    def create_node(self, name, tier, region, parent, user, role, fallback=None, proxy=True,
                    listen_host="127.0.0.1", sync_host="127.0.0.1", parent_host="127.0.0.1", hosts=None, netns=None):
        """Enrols and initialises a node under `parent` (a Node). With proxy, the link to the
        parent goes through a FaultProxy (node.proxy). The hosts are for drills in network
        namespaces: where it listens, where its children reach it, where it reaches its parent."""
        hub = self.hub
        if not hub.running():
            hub.start()  # enrolment is a request to the hub
        web = self._ports(1)
        sync = self._ports(1) if tier != "village" else None
        node = Node(self, name, tier, region, web, sync)
        node.netns = netns
        node.listen_host = listen_host
        node.sync_host = sync_host
        code = self._run([self.hub_bin, "enrol", "--data", hub.data, "--region", region, "--tier", tier]).strip()
        target = parent.sync_port
        if proxy:
            node.proxy = faultproxy.FaultProxy(target_port=parent.sync_port, target_host=parent.sync_host,
                                               listen_port=self.base + 50 + len(self.proxies),
                                               seed=len(self.proxies)).start()
            self.proxies.append(node.proxy)
            target = node.proxy.port
        args = [self.node_bin, "init", "--data", node.data, "--region", region, "--tier", tier,
                "--listen", f"{listen_host}:{web}",
                "--parent-url", f"https://{parent_host}:{target}", "--parent-id", parent.node_id,
                "--enrol-code", code, "--hub-url", f"https://127.0.0.1:{hub.sync_port}",
                "--ca", os.path.join(self.root, "pki", "ca.crt"), "--config", self.config,
                "--sync-interval-s", str(self.sync_interval_s), "--backoff-max-s", "4"]
        if sync:
            args += ["--sync-listen", f"{sync_host}:{sync}"]
        if hosts:
            args += ["--hosts", hosts]
        if self.sync_timeout_s:
            args += ["--sync-timeout-s", str(self.sync_timeout_s)]
        if fallback is not None:
            args += ["--fallback-url", f"https://127.0.0.1:{fallback.sync_port}", "--fallback-id", fallback.node_id]
        self._run(args)
        self._run([self.node_bin, "user", "add", "--data", node.data, "--name", user, "--role", role])
        node.parent = parent
        node.fallback = fallback
        self.nodes[name] = node
        self.users[name] = user
        return node

    def start_all(self):
        for n in self.nodes.values():
            if not n.running():
                n.start(wait=False)
        for n in self.nodes.values():
            n.wait_up()

    def close(self):
        for n in reversed(list(self.nodes.values())):
            try:
                n.stop()
            except Exception:  # noqa: BLE001 - best effort on the way out
                n.kill9()
        for p in self.proxies:
            p.stop()
        self.proxies.clear()

    def children_first(self):
        order = {"village": 0, "township": 1, "county": 2, "city": 3}
        return sorted((n for n in self.nodes.values() if n.tier != "city"), key=lambda n: order[n.tier])

    def sync_round(self):
        """Villages up, then townships, counties; then down again in reverse."""
        up = self.children_first()
        for n in up + list(reversed(up)):
            if n.running():
                n.sync_once()

    # ---- checking ----

    def check(self, expected_event_ids=()):
        """Compares every node with the hub. Returns a dict:
        created   events (case events) known anywhere, plus those the driver was told were stored
        at_hub    of them, at the hub
        duplicates events held twice at the hub (same id), or cases filed twice for one request
        lost      created events not at the hub
        diverged  (node, case) pairs whose digest differs from the hub's, or missing
        """
        hub_ids = self.hub.case_event_ids()
        hub_set = set(hub_ids)
        known = set(expected_event_ids)
        for n in self.nodes.values():
            if n.tier != "city":
                known.update(n.case_event_ids())
        hub_cases = self.hub.case_rows()
        diverged = []
        for n in self.nodes.values():
            if n.tier == "city":
                continue
            mine = n.case_digests()
            for case_id, (region, digest) in hub_cases.items():
                if region.startswith(n.prefix) and mine.get(case_id) != digest:
                    diverged.append((n.name, case_id))
            diverged.extend((n.name, c) for c in mine if c not in hub_cases)
        return {
            "created": len(known),
            "at_hub": len(known & hub_set),
            "duplicates": len(hub_ids) - len(hub_set),
            "lost": len(known - hub_set),
            "diverged": len(diverged),
            "diverged_list": diverged[:10],
        }

    def wait_converged(self, expected_event_ids=(), timeout_s=120):
        """Sync rounds until check() shows nothing lost or diverged, or the time is up."""
        deadline = time.time() + timeout_s
        while True:
            self.sync_round()
            c = self.check(expected_event_ids)
            if (c["lost"] == 0 and c["diverged"] == 0) or time.time() > deadline:
                return c


def summary_line(name, c, extra=""):
    return (f"drill {name}: events created {c['created']}, at hub {c['at_hub']}, duplicates {c['duplicates']}, "
            f"lost {c['lost']}, replicas diverged {c['diverged']}" + (f" ({extra})" if extra else ""))


# ---- realistic residents ----

_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
_GIVEN = ["秀英", "桂兰", "淑珍", "玉兰", "建国", "建华", "国强", "志强", "海燕", "丽娟", "春梅", "红霞", "立新",
          "德胜", "凤芝", "占山", "宝林", "金凤", "永福", "秀云", "文革", "振华", "小红", "晓东", "明", "伟", "芳", "军"]
_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def id_number(rng, area="210921"):
    """A valid 18-character ID number of a resident of `area` (check character computed)."""
    year = rng.randint(1935, 2004)
    month = rng.randint(1, 12)
    day = rng.randint(1, 28)
    body = f"{area}{year:04d}{month:02d}{day:02d}{rng.randint(0, 999):03d}"
    check = "10X98765432"[sum(int(c) * w for c, w in zip(body, _WEIGHTS)) % 11]
    return body + check


def resident(rng, area="210921"):
    return {"applicant_name": rng.choice(_SURNAMES) + rng.choice(_GIVEN),
            "applicant_id": id_number(rng, area),
            "applicant_phone": "1" + rng.choice("3589") + "".join(rng.choice("0123456789") for _ in range(9))}


def load_catalog(config):
    import csv
    with open(os.path.join(config, "catalog", "items.csv"), encoding="utf-8") as f:
        return list(csv.DictReader(f))


def masked(text):
    """Masks ID numbers and phone numbers in free text (for printing)."""
    import re
    text = re.sub(r"\b(\d{6})\d{8}(\d{3}[\dXx])\b", r"\1********\2", text)
    return re.sub(r"\b(1\d{2})\d{4}(\d{4})\b", r"\1****\2", text)


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()[:12]


__all__ = ["City", "Node", "Api", "ApiError", "summary_line", "resident", "id_number", "load_catalog",
           "masked", "random"]
