#!/usr/bin/env python3
"""Compares cifarbench's NVML telemetry with nvidia-smi sampled alongside it.

    compare_nvml_smi.py TELEMETRY_JSON NVIDIA_SMI_CSV

TELEMETRY_JSON is `cifarbench train --telemetry-log`'s file (samples with seconds since
started_unix_s); NVIDIA_SMI_CSV is `nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used
--format=csv,noheader,nounits -lms 100`. Over the training phase it prints the mean GPU
utilization and the peak memory each tool saw, and their differences (they should agree within
a few points). With no nvidia-smi samples it says so and exits 0.
"""
import datetime
import json
import os
import sys


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    log = json.load(open(sys.argv[1]))
    start = log.get("started_unix_s", 0)
    train = []
    for s in log.get("samples", []):
        gpus = s.get("gpus") or []
        if s.get("phase") == "train" and gpus:
            g = gpus[0]
            train.append((start + s["t_s"], g.get("utilization_gpu_percent"), g.get("memory_used_bytes")))
    if not train:
        print(f"no GPU samples in the training phase ({log.get('gpu_unavailable_reason', 'no reason given')})")
        return 0
    if not os.path.exists(sys.argv[2]) or os.path.getsize(sys.argv[2]) == 0:
        print("no nvidia-smi samples: nothing to compare")
        return 0
    t0, t1 = train[0][0], train[-1][0]
    smi = []
    for line in open(sys.argv[2]):
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 3:
            continue
        try:
            ts = datetime.datetime.strptime(parts[0], "%Y/%m/%d %H:%M:%S.%f")
            ts = ts.timestamp()  # nvidia-smi prints local time, as a naive datetime is read
            smi.append((ts, float(parts[1]), float(parts[2]) * 2**20))
        except ValueError:
            continue
    window = [s for s in smi if t0 <= s[0] <= t1]
    if not window:
        print(f"no nvidia-smi sample between {t0:.1f} and {t1:.1f} (clocks differ?)")
        return 1
    nv_util = [u for _, u, _ in train if u is not None]
    nv_mem = [m for _, _, m in train if m is not None]
    smi_util = sum(u for _, u, _ in window) / len(window)
    smi_mem = max(m for _, _, m in window)
    nvml_util = sum(nv_util) / len(nv_util) if nv_util else float("nan")
    nvml_mem = max(nv_mem) if nv_mem else float("nan")
    print(f"training phase {t1 - t0:.1f} s: GPU utilization mean NVML {nvml_util:.1f} % vs nvidia-smi "
          f"{smi_util:.1f} % ({len(train)} / {len(window)} samples, difference {nvml_util - smi_util:+.1f} points); "
          f"peak memory NVML {nvml_mem / 2**30:.2f} GiB vs nvidia-smi {smi_mem / 2**30:.2f} GiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
