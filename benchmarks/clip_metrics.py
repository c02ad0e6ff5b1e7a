"""What recording a clip derivative's metrics costs against making it (`video.measure.measure_clip`).

A 480p clip of 240 frames (10 s at 24 fps, a pan over a bundled photo) goes through `process_clip` (film sepia,
then restore), then is measured against its source without and with LPIPS; CPU seconds in one process.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/clip_metrics.py [OPERATIONS]   (1: film only; default 2)
"""

import sys
import tempfile
import time
from pathlib import Path

from daguerre.imaging import Picture, load
from daguerre.ops import get_operation
from daguerre.video.clip import ClipWriter
from daguerre.video.measure import measure_clip
from daguerre.video.run import process_clip
from daguerre.video.synthetic import panned_frames


def cpu(run) -> tuple[float, object]:  # noqa: ANN001
    start = time.process_time()
    out = run()
    return time.process_time() - start, out


def main() -> None:
    work = Path(tempfile.mkdtemp())
    src, out = work / "pan.mp4", work / "out.mp4"
    photo = load(Path(__file__).parents[1] / "src/daguerre/samples/astronaut.jpg").rgb()
    with ClipWriter(src, 24) as writer:
        for frame, _ in panned_frames(photo, (854, 480), 240):
            writer.write(Picture(frame))
    cases = (("film", {"preset": "sepia"}), ("restore", {}))
    for name, params in cases[: int(sys.argv[1]) if len(sys.argv) > 1 else 2]:
        made, _ = cpu(lambda name=name, params=params: process_clip(get_operation(name), src, out, 0.5, **params))
        plain, m = cpu(lambda: measure_clip(out, src, lpips=False))
        full, _ = cpu(lambda: measure_clip(out, src, lpips=True))
        print(f"{name}: make {made:.1f} CPU s; metrics {plain:.1f} (x{plain / made:.2f}), with LPIPS {full:.1f} "
              f"(x{full / made:.2f}); {m['frames_measured']} of {m['frames']} frames measured")


if __name__ == "__main__":
    main()
