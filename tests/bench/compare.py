#!/usr/bin/env python3
"""Daiban against PouchDB, the same cases, the same machine, the same run.

  python3 tests/bench/compare.py --bin build-release --pouch-modules DIR/node_modules \
      --work DIR --sizes 10000,100000 --reps 3

For each size it writes the cases once (tests/bench/cases.py), then runs, alternating the
order in every repetition (A/B, B/A, ...), the Daiban side (tests/bench/wire_bench.py: real
daiban-node and daiban-hub processes over HTTPS with mutual TLS on loopback) and the PouchDB
side (tests/bench/pouch/pouch_bench.mjs: pouchdb-node replicating to pouchdb-server over HTTP
on loopback). Each side prints one JSON object a scenario. Ratios are taken within each
repetition, then their median, min and max reported, because absolute figures on a shared
machine drift between runs but a pair measured back to back drifts together.

Prints markdown tables on stdout (the `wire` section of docs/BENCHMARKS.md); progress on
stderr; the raw JSON lines of every run go to WORK/results.jsonl.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def log(text):
    print(f"[compare] {text}", file=sys.stderr, flush=True)


def run_json(cmd, timeout_s):
    """Runs cmd; returns {scenario: object} from its JSON lines. Raises on failure."""
    log(" ".join(cmd))
    t0 = time.monotonic()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=sys.stderr, text=True, timeout=timeout_s)
    if r.returncode != 0:
        raise SystemExit(f"compare: {cmd[0]} {cmd[1]} exited {r.returncode}")
    out = {}
    for line in r.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            obj = json.loads(line)
            out[obj["scenario"]] = obj
    log(f"  {len(out)} scenarios in {time.monotonic() - t0:.0f} s")
    return out


def stats(values):
    v = sorted(x for x in values if x is not None)
    if not v:
        return None
    return v[len(v) // 2], v[0], v[-1]


def fmt(s, digits=0):
    if s is None:
        return "| n/a | | |"
    return "| " + " | ".join(f"{x:,.{digits}f}" for x in s) + " |"


def ratio(a, b):
    return a / b if a is not None and b else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", required=True, help="build directory with node/daiban-node, server/daiban-hub")
    ap.add_argument("--pouch-modules", required=True, help="node_modules with pouchdb-node and pouchdb-server")
    ap.add_argument("--work", required=True)
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--reps", default="3", help="repetitions, one number for every size or one per size (3,1)")
    ap.add_argument("--scenarios", default="all", help="passed to both sides")
    ap.add_argument("--noop-fill", type=int, default=0,
                    help="Daiban no-op also measured with this many more events at the parent (first size only)")
    ap.add_argument("--timeout", type=int, default=3600, help="seconds one side may take for one size")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    results = open(os.path.join(a.work, "results.jsonl"), "a", encoding="utf-8")
    tables = []
    sizes = [int(s) for s in a.sizes.split(",") if s]
    reps = [int(r) for r in a.reps.split(",") if r]
    reps = reps + [reps[-1]] * (len(sizes) - len(reps))
    for n, n_reps in zip(sizes, reps):
        cases = os.path.join(a.work, f"cases-{n}.jsonl")
        if not os.path.exists(cases):
            subprocess.run([sys.executable, os.path.join(HERE, "cases.py"), "--n", str(n), "--seed", "7",
                            "--out", cases], check=True)
        runs = []  # (daiban, pouch) per repetition
        for rep in range(n_reps):
            daiban_cmd = [sys.executable, os.path.join(HERE, "wire_bench.py"), "--bin", a.bin,
                          "--work", os.path.join(a.work, f"daiban-{n}"), "--cases", str(n),
                          "--scenario", a.scenarios, "--noop-fill", str(a.noop_fill if n == sizes[0] else 0)]
            pouch_cmd = ["node", os.path.join(HERE, "pouch", "pouch_bench.mjs"), "--modules", a.pouch_modules,
                         "--cases", cases, "--scenario", a.scenarios,
                         "--work", os.path.join(a.work, f"pouch-{n}-{rep}")]
            shutil.rmtree(os.path.join(a.work, f"pouch-{n}-{rep}"), ignore_errors=True)  # from an earlier run
            order = [("daiban", daiban_cmd), ("pouchdb", pouch_cmd)]
            if rep % 2:
                order.reverse()
            got = {}
            for name, cmd in order:
                got[name] = run_json(cmd, a.timeout)
                for obj in got[name].values():
                    results.write(json.dumps(dict(obj, size=n, rep=rep), ensure_ascii=False) + "\n")
                results.flush()
            runs.append((got["daiban"], got["pouchdb"]))
        tables.append(table(n, runs))
    print("\n\n".join(tables))


def pick(runs, side, scenario, key):
    return [r[side].get(scenario, {}).get(key) for r in runs]


def table(n, runs):
    d, p = 0, 1
    rows = [f"**{n:,} cases**, {len(runs)} repetitions (median, min, max; ratios per repetition)", "",
            "| measure | median | min | max |", "|---|---:|---:|---:|"]

    def add(name, values, digits=0):
        rows.append(f"| {name} " + fmt(stats(values), digits))

    def per_rep_ratio(sa, ka, sb, kb, scen_a, scen_b=None):
        return [ratio(x, y) for x, y in zip(pick(runs, sa, scen_a, ka), pick(runs, sb, scen_b or scen_a, kb))]

    add("Daiban push, cases/s", pick(runs, d, "push", "cases_per_s"))
    add("Daiban push, events/s", pick(runs, d, "push", "events_per_s"))
    add("PouchDB push, docs/s", pick(runs, p, "push", "docs_per_s"))
    add("**push throughput, Daiban / PouchDB** (cases/s over docs/s; goal ≥ 10)",
        per_rep_ratio(d, "cases_per_s", p, "docs_per_s", "push"), 1)
    add("Daiban push: CPU time of the village process, share of the push's wall time",
        per_rep_ratio(d, "village_cpu_s", d, "seconds", "push"), 2)
    add("Daiban push: CPU time of the township process, share of the push's wall time",
        per_rep_ratio(d, "township_cpu_s", d, "seconds", "push"), 2)
    add("Daiban push, bytes on the wire per case (both ways)", pick(runs, d, "push", "bytes_per_case"))
    add("PouchDB push, bytes on the wire per doc (both ways)", pick(runs, p, "push", "bytes_per_doc"))
    add("**bytes per case, Daiban / PouchDB** (goal ≤ 0.33)",
        per_rep_ratio(d, "bytes_per_case", p, "bytes_per_doc", "push"), 3)
    add(f"Daiban no-op round with {n:,} cases at the parent, ms",
        [x * 1000 if x is not None else None for x in pick(runs, d, "noop", "seconds")], 1)
    add("Daiban no-op round, bytes", pick(runs, d, "noop", "bytes"))
    filled = [x for x in pick(runs, d, "noop_filled", "parent_events_total") if x]
    if filled:
        add(f"Daiban no-op round, the parent holding {max(filled):,} events "
            "(these cases and its other villages'), ms",
            [x * 1000 if x is not None else None for x in pick(runs, d, "noop_filled", "seconds")], 1)
        add("Daiban no-op round, that parent, bytes", pick(runs, d, "noop_filled", "bytes"))
    add("PouchDB no-op replication, ms", [x * 1000 if x is not None else None for x in pick(runs, p, "noop", "seconds")], 1)
    add("PouchDB no-op replication, bytes", pick(runs, p, "noop", "bytes"))
    add("Daiban 1% incremental round, s", pick(runs, d, "incremental", "seconds"), 2)
    add("Daiban 1% incremental round, bytes", pick(runs, d, "incremental", "bytes"))
    add("PouchDB 1% incremental replication, s", pick(runs, p, "incremental", "seconds"), 2)
    add("PouchDB 1% incremental replication, bytes", pick(runs, p, "incremental", "bytes"))
    add("incremental time, PouchDB / Daiban", per_rep_ratio(p, "seconds", d, "seconds", "incremental"), 1)
    add("Daiban fresh pull, cases/s", pick(runs, d, "pull", "cases_per_s"))
    add("PouchDB fresh pull, docs/s", pick(runs, p, "pull", "docs_per_s"))
    add("pull throughput, Daiban / PouchDB", per_rep_ratio(d, "cases_per_s", p, "docs_per_s", "pull"), 1)
    add("Daiban pulling node peak RSS, MB",
        [x / 1024 if x is not None else None for x in pick(runs, d, "pull", "peak_rss_kb")], 1)
    add("Daiban parent (township) peak RSS while applying the push, MB",
        [x / 1024 if x is not None else None for x in pick(runs, d, "push", "township_peak_rss_kb")], 1)
    add("Daiban conflict scenario, s (both sides edit the same cases, sync both ways)",
        pick(runs, d, "conflict", "seconds"), 2)
    add("Daiban conflict scenario, bytes", pick(runs, d, "conflict", "bytes"))
    add("Daiban cases showing the conflict at the village", pick(runs, d, "conflict", "conflicts_at_village"))
    add("Daiban cases showing the conflict at the township", pick(runs, d, "conflict", "conflicts_at_township"))
    add("PouchDB conflict scenario, s", pick(runs, p, "conflict", "seconds"), 2)
    add("PouchDB conflict scenario, bytes", pick(runs, p, "conflict", "bytes"))
    add("PouchDB docs with _conflicts, local side", pick(runs, p, "conflict", "conflicts_local"))
    add("PouchDB docs with _conflicts, remote side", pick(runs, p, "conflict", "conflicts_remote"))
    edited = runs[0][d].get("conflict", {}).get("conflict_cases")
    if edited:
        rows.append(f"\nConflict scenario: the same {edited} cases edited at both ends while apart.")
    notes = {r[d].get("push", {}).get("relay") for r in runs} - {None}
    for note in sorted(notes):
        rows.append(f"\nDaiban push: {note}")
    return "\n".join(rows)


if __name__ == "__main__":
    main()
