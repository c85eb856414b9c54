#!/usr/bin/env python3
"""Fault drills with real daiban-hub and daiban-node processes on loopback.

Each drill builds a small city (hub, county, township, two villages; ops/city.py), does
real work while it breaks something, heals, lets every node sync, and prints one line:

  drill kill9: events created 412, at hub 412, duplicates 0, lost 0, replicas diverged 0

It fails (exit 1) if duplicates, lost or diverged is not 0, or if the drill's own checks
fail (named in the output). ./ops/test.sh runs the short form through ctest (Drills.*);
the long form repeats each fault many more times:

  python3 tests/drills/drills.py --bin build --work /tmp/drills [--long] [--only kill9,proxy]

Drills: kill9, proxy, partition (network namespaces; skipped where not permitted),
clock_skew (libfaketime), restore (a node from last week's backup), parent_down (villages
sync with the county directly), disk_full (a township's store cannot grow).
"""

import argparse
import os
import random
import shutil
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "ops"))
import city as citylib  # noqa: E402

# Items a village agent files, accepted at the township.
ITEMS = [i for i in citylib.load_catalog(os.path.join(citylib.ROOT, "config"))
         if i["proxy_allowed"] == "yes" and i["accept_level"] == "township"]


class DrillFailed(Exception):
    pass


class Drill:
    def __init__(self, args, name, port_offset):
        self.args = args
        self.name = name
        self.rng = random.Random(args.seed + port_offset)
        self.work = os.path.join(args.work, name)
        shutil.rmtree(self.work, ignore_errors=True)
        self.port = args.port + port_offset
        self.city = None
        self.acked = []  # (village name, case id) the nodes answered 201 for
        self.refused = 0  # filings that got no 201

    def log(self, text):
        print(f"  [{self.name}] {text}", flush=True)

    def build(self, village_fallback=True, node_opts=None, before_start=None):
        """hub <- county <- township <- villages v1, v2 (each link through a proxy)."""
        node_opts = node_opts or {}
        c = citylib.City(self.work, self.args.bin, base_port=self.port, sync_interval_s=2, sync_timeout_s=5)
        self.city = c
        c.create_hub()
        county = c.create_node("county", "county", "210921000000", c.hub, "clerk1", "clerk", **node_opts.get("county", {}))
        town = c.create_node("town", "township", "210921100000", county, "clerk1", "clerk", **node_opts.get("town", {}))
        for name, region in (("v1", "210921100202"), ("v2", "210921100203")):
            c.create_node(name, "village", region, town, "agent1", "agent",
                          fallback=county if village_fallback else None, **node_opts.get(name, {}))
        if before_start:
            before_start(c)
        c.start_all()
        return c

    def file_case(self, village, materials_all=True):
        """Files one case at a village; records it if the node said 201. Errors (the node is
        down, killed mid-request) are expected in drills and not retried: a clerk would look
        at the list first, and an unanswered request may or may not have been stored."""
        node = self.city.nodes[village]
        item = self.rng.choice(ITEMS)
        body = dict(citylib.resident(self.rng), item=item["code"], submit=True,
                    materials=item["materials"].split(";") if materials_all else [],
                    note="drill " + self.name + " " + "代办说明" * self.rng.randint(20, 80))
        try:
            case = node.file_case("agent1", body)
        except (OSError, citylib.ApiError) as e:
            node._apis.clear()
            self.refused += 1
            if self.refused <= 3 or self.args.verbose:
                self.log(f"filing at {village} failed: {citylib.masked(str(e))[:200]}")
            return None
        self.acked.append((village, case["id"]))
        return case["id"]

    def finish(self, timeout_s=None, extra_checks=None):
        """Heals everything, waits for convergence, prints the summary line; raises on failure."""
        c = self.city
        for p in c.proxies:
            p.set_mode("pass")
        for n in c.nodes.values():
            if not n.running():
                n.start()
        result = c.wait_converged(timeout_s=timeout_s or (180 if self.args.long else 90))
        hub_cases = c.hub.case_rows()
        missing = [cid for _, cid in self.acked if cid not in hub_cases]
        result["lost"] += len(missing)
        # A request the drill filed once must be one case: every case's note names its drill,
        # and no two cases at the hub may carry the same resident ID hash and note.
        problems = []
        if extra_checks:
            problems = extra_checks(c) or []
        print(citylib.summary_line(self.name, result, f"{len(self.acked)} cases acknowledged"), flush=True)
        for n, cid in result["diverged_list"]:
            print(f"    differs: {cid} at {n}")
        for cid in missing[:10]:
            print(f"    acknowledged but not at the hub: {cid}")
        for p in problems:
            print(f"    check failed: {p}")
        if result["duplicates"] or result["lost"] or result["diverged"] or problems:
            raise DrillFailed(self.name)

    def close(self):
        if self.city:
            self.city.close()


# ---- the drills ----

def drill_kill9(d):
    """kill -9 of a village, the township and the hub at random moments during sync."""
    c = d.build()
    rounds = 40 if d.args.long else 6
    victims = ["v1", "town", "hub"]
    stop = threading.Event()

    def keep_syncing():
        while not stop.is_set():
            for n in ("v1", "v2", "town", "county"):
                node = c.nodes[n]
                if node.running():
                    node.sync_once()
    t = threading.Thread(target=keep_syncing, daemon=True)
    t.start()
    try:
        for r in range(rounds):
            for _ in range(d.rng.randint(3, 8)):
                d.file_case(d.rng.choice(["v1", "v2"]))
            time.sleep(d.rng.uniform(0.05, 1.2))
            victim = victims[r % len(victims)]
            c.nodes[victim].kill9()
            d.log(f"round {r + 1}/{rounds}: kill -9 {victim}")
            time.sleep(d.rng.uniform(0.0, 0.5))
            c.nodes[victim].start()
    finally:
        stop.set()
        t.join(timeout=60)
    d.finish()


def drill_proxy(d):
    """Links that delay, drop, reset, stall and truncate; then liveness after healing."""
    c = d.build()
    probs = {"pass": 0.3, "delay": 0.2, "drop": 0.1, "reset": 0.15, "stall": 0.1, "truncate": 0.15}
    for name in ("v1", "v2", "town"):
        c.nodes[name].proxy.set_mode("random", probs=probs, max_bytes=6000, ms=150)
    rounds = 30 if d.args.long else 8
    for r in range(rounds):
        for _ in range(d.rng.randint(2, 6)):
            d.file_case(d.rng.choice(["v1", "v2"]))
        for name in ("v1", "v2", "town"):
            c.nodes[name].sync_once()
    faults = sum(p.stats()["faults"] for p in c.proxies)
    d.log(f"{faults} faults injected on the links")
    if faults == 0:
        raise DrillFailed("proxy: no fault was injected")
    # Liveness: after healing, every queue drains to zero within the bound.
    for p in c.proxies:
        p.set_mode("pass")
    bound_s = 60
    deadline = time.time() + bound_s
    while time.time() < deadline:
        c.sync_round()
        if all((n.pending() or 0) == 0 for n in c.nodes.values() if n.tier != "city"):
            break
    stuck = {n.name: n.pending() for n in c.nodes.values() if n.tier != "city" and (n.pending() or 0) != 0}
    d.finish(extra_checks=lambda _c: [f"queues still not empty {bound_s} s after healing: {stuck}"] if stuck else [])


def drill_partition(d):
    """A village in its own network namespace, cut off by taking its veth link down."""
    ns = f"daiban-drill-{os.getpid()}"
    host_if, ns_if = f"dbh{os.getpid() % 10000}", f"dbn{os.getpid() % 10000}"
    setup = [["ip", "netns", "add", ns],
             ["ip", "link", "add", host_if, "type", "veth", "peer", "name", ns_if],
             ["ip", "link", "set", ns_if, "netns", ns],
             ["ip", "addr", "add", "10.231.7.1/30", "dev", host_if],
             ["ip", "link", "set", host_if, "up"],
             ["ip", "netns", "exec", ns, "ip", "addr", "add", "10.231.7.2/30", "dev", ns_if],
             ["ip", "netns", "exec", ns, "ip", "link", "set", ns_if, "up"],
             ["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"]]
    for cmd in setup:
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
            subprocess.run(["ip", "link", "del", host_if], capture_output=True)
            print(f"drill partition: SKIPPED -- this machine does not let the test make a network namespace "
                  f"({' '.join(cmd[:4])}: {r.stderr.strip()[:200]})", flush=True)
            return
    try:
        opts = {"town": {"sync_host": "10.231.7.1", "hosts": "127.0.0.1,10.231.7.1"},
                "v2": {"listen_host": "10.231.7.2", "parent_host": "10.231.7.1", "proxy": False,
                       "netns": ns}}
        c = d.build(village_fallback=False, node_opts=opts)
        v2 = c.nodes["v2"]
        rounds = 6 if d.args.long else 2
        for r in range(rounds):
            subprocess.run(["ip", "link", "set", host_if, "down"], check=True)
            d.log(f"partition {r + 1}/{rounds}: v2's link is down")
            for _ in range(5):
                d.file_case("v2")
                d.file_case("v1")
            if v2.sync_once():
                raise DrillFailed("partition: v2 synced through a link that is down")
            c.nodes["v1"].sync_once()
            c.nodes["town"].sync_once()
            subprocess.run(["ip", "link", "set", host_if, "up"], check=True)
            d.log("healed")
        d.finish()
    finally:
        if d.city:
            d.city.close()
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["ip", "link", "del", host_if], capture_output=True)


def _faketime_lib():
    for p in ("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
              "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
              "/usr/lib/faketime/libfaketime.so.1"):
        if os.path.exists(p):
            return p
    return None


def drill_clock_skew(d):
    """A village whose clock is three days ahead (libfaketime): it converges, and the due date
    the township gives is counted from the township's day, not the village's."""
    lib = _faketime_lib()
    if lib is None:
        raise DrillFailed("clock_skew: libfaketime is not installed (apt package faketime; ops/lib.sh installs it)")
    skew_days = 3

    def skew(c):
        c.nodes["v1"].env = {"LD_PRELOAD": lib, "FAKETIME": f"+{skew_days}d", "DONT_FAKE_MONOTONIC": "1"}
    c = d.build(before_start=skew)
    ids = [d.file_case("v1") for _ in range(6)] + [d.file_case("v2") for _ in range(3)]
    ids = [i for i in ids if i]
    problems = []
    # Case ids carry the filing node's day (China time): v1's must be skew_days after v2's.
    day_of = lambda cid: time.mktime(time.strptime(cid.split("-")[1], "%Y%m%d"))  # noqa: E731
    if len(ids) < 9 or round((day_of(ids[0]) - day_of(ids[-1])) / 86400) != skew_days:
        problems.append(f"the village's clock is not {skew_days} days ahead (case ids {ids[0]}, {ids[-1]})")
    c.sync_round()
    town = c.nodes["town"].api("clerk1")
    today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 8 * 3600))  # the township's day (UTC+8)
    for cid in ids[:6]:
        case = town.post(f"/api/cases/{cid}/steps", {"action": "accept"})["case"]
        days = case.get("promised_days") or 0
        want = c.nodes["town"].cli("due-date", "--accepted", today, "--days", str(days),
                                   "--config", c.config).stdout
        if case["due_date"] not in want:
            problems.append(f"case {cid}: due {case['due_date']}, expected {want.strip()}")
    d.finish(extra_checks=lambda _c: problems)


def drill_restore(d):
    """A village restored from last week's copy of its data directory: it catches up, mints
    no id twice, and loses nothing it had sent."""
    c = d.build()
    for _ in range(5):
        d.file_case("v1")
    c.sync_round()
    v1 = c.nodes["v1"]
    backup = os.path.join(d.work, "v1-backup")
    v1.cli("backup", "--to", backup)
    d.log("backup of v1 taken")
    for _ in range(8):
        d.file_case("v1")
    c.sync_round()
    c.sync_round()
    sent_before = set(v1.own_event_ids())
    v1.stop()
    r = v1.cli("restore", "--from", backup)
    d.log("v1 restored from its backup: " + r.stdout.strip().splitlines()[0][:160])
    v1.start()
    for _ in range(4):
        d.file_case("v1")

    def checks(cc):
        ids = [cid for _, cid in d.acked]
        reminted = len(ids) - len(set(ids))  # a case id handed out twice (before and after the restore)
        now = set(cc.nodes["v1"].own_event_ids())
        lost = sent_before - now
        hub = set(cc.hub.case_event_ids())
        return ([f"{reminted} case ids were minted twice"] if reminted else []) + \
               ([f"{len(lost)} events v1 had sent are gone from v1 after catching up"] if lost else []) + \
               ([f"{len(now - hub)} of v1's events are not at the hub"] if now - hub else [])
    d.finish(extra_checks=checks)


def drill_parent_down(d):
    """The township is down for long: villages sync with the county (their fallback), then go
    back to the township when it returns."""
    c = d.build()
    town = c.nodes["town"]
    for _ in range(3):
        d.file_case("v1")
    c.sync_round()
    town.stop()
    d.log("the township is down")
    rounds = 5 if d.args.long else 2
    for _ in range(rounds):
        for _ in range(4):
            d.file_case("v1")
            d.file_case("v2")
        for v in ("v1", "v2"):
            if not c.nodes[v].sync_once():
                raise DrillFailed(f"parent_down: {v} could not sync with the county while the township was down")
    at_hub_while_down = set(c.hub.case_rows())
    problems = []
    c.nodes["county"].sync_once()
    at_hub_while_down = set(c.hub.case_rows())
    missing = [cid for _, cid in d.acked if cid not in at_hub_while_down]
    if missing:
        problems.append(f"{len(missing)} cases did not reach the hub through the county while the township was down")
    town.start()
    d.log("the township is back")
    for _ in range(3):
        d.file_case("v2")
    d.finish(extra_checks=lambda _c: problems)


def drill_disk_full(d):
    """The township's store cannot grow (RLIMIT_FSIZE): it refuses with a clear error, sends
    no acknowledgement, and nothing is lost once space returns."""
    c = d.build(village_fallback=False)  # no way around the township: the events must wait
    town = c.nodes["town"]
    c.sync_round()
    size = max(os.path.getsize(os.path.join(town.data, f)) for f in os.listdir(town.data) if f.startswith("node.db"))
    cap = size + 4096
    town.stop()
    town.prefix_cmd = ["prlimit", f"--fsize={cap}"]
    town.start()
    d.log(f"township restarted with its files capped at {cap} bytes")
    for _ in range(150 if d.args.long else 80):
        d.file_case(d.rng.choice(["v1", "v2"]))
    failures = sum(0 if c.nodes[v].sync_once() else 1 for v in ("v1", "v2") for _ in range(2))
    status = c.nodes["v1"].status()
    errors = [link["last_error"] for link in status["links"] if link["peer"] == town.node_id]
    problems = []
    if failures == 0:
        problems.append("every sync succeeded although the township's disk was full")
    if status["pending"] == 0:
        problems.append("v1 has nothing pending although the township could not store its events")
    if not errors or "disk" not in errors[0]:
        problems.append(f"v1's link to the township does not name the disk error: {errors}")
    d.log(f"{failures} syncs refused while full; v1 keeps {status['pending']} events pending")
    d.log("v1's status page says: " + (citylib.masked(errors[0])[:200] if errors else "(no error)"))
    if not town.running():
        problems.append(f"the township died with its disk full (exit {town.proc.returncode})")
    town.stop()
    town.prefix_cmd = []
    d.log("space returns")
    d.finish(extra_checks=lambda _c: problems)


DRILLS = {"kill9": drill_kill9, "proxy": drill_proxy, "partition": drill_partition, "clock_skew": drill_clock_skew,
          "restore": drill_restore, "parent_down": drill_parent_down, "disk_full": drill_disk_full}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="build directory (with node/daiban-node, server/daiban-hub)")
    ap.add_argument("--work", required=True, help="a scratch directory for the drills' cities")
    ap.add_argument("--long", action="store_true", help="the long form: many more rounds")
    ap.add_argument("--only", default="", help="comma-separated drill names")
    ap.add_argument("--port", type=int, default=int(os.environ.get("DAIBAN_DRILL_PORT", "19000")))
    ap.add_argument("--verbose", action="store_true", help="print every failed filing")
    ap.add_argument("--seed", type=int, default=int(os.environ.get("DAIBAN_DRILL_SEED", "7")))
    args = ap.parse_args()
    names = [n for n in args.only.split(",") if n] or list(DRILLS)
    failed = []
    for name in names:
        if name not in DRILLS:
            print(f"no drill named {name}; drills: {', '.join(DRILLS)}")
            return 2
        d = Drill(args, name, list(DRILLS).index(name) * 100)  # each drill its own ports: they may run at once
        print(f"drill {name}: {' '.join(DRILLS[name].__doc__.split())}", flush=True)
        started = time.time()
        try:
            DRILLS[name](d)
        except DrillFailed as e:
            failed.append(f"{name}: {e}")
        except Exception as e:  # noqa: BLE001 - report and go on with the next drill
            failed.append(f"{name}: {type(e).__name__}: {citylib.masked(str(e))}")
        finally:
            d.close()
        print(f"  [{name}] {time.time() - started:.0f} s", flush=True)
    if failed:
        print("FAILED: " + "; ".join(failed))
        return 1
    print("all drills passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
