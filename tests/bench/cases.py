#!/usr/bin/env python3
"""The cases every benchmark that crosses a wire uses: one JSON object a line.

  python3 tests/bench/cases.py --n 10000 --seed 7 --out cases.jsonl

Each line is a case a village agent files for a resident of 他本扎兰村 (210921100202,
阜新镇, the real Fuxin tree): an item from the shipped catalog that allows proxy filing, a
valid GB 11643 ID number, a name and a phone number, the materials received, and a note, so
that a case's fields are 300-1,000 bytes. The same lines feed both systems:

  {"n": 1,
   "filing": {...},   the body of POST /api/cases on a daiban-node (submit: true)
   "doc": {...}}      the same case as the JSON document a PouchDB/CouchDB deployment would
                      keep (_id, the filing's fields, item name, department, status,
                      submitted_at): what PouchDB replicates for this case

Deterministic: the same --n and --seed give the same file. Python 3 standard library only.
"""

import argparse
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "ops"))
import city as citylib  # noqa: E402

VILLAGE = "210921100202"
NOTES = ["居民行动不便，由代办员上门收件。", "材料原件已核验，复印件留存。", "申请人外出务工，联系电话为家属电话。",
         "家庭成员5人，其中残疾1人。", "申请人年事已高，由其子女陪同办理。", ""]


def cases(n, seed):
    rng = random.Random(seed)
    items = [i for i in citylib.load_catalog(os.path.join(citylib.ROOT, "config"))
             if i["proxy_allowed"] == "yes" and i["accept_level"] == "township"]
    for k in range(1, n + 1):
        item = rng.choice(items)
        required = item["materials"].split(";")
        received = [m for m in required if rng.random() < 0.85] or required[:1]
        note = rng.choice(NOTES) + "代办说明：" + "，".join(rng.sample(required, len(required)))
        note += "。" + "已电话告知申请人办理进度。" * rng.randint(1, 6)
        filing = dict(citylib.resident(rng), item=item["code"], submit=True, materials=received, note=note)
        day = f"2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d}"
        doc = {"_id": f"{VILLAGE}-{day.replace('-', '')}-{k:07d}",
               "type": "case", "region": VILLAGE, "item": item["code"], "item_name": item["name"],
               "department": item["department"], "accept_level": item["accept_level"],
               "decide_level": item["decide_level"], "promised_days": int(item["promised_days"]),
               "applicant_name": filing["applicant_name"], "applicant_id": filing["applicant_id"],
               "applicant_phone": filing["applicant_phone"], "materials_required": required,
               "materials": received, "note": note, "status": "submitted",
               "filed_by": "agent1@v" + VILLAGE, "submitted_at": day + "T09:30:00+08:00"}
        yield {"n": k, "filing": filing, "doc": doc}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    with open(a.out, "w", encoding="utf-8") as f:
        for c in cases(a.n, a.seed):
            f.write(json.dumps(c, ensure_ascii=False, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
