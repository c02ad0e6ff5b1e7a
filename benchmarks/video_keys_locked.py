"""Keys made by the local lock: `--key-every 2` with each key rendered by `SteadyLocal` (int8 halves, run on the keys
only, in order: its flow spans the frames between), the frames between made by `Inbetween` as `process_clip` makes
them. A question for issue 14's one-setting goal (warping error halved at style distance within 5 %, at the keys'
speed): do keys whose strokes are locked to the scene blend between frames without the style cost the plain keys
pay on Megamind?

Rows: frame by frame (int8, the baseline), the local lock on every frame, and locked keys every 2 (lean 0, 0.5, 1)
and every 3; warping error (DIS flow; on the pan the true flow too) and Gram style distance, x / % against frame by
frame, and sharpness (mean absolute neighbour difference) against it. Frames the model runs on between keys
(nothing shows them) take the plain output.

    OMP_NUM_THREADS=1 PYTHONPATH=src .venv/bin/python benchmarks/video_keys_locked.py megamind|pan [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import RESULTS, load_rgb, painting_path, print_header, set_threads  # noqa: E402
from daguerre.models.registry import find_model  # noqa: E402
from daguerre.ops import get_operation, styles  # noqa: E402
from daguerre.video.inbetween import Inbetween  # noqa: E402
from daguerre.video.steady_local import SteadyLocal  # noqa: E402
from daguerre.video.steady_style import onnx_halves  # noqa: E402
from video import STYLE_MODEL, _sharpness, made_between, real_frames, stability, stylized, synthetic  # noqa: E402

PARAMS = {"method": "fast", "model": STYLE_MODEL, "tile": 1024, "precision": "int8"}
CONFIGS = [(1, 0.5, None), (2, 0.5, 0.5), (2, 0.5, 0.0), (2, 0.5, 1.0), (3, 0.5, 0.5)]  # (key every, lock, lean)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("clip", choices=["megamind", "pan"])
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    args.threads, args.quick = 1, False
    set_threads(args.threads)
    print_header(f"video_keys_locked.py {args.clip}", args)
    frames = real_frames(48) if args.clip == "megamind" else synthetic((854, 480), 3, 16)
    plain = stylized(get_operation("stylize"), frames, PARAMS)
    painting = load_rgb(painting_path(find_model(STYLE_MODEL)), max(frames[0][0].shape[1:]))[0].numpy()
    card, net = styles.style_model(STYLE_MODEL)
    halves = onnx_halves(card, net, "int8")

    def measured(outputs: list[np.ndarray], label: str, share: float = 1.0) -> dict:
        row = stability(frames, outputs, (0.0,), False, painting)[0]  # strength 0: the outputs as they are
        return {**row, "label": label, "model_share": share,
                "sharpness": float(np.mean([_sharpness(o) for o in outputs[::5]]))}

    rows, n = [measured(plain, "frame by frame")], len(frames)
    for every, lock, lean in CONFIGS:
        keys = [i for i in range(n) if i % every == 0 or i == n - 1]
        steady = SteadyLocal(net, lock, halves=halves)
        locked = {i: steady(frames[i][0]) for i in keys}
        if every == 1:
            rows.append(measured([locked[i] for i in range(n)], f"local lock {lock} on every frame"))
        else:
            between = Inbetween(every, lean=lean)
            made = made_between(between, frames, [locked.get(i, plain[i]) for i in range(n)])
            rows.append(measured(made, f"locked keys every {every}, lock {lock}, lean {lean}",
                                 1 - between.made / n))
        print(f"  {rows[-1]['label']} done", flush=True)
    base = rows[0]
    for r in rows:
        true = (f" / x{r['warping_error_true_flow'] / base['warping_error_true_flow']:.3f} true flow"
                if args.clip == "pan" else "")
        print(f"{r['label']:44s} model {r['model_share']:.2f}  warping "
              f"x{r['warping_error_estimated_flow'] / base['warping_error_estimated_flow']:.3f} DIS{true}  style "
              f"{100 * (r['style_distance'] / base['style_distance'] - 1):+.1f} %  sharpness "
              f"x{r['sharpness'] / base['sharpness']:.3f}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"video_keys_locked_{args.clip}.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
