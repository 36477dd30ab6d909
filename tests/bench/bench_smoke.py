#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""bench suite: `isthmus-bench dp --seconds 1 --json` runs and its JSON is sane.

Shape and bookkeeping only (every cell present, every frame the path was
fed came out, numbers finite and positive, ratio = gbps / aead_gbps, the
seal-only columns consistent with Mpps: seal_ratio = mpps / seal_mpps,
bridge_ns_per_pkt = the per-worker ns/pkt difference). No
performance threshold: the figures belong in BENCHMARKS.md, not in a test.
"""
import json
import math
import subprocess
import sys

bench = sys.argv[1]
p = subprocess.run([bench, "--seconds", "1", "--trials", "1", "--json", "dp",
                    "--eal", "--no-huge -m 512"],
                   capture_output=True, text=True, timeout=300)
if p.returncode != 0:
    sys.exit(f"isthmus-bench dp failed ({p.returncode}):\n{p.stderr}")
doc = json.loads(p.stdout)
assert doc["benchmark"] == "dp", doc
rows = doc["results"]
workers = sorted({r["workers"] for r in rows})
assert workers[0] == 1 and workers[-1] == doc["max_workers"], workers
labels = ["64", "128", "256", "512", "1024", "1400", "1514", "imix"]
want = {(d, c, w, l) for d in ("encap", "decap")
        for c in ("aes256gcm", "chacha20poly1305") for w in workers for l in labels}
got = {(r["direction"], r["cipher"], r["workers"], r["label"]) for r in rows}
assert got == want, sorted(want ^ got)
for r in rows:
    for k in ("direction", "cipher", "backend", "frame_size", "workers", "mpps", "gbps",
              "aead_gbps", "ratio"):
        assert k in r, (k, r)
    for k in ("mpps", "gbps", "aead_gbps", "ratio"):
        assert isinstance(r[k], (int, float)) and math.isfinite(r[k]) and r[k] > 0, (k, r)
    assert r["delivered"] == 1.0, r
    assert abs(r["ratio"] - r["gbps"] / r["aead_gbps"]) < 0.01 + 0.01 * r["ratio"], r
    # esp_seal_burst alone on the same payload (one trial: the medians are that trial's)
    assert math.isfinite(r["seal_mpps"]) and r["seal_mpps"] > 0, r
    assert abs(r["seal_ratio"] - r["mpps"] / r["seal_mpps"]) < 0.01 + 0.01 * r["seal_ratio"], r
    ovh = r["workers"] * 1e3 / r["mpps"] - r["workers"] * 1e3 / r["seal_mpps"]
    # both Mpps printed to 0.0005: each 1e3/x term off by up to 1e3 * 0.0005 / x^2
    slack = r["workers"] * 0.5 * (1 / r["mpps"] ** 2 + 1 / r["seal_mpps"] ** 2) + 0.06
    assert abs(r["bridge_ns_per_pkt"] - ovh) <= slack, (ovh, slack, r)
    size = r["frame_size"]
    # Gbit/s of inner frames is Mpps x frame bits (IMIX: mean frame size).
    assert abs(r["gbps"] - r["mpps"] * size * 8 / 1000) <= 0.02 * r["gbps"] + 0.01, r
assert doc["hosts"] == 64, doc

# One flow (--hosts 1): every key of a burst equal, so the MAC table and SA
# lookups take their one-probe-per-run path; still every frame delivered.
p = subprocess.run([bench, "--seconds", "1", "--trials", "1", "--json", "dp", "--hosts", "1",
                    "--sizes", "64,1400", "--eal", "--no-huge -m 512"],
                   capture_output=True, text=True, timeout=300)
if p.returncode != 0:
    sys.exit(f"isthmus-bench dp --hosts 1 failed ({p.returncode}):\n{p.stderr}")
one = json.loads(p.stdout)
assert one["hosts"] == 1, one
assert len(one["results"]) == 2 * 2 * len(workers) * 2, one["results"]
for r in one["results"]:
    assert r["delivered"] == 1.0 and r["mpps"] > 0, r
for bad in ("0", "65"):
    p = subprocess.run([bench, "dp", "--hosts", bad], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "usage" in p.stderr, (bad, p.returncode, p.stderr)

# --rounds 3: every figure the median of three whole passes, each round's
# ratio listed; the reported ratio is the middle one of them.
p = subprocess.run([bench, "--seconds", "1", "--trials", "1", "--json", "dp", "--rounds", "3",
                    "--sizes", "64", "--cipher", "aes256gcm", "--workers", "1",
                    "--eal", "--no-huge -m 512"],
                   capture_output=True, text=True, timeout=300)
if p.returncode != 0:
    sys.exit(f"isthmus-bench dp --rounds 3 failed ({p.returncode}):\n{p.stderr}")
three = json.loads(p.stdout)
assert three["rounds"] == 3 and doc["rounds"] == 1, (three, doc["rounds"])
assert [(r["direction"], r["workers"]) for r in three["results"]] == [("encap", 1), ("decap", 1)], three
for r in three["results"]:
    rr = r["ratio_rounds"]
    assert len(rr) == 3 and all(x > 0 for x in rr), r
    assert r["ratio"] == sorted(rr)[1], r
    assert r["delivered"] == 1.0, r
assert all("ratio_rounds" not in r for r in rows), "one round lists no rounds"
assert p.stderr.count("round ") == 3, p.stderr
for bad in ("0", "22"):
    p = subprocess.run([bench, "dp", "--rounds", bad], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "usage" in p.stderr, (bad, p.returncode, p.stderr)
print(f"ok: {len(rows)} + {len(one['results'])} + {len(three['results'])} measurements")
