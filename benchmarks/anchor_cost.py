"""What the anchor (issue 14, `daguerre.video.anchor`) costs a clip: CPU time a frame of `process_clip` at 640x360
with an anchored style model, against the same weights with the card's anchor field removed (runs as before),
interleaved in one run; and the anchor's own work alone (the source-coordinate map advanced along the flow, the
tile sampled and added), per frame.

    PYTHONPATH=src .venv/bin/python benchmarks/anchor_cost.py DIR [--frames 24] [--repeats 3] [--threads 1]

DIR: a folder with an exported style model whose card has `training.anchor`. The clip is a pan over a
TRAINING-split photo (speed only).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import base_parser, print_header, set_threads  # noqa: E402
from daguerre.data.sources import photos  # noqa: E402
from daguerre.imaging import Picture, load  # noqa: E402
from daguerre.ops import get_operation, styles  # noqa: E402
from daguerre.video.anchor import MovingAnchor, add_anchor, wanted  # noqa: E402
from daguerre.video.clip import ClipWriter  # noqa: E402
from daguerre.video.consistency import TemporalConsistency  # noqa: E402
from daguerre.video.run import process_clip  # noqa: E402
from daguerre.video.synthetic import panned_frames  # noqa: E402

SIZE = (640, 360)


def cpu() -> float:
    """This process's and its waited-for children's (ffmpeg) CPU seconds, user + system."""
    own, children = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = base_parser(__doc__.split("\n")[0])
    parser.add_argument("models", type=Path, help="folder of the exported anchored style model")
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--precisions", nargs="+", default=["int8", "fp32"])
    args = parser.parse_args()
    set_threads(args.threads)
    import cv2

    cv2.setNumThreads(args.threads)
    print_header("anchor_cost: the anchor's CPU a frame in process_clip (640x360)", args)
    with tempfile.TemporaryDirectory() as tmp:
        anchored, plain = Path(tmp) / "anchored", Path(tmp) / "plain"
        cards = [json.loads(f.read_text()) for f in sorted(args.models.glob("*.json"))]
        card = next(c for c in cards if c.get("training", {}).get("anchor"))
        for folder, keep in ((anchored, True), (plain, False)):
            folder.mkdir()
            shutil.copy(args.models / card["weights"], folder / card["weights"])
            copy = json.loads(json.dumps(card))
            if not keep:
                del copy["training"]["anchor"]
            (folder / f"{card['name']}.json").write_text(json.dumps(copy))
        photo = next(p.rgb() for p in (load(f) for f in photos("train", graphics=False)[5:]) if p.size[0] >= 1000)
        clip = Path(tmp) / "pan.mp4"
        frames = [f for f, _ in panned_frames(photo, SIZE, args.frames)]
        with ClipWriter(clip, 24) as writer:
            for f in frames:
                writer.write(Picture(f))
        op = get_operation("stylize")
        spent: dict[tuple[str, str], list[float]] = {}
        for rep in range(args.repeats + 1):  # the first round loads models and quantizes: not counted
            for precision in args.precisions:
                for label, folder in (("with the anchor", anchored), ("without (card field removed)", plain)):
                    os.environ["DAGUERRE_MODELS"] = str(folder)
                    styles.style_model.cache_clear()
                    styles.style_model_onnx.cache_clear()
                    if rep == 0:
                        process_clip(op, clip, Path(tmp) / "warm.mp4", model=card["name"], precision=precision)
                        continue
                    load_avg, start = os.getloadavg()[0], cpu()
                    process_clip(op, clip, Path(tmp) / "out.mp4", model=card["name"], precision=precision)
                    ms = 1e3 * (cpu() - start) / args.frames
                    spent.setdefault((precision, label), []).append(ms)
                    print(f"  round {rep} {precision} {label}: {ms:.1f} ms CPU a frame (load {load_avg:.1f})",
                          flush=True)
        print()
        for precision in args.precisions:
            w = np.median(spent[precision, "with the anchor"])
            wo = np.median(spent[precision, "without (card field removed)"])
            print(f"{precision}: median {w:.1f} ms CPU a frame with the anchor, {wo:.1f} without: x{w / wo:.3f} "
                  f"({w - wo:+.1f} ms)")
        amount, sigma = wanted(type("Card", (), {"training": card["training"]}))
        mover, motion = MovingAnchor(amount, sigma), TemporalConsistency(0.0)
        moved = [motion.motion(f) for f in frames]
        times = []
        for f, m in zip(frames, moved, strict=True):
            start = time.thread_time()
            add_anchor(f, mover.next(SIZE, m))
            times.append(time.thread_time() - start)
        print(f"the anchor's own work (map advanced, tile sampled, added; the flow not counted: the blend's): "
              f"median {1e3 * np.median(times[1:]):.2f} ms a frame at {SIZE[0]}x{SIZE[1]}")


if __name__ == "__main__":
    main()
