#!/usr/bin/env python3
"""Daiban's side of the side-by-side replication benchmark: real processes, real HTTPS.

  python3 tests/bench/wire_bench.py --bin build-release --work /tmp/daiban-bench/wire \
      --cases 10000 --scenario all [--port 8900] [--refile] [--noop-rounds 15]

A city on loopback made with ops/city.py: the hub, the county 210921000000, the township
210921100000 (阜新镇) and the village 210921100202 (他本扎兰村), each a real `daiban-hub` /
`daiban-node serve` process with its own store and certificate (city CA from ops/pki.sh,
enrolled with one-time codes), syncing over HTTPS with mutual TLS. Every child -> parent link
goes through a FaultProxy (ops/faultproxy.py), which takes the link down and up and counts the
bytes that cross it both ways (TLS records included).

Setup (not timed, done once per --cases/--seed/--port and kept in WORK/snap-*): the cases of
tests/bench/cases.py --n N --seed 7 are filed at the village through POST /api/cases (user
agent1) while its link to the township is down, so they queue; then every process stops and
the data directories are copied. Every scenario starts from a fresh copy of that snapshot.

The township's own upward sync is kept off during every measurement: the county is not
started and the township -> county proxy refuses connections, so the township's retries fail
at once (a refused connect) and do not compete for the two cores (JSON field "relay").

The village is set up with sync_interval_s = 86400, so its background loop adds no sync of
its own to a measurement; every sync measured is `POST /api/sync?wait=1` on the village (what
`daiban-node sync --once` calls), timed from the request to the reply, which the node sends
after the last exchange (the township acknowledges an exchange after its durable commit).
After a push the township's store is read read-only (sqlite3, WAL) to check it holds every
event of the village.

Scenarios (one JSON object per scenario per line on stdout; progress on stderr):
  push         the village pushes its N queued cases (2 events each) to the township
  noop         sync rounds with nothing to move: township holding 5 cases (10 events) and N cases;
               with --noop-fill F, also after F events of the township's other villages are added
               to its stopped store by tests/fill_store (made in-process: filing a million
               events through the API would take about an hour)
  incremental  after the push, 1% of the cases get a note correction at the village; the next sync
  conflict     link down; the agent and the township clerk correct applicant_phone of the same
               min(1000, N) cases to different values; link up; sync until quiet; conflicts counted
               through GET /api/cases?view=conflicts at both
  pull         the village restored (`daiban-node restore`) from a backup taken right after its
               init (empty store) pulls all N cases back from the township (peak RSS: VmHWM)
  footprint    binary sizes; village VmRSS idle after start (empty), after the N filings, and
               after a restart holding N cases
  all          every scenario above

Python 3 standard library only. ID numbers and phone numbers are never printed whole.
"""

import argparse
import fcntl
import http.client
import json
import os
import shutil
import socket
import statistics
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in tests/bench or ops
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "ops"))
sys.path.insert(0, HERE)
import city as citylib  # noqa: E402
import faultproxy  # noqa: E402
import cases as caselib  # noqa: E402

COUNTY = "210921000000"
TOWNSHIP = "210921100000"
VILLAGE = caselib.VILLAGE  # 210921100202
SCENARIOS = ("push", "noop", "incremental", "conflict", "pull", "footprint")
# "Link down" is a black hole (FaultProxy drop): connections are accepted and never answered.
# A refused connect would be the other way, but with it every local write triggers a sync
# attempt that reads, parses and compresses up to 1,000 queued events before the connect
# fails (see the report), which would make the setup, and the township's relay, cost CPU:
# with a black hole the node's one attempt waits (sync_timeout_s = PARK_S) and further
# triggers are coalesced.
OFFLINE = "drop"
PARK_S = 3600
RELAY = ("parked: county not started, the township->county link black-holes (the township's one upward "
         "exchange waits; no relay work during the measurement)")
SYNC_TIMEOUT_S = 900  # one POST /api/sync?wait=1 (a 100,000-case push is ~200 exchanges)


def log(text):
    print("[wire_bench] " + citylib.masked(text), file=sys.stderr, flush=True)


def emit(obj):
    print(json.dumps(obj, ensure_ascii=False), flush=True)


def proc_cpu_s(pid):
    """User + system CPU seconds a process has used so far (None if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def proc_kb(pid, key):
    """VmRSS / VmHWM of a process in kB (None if it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class Client:
    """The JSON API of one node (loopback, bearer token). One connection per request, closed
    after the reply: with keep-alive, the node's reply written in two segments meets the
    client's delayed ACK (Nagle), and every request then waits ~40 ms."""

    def __init__(self, port, user, timeout_s=60):
        self.port, self.timeout_s = port, timeout_s
        self.token = None
        self.token = self.call("POST", "/api/login", {"user": user, "password": citylib.PASSWORD})["token"]

    def call(self, method, path, body=None, timeout_s=None):
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "X-Daiban-Request": "1", "Connection": "close"}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout_s or self.timeout_s)
        try:
            conn.request(method, path, body=data, headers=headers)
            r = conn.getresponse()
            text = r.read()
        finally:
            conn.close()
        if r.status not in (200, 201, 202):
            raise citylib.ApiError(r.status, text.decode(errors="replace"))
        return json.loads(text or b"{}")

    def close(self):
        pass


class Bench:
    def __init__(self, args):
        self.a = args
        self.n = args.cases
        self.work = os.path.abspath(args.work)
        self.live = os.path.join(self.work, "live")
        self.snap = os.path.join(self.work, f"snap-n{self.n}-s{args.seed}-p{args.port}")
        self.empty_snap = os.path.join(self.work, f"snap-empty-p{args.port}")
        self.city = None
        self.clients = {}
        self.meta = None
        self.failures = []  # what did not hold (a scenario's own check); exit 1 if any

    # ---- the city ----

    def _new_city(self):
        return citylib.City(self.live, self.a.bin, base_port=self.a.port, sync_interval_s=86400,
                            sync_timeout_s=PARK_S, log=lambda *x: None)

    def build_fresh(self):
        """A new city in WORK/live: hub, county, township, village (no fallback: a village whose
        township is down must not push to the county instead)."""
        shutil.rmtree(self.live, ignore_errors=True)
        c = self._new_city()
        self.city = c
        log("making a new city (city CA, hub, enrolment of the county, the township and the village)")
        c.create_hub()
        county = c.create_node("county", "county", COUNTY, c.hub, "clerk1", "clerk")
        town = c.create_node("town", "township", TOWNSHIP, county, "clerk1", "clerk")
        c.create_node("village", "village", VILLAGE, town, "agent1", "agent")
        layout = []
        for name, node in c.nodes.items():
            layout.append({"name": name, "tier": node.tier, "region": node.region, "web": node.web_port,
                           "sync": node.sync_port, "parent": node.parent.name if node.parent else None,
                           "proxy": node.proxy.port if node.proxy else None, "user": c.users[name]})
        return layout

    def build_from(self, src, layout):
        """WORK/live := a copy of a snapshot; the same ports and proxies as when it was made."""
        self.stop()
        shutil.rmtree(self.live, ignore_errors=True)
        subprocess.run(["cp", "-a", src, self.live], check=True, timeout=600)
        c = self._new_city()
        self.city = c
        for i, e in enumerate(layout):
            tier = e["tier"]
            node = citylib.Node(c, e["name"], tier, e["region"], e["web"], e["sync"])
            if tier == "city":
                c.hub = node
            else:
                node.parent = c.nodes[e["parent"]]
                node.proxy = faultproxy.FaultProxy(target_port=node.parent.sync_port, listen_port=e["proxy"],
                                                   seed=i).start()
                c.proxies.append(node.proxy)
            c.nodes[e["name"]] = node
            c.users[e["name"]] = e["user"]
        return c

    def node(self, name):
        return self.city.nodes[name]

    def client(self, name, user=None):
        user = user or self.city.users[name]
        key = (name, user)
        if key not in self.clients:
            self.clients[key] = Client(self.node(name).web_port, user)
        return self.clients[key]

    def start(self, *names, village_link=OFFLINE):
        """Starts the named nodes with the township's upward link black-holed and the county
        stopped (the township's one upward exchange is parked; see RELAY)."""
        c = self.city
        c.nodes["town"].proxy.set_mode(OFFLINE)
        c.nodes["county"].proxy.set_mode("down")
        c.nodes["village"].proxy.set_mode(village_link)
        for n in names:
            c.nodes[n].start(wait=False)
        for n in names:
            c.nodes[n].wait_up(timeout_s=60)

    def links_down(self):
        """Resets every link (a parked exchange fails at once) so that the nodes stop promptly."""
        if self.city is not None:
            for p in self.city.proxies:
                p.set_mode("down")

    def stop(self):
        self.links_down()
        for cl in self.clients.values():
            cl.close()
        self.clients.clear()
        if self.city is not None:
            self.city.close()
            self.city = None

    # ---- what the stores hold (read-only) ----

    def village_event_ids(self, name):
        rows = self.node(name)._query("SELECT id FROM events WHERE region = ? AND kind NOT LIKE 'master.%'",
                                      (VILLAGE,))
        return {r[0] for r in rows}

    def total_events(self, name):
        return self.node(name)._query("SELECT count(*) FROM events")[0][0]

    # ---- syncing ----

    def sync_wait(self):
        """One POST /api/sync?wait=1 on the village: (seconds, reply)."""
        cl = self.client("village")
        t0 = time.perf_counter()
        r = cl.call("POST", "/api/sync?wait=1", timeout_s=SYNC_TIMEOUT_S)
        return time.perf_counter() - t0, r

    def timed_sync(self, label, link_up=False):
        """Syncs the village until a reply says complete with nothing pending (at most 20 calls,
        SYNC_TIMEOUT_S each). With link_up, the clock starts when the village's link comes up
        (the village's own background loop may then start the sync before our call does; our
        call waits for it, so the time still ends when everything has moved). Returns the
        totals, the proxy's byte counts, and what each store gained (read-only sqlite)."""
        p = self.node("village").proxy
        town0 = len(self.village_event_ids("town"))
        village0 = len(self.village_event_ids("village"))
        total = {"pushed": 0, "pulled": 0, "rounds": 0, "calls": 0, "errors": 0}
        last = None
        if link_up:
            self.unpark()
        s0 = p.stats()
        t0 = time.perf_counter()
        if link_up:
            p.set_mode("pass")
        for _ in range(20):
            try:
                _, r = self.sync_wait()
            except citylib.ApiError as e:
                total["errors"] += 1
                log(f"{label}: sync refused: {e}")
                time.sleep(0.5)
                continue
            total["calls"] += 1
            for k in ("pushed", "pulled", "rounds"):
                total[k] += int(r.get(k, 0))
            last = r
            if r.get("complete") and r.get("pending", 1) == 0:
                break
        total["seconds"] = time.perf_counter() - t0
        s1 = p.stats()
        total["bytes_up"] = s1["bytes_up"] - s0["bytes_up"]
        total["bytes_down"] = s1["bytes_down"] - s0["bytes_down"]
        total["connections"] = s1["connections"] - s0["connections"]
        total["complete"] = bool(last and last.get("complete") and last.get("pending", 1) == 0)
        total["town_gained"] = len(self.village_event_ids("town")) - town0
        total["village_gained"] = len(self.village_event_ids("village")) - village0
        return total

    def unpark(self):
        """Before the link comes up: the village's parked exchange (black-holed link) is reset,
        so that its background loop, woken by the local work that waited, tries once more at
        once, is refused, and goes to its backoff pause. The sync measured next is then ours
        alone (a background try that comes during it waits for it and runs after the clock
        stopped)."""
        self.node("village").proxy.set_mode("down")
        cl = self.client("village")
        deadline = time.time() + 10
        while time.time() < deadline:
            sy = cl.call("GET", "/api/status").get("sync", {})
            if not sy.get("running") and sy.get("last_error") and sy.get("next_try_s", 0) >= 0:
                break
            time.sleep(0.05)
        time.sleep(0.2)

    def quiesce(self):
        """Makes the village's background loop do its one successful sync now, so that it then
        sleeps sync_interval_s (a day) and adds nothing to the next measurement."""
        cl = self.client("village")
        deadline = time.time() + 60
        triggered = False
        while time.time() < deadline:
            st = cl.call("GET", "/api/status")
            sy = st.get("sync", {})
            if not sy.get("running") and sy.get("next_try_s", 0) > 3600 and not sy.get("last_error"):
                return True
            if not triggered and not sy.get("running"):
                cl.call("POST", "/api/sync")
                triggered = True
            time.sleep(0.1)
        log("the village's background sync did not settle within 60 s")
        return False

    def push_untimed(self):
        t = self.timed_sync("push", link_up=True)
        if not t["complete"]:
            raise RuntimeError("the push did not complete")
        self.quiesce()
        return t

    # ---- filing ----

    def file_cases(self, lines, user="agent1"):
        cl = self.client("village", user)
        ids = []
        t0 = time.time()
        step = max(1, len(lines) // 20)
        for i, c in enumerate(lines, 1):
            try:
                r = cl.call("POST", "/api/cases", c["filing"])
            except citylib.ApiError as e:
                raise RuntimeError(f"filing case {c['n']} failed: {citylib.masked(str(e))}") from None
            ids.append(r["case"]["id"])
            if i % step == 0 or i == len(lines):
                el = time.time() - t0
                log(f"filed {i}/{len(lines)} ({i / el:.0f}/s, about {(len(lines) - i) * el / i:.0f} s left)")
        return ids, time.time() - t0

    # ---- setup ----

    def _empty_backup_dir(self):
        return os.path.join(self.snap, "village-empty-backup")

    def prepare(self):
        meta_path = os.path.join(self.snap, "meta.json")
        if os.path.exists(meta_path) and not self.a.refile:
            with open(meta_path) as f:
                self.meta = json.load(f)
            log(f"using the snapshot {self.snap} ({self.n} cases, filed in {self.meta['filing_s']:.0f} s once)")
            return
        t_setup = time.time()
        shutil.rmtree(self.snap, ignore_errors=True)
        layout = self.build_fresh()
        os.makedirs(self.snap)
        # The empty city (for the 10-event no-op and the idle footprint), and the village's
        # backup right after its init (for the pull).
        self.stop_processes()
        shutil.rmtree(self.empty_snap, ignore_errors=True)
        subprocess.run(["cp", "-a", self.live, self.empty_snap], check=True, timeout=600)
        with open(os.path.join(self.empty_snap, "layout.json"), "w") as f:
            json.dump(layout, f)
        self.node("village").cli("backup", "--to", self._empty_backup_dir())
        self.start("hub", "town", "village")
        time.sleep(2)
        rss_idle = proc_kb(self.node("village").proc.pid, "VmRSS")
        lines = list(caselib.cases(self.n, self.a.seed))
        log(f"filing {self.n} cases at the village while its link is down")
        ids, filing_s = self.file_cases(lines)
        time.sleep(2)
        vpid = self.node("village").proc.pid
        rss_filed = proc_kb(vpid, "VmRSS")
        pending = self.client("village").call("GET", "/api/status")["pending"]
        if pending != 2 * self.n:
            raise RuntimeError(f"after filing the village has {pending} pending events, expected {2 * self.n}")
        self.stop_processes()
        subprocess.run(["cp", "-a", self.live, os.path.join(self.snap, "city")], check=True, timeout=1200)
        self.meta = {"n": self.n, "seed": self.a.seed, "port": self.a.port, "layout": layout, "ids": ids,
                     "filing_s": filing_s, "filing_per_s": self.n / filing_s, "rss_idle_empty_kb": rss_idle,
                     "rss_after_filings_kb": rss_filed, "setup_s": time.time() - t_setup}
        with open(meta_path + ".tmp", "w") as f:
            json.dump(self.meta, f)
        os.replace(meta_path + ".tmp", meta_path)
        log(f"snapshot made in {self.meta['setup_s']:.0f} s ({filing_s:.0f} s filing, {self.n / filing_s:.0f} cases/s)")

    def stop_processes(self):
        self.links_down()
        for cl in self.clients.values():
            cl.close()
        self.clients.clear()
        for n in reversed(list(self.city.nodes.values())):
            n.stop()

    def restore(self):
        self.build_from(os.path.join(self.snap, "city"), self.meta["layout"])

    # ---- scenarios ----

    def base(self, scenario, **kw):
        d = {"system": "daiban", "scenario": scenario, "cases": self.n}
        d.update(kw)
        return d

    def check_township(self):
        """The township's store holds every event the village wrote for its cases."""
        mine = self.village_event_ids("village")
        theirs = self.village_event_ids("town")
        missing = len(mine - theirs)
        return len(mine), len(theirs), missing

    def s_push(self):
        self.restore()
        self.start("hub", "town", "village")
        time.sleep(1)
        log(f"push: {self.n} cases ({2 * self.n} events) queued at the village; link up")
        town_pid, village_pid = self.node("town").proc.pid, self.node("village").proc.pid
        cpu0 = (proc_cpu_s(village_pid), proc_cpu_s(town_pid))
        # DAIBAN_BENCH_PERF=FILE: a perf profile (call graphs) of the township during the push.
        perf = None
        if os.environ.get("DAIBAN_BENCH_PERF"):
            # DWARF unwinding: the Release build has no frame pointers.
            perf = subprocess.Popen(["perf", "record", "-F", "499", "--call-graph", "dwarf,16384", "-p", str(town_pid), "-o",
                                     os.environ["DAIBAN_BENCH_PERF"]], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            time.sleep(1)
        t = self.timed_sync("push", link_up=True)
        if perf:
            perf.send_signal(signal.SIGINT)
            perf.wait(timeout=60)
        cpu1 = (proc_cpu_s(village_pid), proc_cpu_s(town_pid))
        cpu = [round(b - a, 2) if a is not None and b is not None else None for a, b in zip(cpu0, cpu1)]
        mine, theirs, missing = self.check_township()
        town_hwm = proc_kb(self.node("town").proc.pid, "VmHWM")
        if not t["complete"] or missing or mine != 2 * self.n:
            self.failures.append(f"push: {missing} of the village's {mine} events missing at the township")
            log(self.failures[-1])
        b = t["bytes_up"] + t["bytes_down"]
        ev = t["town_gained"]
        emit(self.base("push", events=ev, seconds=round(t["seconds"], 3),
                       cases_per_s=round(self.n / t["seconds"], 1), events_per_s=round(ev / t["seconds"], 1),
                       bytes=b, bytes_up=t["bytes_up"], bytes_down=t["bytes_down"],
                       bytes_per_case=round(b / self.n, 1), rounds=t["connections"], reported_rounds=t["rounds"],
                       sync_calls=t["calls"], sync_errors=t["errors"],
                       township_has=theirs, village_wrote=mine, missing_at_township=missing,
                       complete=t["complete"], township_peak_rss_kb=town_hwm, relay=RELAY,
                       village_cpu_s=cpu[0], township_cpu_s=cpu[1]))

    def _noop_rounds(self, k):
        secs, bytes_, conns = [], [], []
        moved = 0
        for _ in range(k):
            p = self.node("village").proxy
            s0 = p.stats()
            dt, r = self.sync_wait()
            s1 = p.stats()
            moved += int(r.get("pushed", 0)) + int(r.get("pulled", 0))
            secs.append(dt)
            bytes_.append(s1["bytes_up"] - s0["bytes_up"] + s1["bytes_down"] - s0["bytes_down"])
            conns.append(s1["connections"] - s0["connections"])
        return secs, bytes_, conns, moved, int(r.get("rounds", 0))

    def s_noop(self):
        k = self.a.noop_rounds
        # 1) the township holds 5 cases (10 events) of the village.
        with open(os.path.join(self.empty_snap, "layout.json")) as f:
            layout = json.load(f)
        self.build_from(self.empty_snap, layout)
        self.start("hub", "town", "village", village_link="pass")
        self.quiesce()
        self.file_cases(list(caselib.cases(5, self.a.seed)))
        self.timed_sync("noop-setup")
        self.quiesce()
        rows = [(5, self._noop_rounds(k))]
        small_events = len(self.village_event_ids("town"))
        small_total = self.total_events("town")
        # 2) the township holds the N cases.
        self.restore()
        self.start("hub", "town", "village")
        self.push_untimed()
        rows.append((self.n, self._noop_rounds(k)))
        big_events = len(self.village_event_ids("town"))
        big_total = self.total_events("town")
        measured = [(rows[0], small_events, small_total), (rows[1], big_events, big_total)]
        # 3) the township also holds --noop-fill events of its other villages (fill_store).
        if self.a.noop_fill:
            self.links_down()
            for n in ("village", "town", "hub"):
                self.node(n).stop()
            for cl in self.clients.values():
                cl.close()
            self.clients.clear()
            t0 = time.time()
            subprocess.run([os.path.join(self.a.bin, "tests", "fill_store"), "--store", self.node("town").db_path,
                            "--events", str(self.a.noop_fill), "--except", VILLAGE], check=True)
            log(f"noop: township filled with {self.a.noop_fill} events of other villages in {time.time() - t0:.0f} s")
            self.start("hub", "town", "village", village_link="pass")
            self.quiesce()
            self.sync_wait()  # the first round after a restart re-sends marks; not a no-op
            row = (self.n, self._noop_rounds(k))
            measured.append((row, len(self.village_event_ids("town")), self.total_events("town")))
        for i, ((cases, (secs, bytes_, conns, moved, rounds)), ev, tot) in enumerate(measured):
            emit({"system": "daiban", "scenario": "noop_filled" if i == 2 else "noop", "cases": cases, "events": moved,
                  "parent_case_events": ev, "parent_events_total": tot,
                  "seconds": round(statistics.median(secs), 4), "seconds_min": round(min(secs), 4),
                  "seconds_max": round(max(secs), 4), "bytes": int(statistics.median(bytes_)),
                  "bytes_min": min(bytes_), "bytes_max": max(bytes_), "rounds": rounds, "repetitions": k,
                  "tls_connections_per_sync": int(statistics.median(conns)), "relay": RELAY,
                  "note": "events of other villages added to the stopped township's store by "
                          "tests/fill_store (create + submit by each village's node)" if i == 2 else ""})

    def s_incremental(self):
        self.restore()
        self.start("hub", "town", "village")
        self.push_untimed()
        ids = self.meta["ids"][::100]
        self.node("village").proxy.set_mode(OFFLINE)
        cl = self.client("village")
        log(f"incremental: correcting the note of {len(ids)} cases at the village (link down)")
        for i, cid in enumerate(ids):
            cl.call("POST", f"/api/cases/{cid}/fields", {"field": "note", "value": f"更正：代办员补充说明第{i + 1}条。"})
        t = self.timed_sync("incremental", link_up=True)
        b = t["bytes_up"] + t["bytes_down"]
        ev = t["town_gained"]
        emit(self.base("incremental", changed_cases=len(ids), events=ev, seconds=round(t["seconds"], 4),
                       cases_per_s=round(len(ids) / t["seconds"], 1),
                       events_per_s=round(ev / t["seconds"], 1), bytes=b, bytes_up=t["bytes_up"],
                       bytes_down=t["bytes_down"], bytes_per_case=round(b / max(1, len(ids)), 1),
                       rounds=t["connections"], complete=t["complete"],
                       change="POST /api/cases/{id}/fields note", relay=RELAY))

    def s_conflict(self):
        self.restore()
        self.start("hub", "town", "village")
        self.push_untimed()
        m = min(1000, self.n)
        stride = max(1, self.n // m)
        ids = self.meta["ids"][::stride][:m]
        self.node("village").proxy.set_mode(OFFLINE)
        agent = self.client("village")
        clerk = self.client("town")
        log(f"conflict: the agent and the township clerk both correct applicant_phone of {m} cases (link down)")
        for i, cid in enumerate(ids):
            agent.call("POST", f"/api/cases/{cid}/fields", {"field": "applicant_phone", "value": f"1390418{i:04d}"})
            clerk.call("POST", f"/api/cases/{cid}/fields", {"field": "applicant_phone", "value": f"1370418{i:04d}"})
        t = self.timed_sync("conflict", link_up=True)
        # Until quiet: another sync must move nothing (at most 5 more).
        extra = 0
        for _ in range(5):
            t2 = self.timed_sync("conflict-check")
            extra += 1
            if t2["pushed"] == 0 and t2["pulled"] == 0:
                break
            for k in ("seconds", "pushed", "pulled", "rounds", "bytes_up", "bytes_down", "connections",
                      "town_gained", "village_gained"):
                t[k] += t2[k]
        want = set(ids)
        at_village = {c["id"] for c in agent.call("GET", "/api/cases?view=conflicts")["cases"]} & want
        at_town = {c["id"] for c in clerk.call("GET", "/api/cases?view=conflicts")["cases"]} & want
        if len(at_village) != m or len(at_town) != m:
            self.failures.append(f"conflict: {len(at_village)} at the village, {len(at_town)} at the township, "
                                 f"of {m}")
            log(self.failures[-1])
        b = t["bytes_up"] + t["bytes_down"]
        ev = t["town_gained"] + t["village_gained"]
        emit(self.base("conflict", conflict_cases=m, events=ev, pushed=t["town_gained"],
                       pulled=t["village_gained"], seconds=round(t["seconds"], 4),
                       cases_per_s=round(m / t["seconds"], 1),
                       events_per_s=round(ev / t["seconds"], 1), bytes=b,
                       bytes_up=t["bytes_up"], bytes_down=t["bytes_down"], bytes_per_case=round(b / m, 1),
                       rounds=t["connections"], quiet_check_syncs=extra, conflicts_at_village=len(at_village),
                       conflicts_at_township=len(at_town), relay=RELAY))

    def s_pull(self):
        self.restore()
        self.start("hub", "town", "village")
        self.push_untimed()
        v = self.node("village")
        self.stop_clients()
        v.stop()
        tmp = os.path.join(self.work, "restore-src")
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.run(["cp", "-a", self._empty_backup_dir(), tmp], check=True, timeout=600)
        v.proxy.set_mode(OFFLINE)  # the restored village must not start pulling before the clock does
        r = v.cli("restore", "--from", tmp)
        log("pull: " + r.stdout.strip().splitlines()[-1] if r.stdout.strip() else "pull: restored")
        v.start(wait=True)
        time.sleep(1)
        pid = v.proc.pid
        rss_before = proc_kb(pid, "VmRSS")
        log(f"pull: the village restored from its empty backup pulls {self.n} cases back")
        t = self.timed_sync("pull", link_up=True)
        hwm = proc_kb(pid, "VmHWM")
        rss_after = proc_kb(pid, "VmRSS")
        have = len(self.village_event_ids("village"))
        cases_here = len(v._query("SELECT case_id FROM cases WHERE region = ?", (VILLAGE,)))
        if cases_here != self.n or have != 2 * self.n or not t["complete"]:
            self.failures.append(f"pull: the village holds {cases_here} cases, {have} case events")
            log(self.failures[-1])
        b = t["bytes_up"] + t["bytes_down"]
        ev = t["village_gained"]
        emit(self.base("pull", events=ev, seconds=round(t["seconds"], 3),
                       cases_per_s=round(cases_here / t["seconds"], 1),
                       events_per_s=round(ev / t["seconds"], 1), bytes=b, bytes_up=t["bytes_up"],
                       bytes_down=t["bytes_down"], bytes_per_case=round(b / max(1, cases_here), 1),
                       rounds=t["connections"], complete=t["complete"],
                       cases_at_village=cases_here, case_events_at_village=have, peak_rss_kb=hwm,
                       rss_before_kb=rss_before, rss_after_kb=rss_after,
                       how="village restored (daiban-node restore) from the backup taken right after its init; "
                           "pulls its subtree back from the township",
                       relay=RELAY))

    def stop_clients(self):
        for cl in self.clients.values():
            cl.close()
        self.clients.clear()

    def s_footprint(self):
        nb, hb = self.city_bins()
        with open(os.path.join(self.empty_snap, "layout.json")) as f:
            layout = json.load(f)
        self.build_from(self.empty_snap, layout)
        self.start("village")
        time.sleep(2)
        idle_empty = proc_kb(self.node("village").proc.pid, "VmRSS")
        self.restore()
        self.start("village")
        time.sleep(2)
        idle_full = proc_kb(self.node("village").proc.pid, "VmRSS")
        size = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in
                   os.walk(os.path.join(self.live, "village")) for f in fs)
        emit(self.base("footprint", node_binary_bytes=os.path.getsize(nb), hub_binary_bytes=os.path.getsize(hb),
                       village_rss_idle_after_start_kb=idle_empty,
                       village_rss_after_filings_kb=self.meta["rss_after_filings_kb"],
                       village_rss_idle_after_restart_with_cases_kb=idle_full,
                       village_rss_idle_after_start_at_setup_kb=self.meta["rss_idle_empty_kb"],
                       village_data_dir_bytes=size, filing_cases_per_s=round(self.meta["filing_per_s"], 1),
                       setup_s=round(self.meta["setup_s"], 1)))

    def city_bins(self):
        return (os.path.join(self.a.bin, "node", "daiban-node"), os.path.join(self.a.bin, "server", "daiban-hub"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", required=True, help="build directory with node/daiban-node and server/daiban-hub")
    ap.add_argument("--work", required=True, help="scratch directory (snapshots are kept here)")
    ap.add_argument("--cases", type=int, required=True)
    ap.add_argument("--scenario", default="all", choices=SCENARIOS + ("all",))
    ap.add_argument("--port", type=int, default=8900, help="base port (uses P..P+60 on 127.0.0.1)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--noop-rounds", type=int, default=15)
    ap.add_argument("--noop-fill", type=int, default=0,
                    help="noop: also measure with this many more events (other villages') at the township")
    ap.add_argument("--refile", action="store_true", help="file the cases again even if a snapshot exists")
    a = ap.parse_args()
    a.bin = os.path.abspath(a.bin)
    if not 1 <= a.cases <= 1_000_000:
        ap.error("--cases: 1 to 1000000")
    for b in ("node/daiban-node", "server/daiban-hub"):
        if not os.path.exists(os.path.join(a.bin, b)):
            ap.error(f"--bin: no {b} in {a.bin}")
    os.makedirs(a.work, exist_ok=True)
    lock = open(os.path.join(a.work, ".lock"), "w")
    try:  # two runs in one WORK would replace each other's live city under the running nodes
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        ap.error(f"--work: another wire_bench runs in {a.work}")
    bench = Bench(a)
    todo = SCENARIOS if a.scenario == "all" else (a.scenario,)
    try:
        bench.prepare()
        for s in todo:
            t0 = time.time()
            log(f"scenario {s} ({a.cases} cases)")
            getattr(bench, "s_" + s)()
            bench.stop()
            log(f"scenario {s} done in {time.time() - t0:.1f} s (setup included)")
    finally:
        bench.stop()
    for f in bench.failures:
        log("FAILED " + f)
    return 1 if bench.failures else 0


if __name__ == "__main__":
    socket.setdefaulttimeout(120)
    sys.exit(main())
