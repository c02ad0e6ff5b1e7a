"""A clip's speed under two versions of the code, or two precisions, alternated: is a change faster?

The machine is shared and its speed drifts by the minute, so the two versions run turn about, each in a fresh
process (`--child`), on the same 480p H.264 clip of a held-out photo panned and zoomed (`video.pan_clip`):
`daguerre.video.process_clip` as `daguerre stylize CLIP -m MODEL [--key-every N]` runs it (the clips' default
precision and consistency). Printed for each run: frames per second; CPU a frame of this process (all its
threads) and of its ffmpeg children; and each stage's own thread CPU a frame (decode, model, steady, encode; the
model's library pools not counted). On 2 cores, 24 fps needs about 83 ms of CPU a frame in all.

    .venv/bin/python benchmarks/video_alternate.py --before /tmp/clone/src [--after src] [--rounds 3]
        [--model-threads 1 2] [--frames 96] [--key-every 1] [--operation stylize]
    .venv/bin/python benchmarks/video_alternate.py --precisions fp32 bf16 --operation restore --frames 12
    .venv/bin/python benchmarks/video_alternate.py --precisions fp32 bf16 --style PAINTING.jpg --frames 24

`--before`: the `src` folder of a clone of the commit to compare with (e.g. `git clone -q . /tmp/before &&
git -C /tmp/before checkout COMMIT`). `--precisions`: this tree's code at each precision instead (`--operation`
restore, colorize, repair (restore then colorize) or stylize; each at its clip defaults otherwise). `--style`:
stylize by the any-painting network with that painting.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import base_parser, format_table, print_header

HERE = Path(__file__).parent
MODEL = "van-gogh-irises"


def child(src: str, clip: str, threads: int, frames: int, key_every: int = 1, operation: str = "stylize",
          precision: str | None = None, style: str | None = None) -> dict:
    """One run of `process_clip` with the code in `src` (run in its own process)."""
    sys.path.insert(0, src)
    import torch

    torch.set_num_threads(threads)
    from daguerre.ops import get_operation
    from daguerre.video.run import process_clip

    op = get_operation(operation)
    stylize = {"method": "arbitrary", "style": [style]} if style else {"model": MODEL, "method": "fast"}
    asked = {"stylize": stylize, "repair": {"colorize": True}}.get(operation, {})
    params = op.with_defaults(asked | ({"precision": precision} if precision else {}), clip=True)
    with tempfile.TemporaryDirectory() as tmp:
        run = {**params, "consistency": 0.5, "key_every": key_every}
        process_clip(op, clip, Path(tmp) / "warm.mp4", **run)  # the model compiled, cached
        usage = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
        stages: dict[str, float] = {}
        start = time.perf_counter()
        process_clip(op, clip, Path(tmp) / "out.mp4", stage_cpu=stages, **run)
        wall = time.perf_counter() - start
        after = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    spent = [b.ru_utime + b.ru_stime - a.ru_utime - a.ru_stime for a, b in zip(usage, after, strict=True)]
    self_cpu, ffmpeg_cpu = spent
    return {"fps": frames / wall, "self_ms": 1000 * self_cpu / frames, "ffmpeg_ms": 1000 * ffmpeg_cpu / frames,
            "precision": params.get("precision"),
            **{f"{k}_ms": 1000 * v / frames for k, v in stages.items()}}


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--before", help="src folder of the code to compare with (required)")
    parser.add_argument("--after", default=str(HERE.parent / "src"), help="src folder of the new code (this tree)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model-threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--frames", type=int, default=96)
    parser.add_argument("--key-every", type=int, default=1, help="the model on every Nth frame (`--key-every`)")
    parser.add_argument("--operation", default="stylize", choices=("stylize", "restore", "colorize", "repair"),
                        help="repair: restore, then colorize")
    parser.add_argument("--style", help="stylize: this painting by the any-painting network instead of " + MODEL)
    parser.add_argument("--precisions", nargs="+", help="alternate these precisions of this tree's code instead")
    parser.add_argument("--precision", help=argparse.SUPPRESS)
    parser.add_argument("--child", nargs=3, metavar=("SRC", "CLIP", "THREADS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        src, clip, threads = args.child
        print(json.dumps(child(src, clip, int(threads), args.frames, args.key_every, args.operation,
                               args.precision, args.style)))
        return
    if not args.before and not args.precisions:
        parser.error("--before SRC or --precisions P [P ...] is required")
    versions = ([(p, args.after, p) for p in args.precisions] if args.precisions
                else [("before", args.before, None), ("after", args.after, None)])
    print_header(f"Video: {args.operation}, {' and '.join(v[0] for v in versions)} alternated on a 480p clip", args)
    sys.path.insert(0, str(HERE.parent / "src"))
    from video import pan_clip

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        clip = pan_clip(Path(tmp) / "pan480.mp4", (854, 480), args.frames)
        for round_ in range(1, args.rounds + 1):
            for threads in args.model_threads:
                for name, src, precision in versions:
                    out = subprocess.run([sys.executable, __file__, "--child", src, str(clip), str(threads),
                                          "--frames", str(args.frames), "--key-every", str(args.key_every),
                                          "--operation", args.operation, *(["--precision", precision] if precision
                                                                           else []),
                                          *(["--style", args.style] if args.style else [])],
                                         capture_output=True, text=True, check=True)
                    r = json.loads(out.stdout.strip().splitlines()[-1])
                    rows.append([round_, threads, name, r["precision"], r["fps"], r["self_ms"], r["ffmpeg_ms"],
                                 *(r.get(f"{k}_ms", 0.0) for k in ("decode", "model", "steady", "encode"))])
                    print(f"  round {round_}, {threads} model thread(s), {name}: {r['fps']:.1f} fps", flush=True)
    print()
    print(format_table(["round", "model threads", "code", "precision", "fps", "CPU ms/frame (process)",
                        "ffmpeg ms/frame", "decode", "model", "steady", "encode"], rows))


if __name__ == "__main__":
    main()
