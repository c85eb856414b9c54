#!/usr/bin/env python3
"""The demo city: a day of cases in 阜新市 with real processes on loopback (run by ops/demo.sh).

  hub (阜新市) ── county 阜新蒙古族自治县 ─┬─ township 阜新镇 ─┬─ village 他本扎兰村
                                          │                  └─ village 张家洼村
                                          └─ township 东梁镇 ─┬─ village 东梁村
                                                               └─ village 包家窝堡村

Every node has its own data directory and certificate (enrolled with a one-time code);
every child -> parent link goes through a fault proxy the driver controls, so it can take
links down and up. The driver files a day of cases at the villages, the townships accept,
ask for missing materials, reject, decide, forward to the county and complete; one case is
corrected at a village and at its township while their link is down (a conflict a clerk
settles). At the end it checks that every node holds the same cases as the hub and that
the hub's figures equal what the driver did.

  python3 ops/demo_city.py --bin build-release --data demo-data [--once] [--port 8700]
"""

import argparse
import os
import random
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import city as citylib  # noqa: E402

COUNTY = ("county", "阜新蒙古族自治县", "210921000000")
TOWNSHIPS = [("town-fuxin", "阜新镇", "210921100000"), ("town-dongliang", "东梁镇", "210921102000")]
VILLAGES = [("village-taben", "他本扎兰村", "210921100202", 0), ("village-zhangjiawa", "张家洼村", "210921100203", 0),
            ("village-dongliang", "东梁村", "210921102200", 1), ("village-baojia", "包家窝堡村", "210921102201", 1)]
CASES_PER_VILLAGE = 6


def say(text=""):
    print(text, flush=True)


def step(text):
    print(f"\033[1m[daiban]\033[0m {text}", flush=True)


class Day:
    """The driver's record of what it did: the ground truth the hub's figures must match."""

    def __init__(self):
        self.truth = {k: 0 for k in ("received", "proxy", "accepted", "rejected", "supplement_requested",
                                     "withdrawn", "completed", "evaluated")}
        self.cases = []  # (village node, case id, item, plan)


def build(args):
    c = citylib.City(args.data, args.bin, base_port=args.port, sync_interval_s=3)
    step(f"a new city in {args.data}: the city CA and the hub's certificate (ops/pki.sh), the hub on :{args.port}")
    c.create_hub()
    c.hub.start()
    name, label, region = COUNTY
    county = c.create_node(name, "county", region, c.hub, "clerk1", "clerk")
    towns = [c.create_node(n, "township", r, county, "clerk1", "clerk") for n, _, r in TOWNSHIPS]
    for n, _, r, t in VILLAGES:
        c.create_node(n, "village", r, towns[t], "agent1", "agent", fallback=county)
    step("the county, two townships and four villages enrolled: each made its own key, the hub signed its certificate")
    c.start_all()
    for n in c.nodes.values():
        if n.tier != "city":
            say(f"  {n.node_id:<14} {n.tier:<9} http://127.0.0.1:{n.web_port}/   (syncs with {n.parent.node_id}"
                f" through a proxy on :{n.proxy.port})")
    return c


def file_cases(c, day, rng, catalog):
    items = [i for i in catalog if i["proxy_allowed"] == "yes" and i["accept_level"] == "township"
             and i["decide_level"] in ("township", "county")]
    plans = ["decide", "decide", "decide", "supplement", "reject", "withdraw", "wait"]
    for vname, label, region, _ in VILLAGES:
        v = c.nodes[vname]
        agent = v.api("agent1")
        for k in range(CASES_PER_VILLAGE):
            item = rng.choice(items)
            plan = plans[(k + len(day.cases)) % len(plans)]
            materials = item["materials"].split(";")
            if plan == "supplement":
                materials = materials[:1]  # the rest is still missing: the township asks for it
            body = dict(citylib.resident(rng), item=item["code"], materials=materials, submit=True,
                        note=f"{label}代办员代为申请，{rng.choice(['行动不便', '外出务工', '年事已高', '农忙'])}")
            case = agent.post("/api/cases", body)["case"]
            day.cases.append((vname, case["id"], item, plan))
            day.truth["received"] += 1
            day.truth["proxy"] += 1
        say(f"  {label}: {CASES_PER_VILLAGE} cases filed, e.g. {case['item_name']} for {case['applicant_name']}"
            f" ({case['applicant_id']}), status {case['status_label']}")


def take(node, user, case_id, action, **extra):
    """Takes a step if it is allowed there now; returns the new detail or None."""
    api = node.api(user)
    detail = api.get(f"/api/cases/{case_id}")["case"]
    if action not in detail.get("allowed", []):
        return None
    return api.post(f"/api/cases/{case_id}/steps", dict(action=action, **extra))["case"]


def town_for(c, vname):
    t = next(t for v, _, _, t in VILLAGES if v == vname)
    return c.nodes[TOWNSHIPS[t][0]]


def work_the_inbox(c, day, only=None):
    """The township clerks: accept, ask for materials, reject; decide their own items, forward
    the county's; the county clerk decides; the township completes."""
    moved = 0
    for vname, case_id, item, plan in day.cases:
        if only and vname not in only:
            continue
        town = town_for(c, vname)
        if plan == "withdraw" or plan == "wait":
            continue
        if plan == "reject":
            if take(town, "clerk1", case_id, "reject", reason="不属于本镇受理范围，已告知申请人") is not None:
                day.truth["rejected"] += 1
                moved += 1
            continue
        if plan == "supplement":
            if take(town, "clerk1", case_id, "request_supplement",
                    missing=item["materials"].split(";")[1:], reason="请补齐材料") is not None:
                day.truth["supplement_requested"] += 1
                moved += 1
            continue
        if take(town, "clerk1", case_id, "accept") is not None:
            day.truth["accepted"] += 1
            moved += 1
    return moved


def decide_and_complete(c, day):
    county = c.nodes["county"]
    for vname, case_id, item, plan in day.cases:
        if plan not in ("decide", "supplement"):
            continue
        town = town_for(c, vname)
        if item["decide_level"] == "township":
            take(town, "clerk1", case_id, "decide", approved=True, reason="符合条件")
        else:
            take(town, "clerk1", case_id, "forward")
    c.sync_round()
    for vname, case_id, item, plan in day.cases:
        if plan in ("decide", "supplement") and item["decide_level"] == "county":
            take(county, "clerk1", case_id, "decide", approved=True, reason="经审核符合条件")
    c.sync_round()
    c.sync_round()
    for vname, case_id, item, plan in day.cases:
        if plan not in ("decide", "supplement"):
            continue
        if take(town_for(c, vname), "clerk1", case_id, "complete") is not None:
            day.truth["completed"] += 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="build directory with node/daiban-node and server/daiban-hub")
    ap.add_argument("--data", required=True)
    ap.add_argument("--port", type=int, default=8700)
    ap.add_argument("--once", action="store_true", help="run the day, check, stop (exit 0 only if all is right)")
    ap.add_argument("--seed", type=int, default=20261123)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    # A directory this script made before (it leaves a marker) is replaced; anything else is refused.
    marker = os.path.join(args.data, ".daiban-demo")
    if os.path.exists(args.data):
        if not os.path.exists(marker):
            step(f"{args.data} exists and is not a demo city made by this script: choose another --data")
            return 2
        shutil.rmtree(args.data)
    os.makedirs(args.data)
    open(marker, "w").close()
    catalog = citylib.load_catalog(os.path.join(citylib.ROOT, "config"))
    day = Day()
    stop = {"now": False}

    def on_term(*_):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, on_term)
    c = None
    try:
        c = build(args)
        say()
        step("morning: the road to 张家洼村 is cut -- its link to 阜新镇 is down (the proxy refuses connections)")
        c.nodes["village-zhangjiawa"].proxy.set_mode("down")
        step("the village agents file the day's cases for residents (items from the catalog, real ID numbers)")
        file_cases(c, day, rng, catalog)
        c.sync_round()
        step("the townships work their inboxes: accept, ask for missing materials, reject")
        moved = work_the_inbox(c, day, only={"village-taben", "village-dongliang", "village-baojia"})
        say(f"  {moved} steps taken; 张家洼村's cases have not arrived: "
            f"{c.nodes['village-zhangjiawa'].pending()} events wait at the village")

        step("a village agent withdraws a case the resident no longer needs")
        for vname, case_id, item, plan in day.cases:
            if plan == "withdraw" and vname != "village-zhangjiawa":
                if take(c.nodes[vname], "agent1", case_id, "withdraw", reason="申请人不再需要") is not None:
                    day.truth["withdrawn"] += 1
        say(f"  {day.truth['withdrawn']} withdrawn (reason: 申请人不再需要)")

        step("noon: 他本扎兰村's link goes down too; the agent and the 阜新镇 clerk both correct the same phone number")
        v = c.nodes["village-taben"]
        c.sync_round()
        v.proxy.set_mode("down")
        target = next(cid for vn, cid, _, plan in day.cases if vn == "village-taben" and plan == "decide")
        v.api("agent1").post(f"/api/cases/{target}/fields", {"field": "applicant_phone", "value": "13904180001"})
        town_for(c, "village-taben").api("clerk1").post(f"/api/cases/{target}/fields",
                                                        {"field": "applicant_phone", "value": "13704180002"})
        step("afternoon: both links come back; everything that waited goes up")
        v.proxy.set_mode("pass")
        c.nodes["village-zhangjiawa"].proxy.set_mode("pass")
        c.sync_round()
        c.sync_round()
        detail = town_for(c, "village-taben").api("clerk1").get(f"/api/cases/{target}")["case"]
        conflicts = detail.get("conflicts", [])
        if conflicts:
            cand = ", ".join(x.get("value", "?") for x in conflicts[0].get("candidates", []))
            say(f"  conflict on case {target}: {conflicts[0]['field']} was corrected to {cand} at two nodes;"
                f" it waits for a clerk (阜新镇's page, 冲突 view)")
        else:
            say("  (no conflict was recorded: the two corrections were not concurrent)")
        step("张家洼村's cases reach 阜新镇; the clerk works them too")
        zday = Day()
        zday.cases = [x for x in day.cases if x[0] == "village-zhangjiawa"]
        work_the_inbox(c, zday)
        for k in day.truth:
            day.truth[k] += zday.truth[k]
        for vname, case_id, item, plan in zday.cases:
            if plan == "withdraw":
                if take(c.nodes[vname], "agent1", case_id, "withdraw", reason="申请人不再需要") is not None:
                    day.truth["withdrawn"] += 1
        c.sync_round()

        step("villages bring the missing materials; the townships accept the supplemented cases")
        for vname, case_id, item, plan in day.cases:
            if plan != "supplement":
                continue
            vnode = c.nodes[vname]
            api = vnode.api("agent1")
            api.post(f"/api/cases/{case_id}/materials", {"add": item["materials"].split(";")[1:]})
            take(vnode, "agent1", case_id, "supplement")
        c.sync_round()
        for vname, case_id, item, plan in day.cases:
            if plan == "supplement" and take(town_for(c, vname), "clerk1", case_id, "accept") is not None:
                day.truth["accepted"] += 1
        c.sync_round()

        step("decisions: townships decide their own items and forward the county's; the county decides;"
             " townships complete")
        decide_and_complete(c, day)
        step("the agents hand results back and record the residents' evaluations")
        c.sync_round()
        for vname, case_id, item, plan in day.cases:
            vnode = c.nodes[vname]
            if take(vnode, "agent1", case_id, "deliver") is not None:
                if take(vnode, "agent1", case_id, "evaluate", evaluation=rng.choice([4, 5, 5, 3])) is not None:
                    day.truth["evaluated"] += 1

        step("evening: every node syncs until nothing is left to move")
        result = c.wait_converged(timeout_s=120)
        hub_api = c.hub.api("sup1")
        today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 8 * 3600))  # the city's day (UTC+8)
        far = time.strftime("%Y-%m-%d", time.localtime(time.time() - 40 * 86400))
        soon = time.strftime("%Y-%m-%d", time.localtime(time.time() + 40 * 86400))
        stats = hub_api.get(f"/api/stats?region={citylib.CITY_REGION}&from={far}&to={soon}")
        say(f"  {result['at_hub']} of {result['created']} events at the hub, {result['duplicates']} duplicates,"
            f" {result['lost']} lost, {result['diverged']} replicas that differ from the hub")
        mismatches = [(k, v, stats.get(k)) for k, v in day.truth.items() if stats.get(k) != v]
        say(f"  the hub's figures for 阜新市 ({today}):")
        for k, v in day.truth.items():
            mark = "ok" if stats.get(k) == v else "DIFFERENT"
            say(f"    {k:<22} hub {stats.get(k)!s:>4}   driver {v:>4}   {mark}")
        ok = result["lost"] == 0 and result["diverged"] == 0 and result["duplicates"] == 0 and not mismatches
        say()
        if not ok:
            step("NOT converged or figures differ: see the logs in " + args.data)
            for n, cid in result["diverged_list"]:
                say(f"  differs: {cid} at {n}")
        else:
            step("every node holds the same cases as the hub, and the hub's figures match the day")
        say()
        step("where to look (password for every login: " + citylib.PASSWORD + ")")
        say(f"  city dashboard (supervisor sup1):  http://127.0.0.1:{c.hub.web_port}/")
        for n in c.nodes.values():
            if n.tier != "city":
                say(f"  {n.node_id:<14} ({n.tier}, user {c.users[n.name]}): http://127.0.0.1:{n.web_port}/")
        say(f"  the conflict to settle: case {target}, 阜新镇 clerk1 -> 冲突 (conflicts)")
        say(f"  logs and data: {args.data}")
        if args.once:
            return 0 if ok else 1
        step("the city is running; Ctrl-C stops it")
        while not stop["now"]:
            time.sleep(1)
            for n in c.nodes.values():
                if not n.running():
                    step(f"{n.name} stopped unexpectedly (exit {n.proc.returncode}); see {n.log_path}")
                    return 1
        return 0
    except KeyboardInterrupt:
        say()
        step("stopping the city")
        return 0
    finally:
        if c is not None:
            c.close()


if __name__ == "__main__":
    sys.exit(main())
