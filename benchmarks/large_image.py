"""Peak memory and time to stylize a 6000x4000 scan through the shared tiler (fast and arbitrary).

Each case runs in a fresh process so its peak RSS (ru_maxrss) is its own.
    .venv/bin/python benchmarks/large_image.py [--size 6000x4000] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from datetime import date

CASE = r"""
import json, resource, sys, time, numpy as np, torch
torch.set_num_threads({threads})
from daguerre.imaging import Picture, load, save
from daguerre.data import sources
from daguerre.models.registry import list_models
from daguerre.ops import stylize
w, h = {w}, {h}
photo = load("{photo}")
x = torch.nn.functional.interpolate(torch.from_numpy(photo.rgb())[None], size=(h, w), mode="bilinear")
picture = Picture(x[0].numpy())
del x
params = {params}
if params.get("method") == "fast":
    params["model"] = list_models("style")[0].name
else:
    params["style"] = [str(sources.paintings("heldout")[0])]
t0 = time.perf_counter()
out = stylize.run(picture, **params)
seconds = time.perf_counter() - t0
save(out, "{out}")
print(json.dumps({{"seconds": seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="6000x4000")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    w, h = map(int, args.size.split("x"))
    from daguerre.demo import SAMPLES

    photo = SAMPLES / "rocket.jpg"
    print(f"# large image: {w}x{h}, {args.threads} threads, {platform.processor() or platform.machine()}, "
          f"{date.today()}")
    print(f"# command: {' '.join(sys.argv)}")
    print(f"{'method':<10} {'seconds':>8} {'MP/s':>6} {'peak RSS MB':>12}")
    for params in ({"method": "fast", "engine": "torch"}, {"method": "arbitrary"}):
        code = CASE.format(threads=args.threads, w=w, h=h, photo=photo, params=repr(params), out="/tmp/large.jpg")
        t0 = time.time()
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        if res.returncode:
            print(res.stderr[-2000:])
            continue
        r = json.loads(res.stdout.strip().splitlines()[-1])
        print(f"{params['method']:<10} {r['seconds']:8.1f} {w * h / 1e6 / r['seconds']:6.2f} {r['peak_rss_mb']:12.0f}"
              f"   (process wall {time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
