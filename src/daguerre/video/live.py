"""`daguerre live`: a fast style model on a camera or a looping video file, with the frame rate shown or printed."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from daguerre.imaging import ImageError, Picture
from daguerre.video import DEFAULT_CONSISTENCY, MAX_KEY_EVERY
from daguerre.video.clip import open_clip, to_rgb8
from daguerre.video.pipeline import in_thread

WINDOW = "daguerre live (q to quit)"


def camera_frames(index: int) -> Iterator[Picture]:
    """Frames from camera `index` (OpenCV), as Pictures."""
    import cv2

    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # its backends' warnings: our one line instead
    try:
        capture = cv2.VideoCapture(index)
    finally:
        cv2.utils.logging.setLogLevel(level)
    if not capture.isOpened():
        raise RuntimeError(f"camera {index}: cannot open it (no such camera, or no permission)")
    try:
        while True:
            ok, bgr = capture.read()
            if not ok:
                raise RuntimeError(f"camera {index}: stopped sending frames")
            yield Picture(bgr[..., ::-1].transpose(2, 0, 1) * np.float32(1 / 255))
    finally:
        capture.release()


def looping_frames(path: Path) -> Iterator[Picture]:
    """The frames of a clip, from the start again at its end."""
    while True:
        _, frames = open_clip(path)
        yield from frames


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run_live(model: str, source: int | str | Path = 0, *, frames: int | None = None, size: int = 480,
             precision: str | None = None, consistency: float = DEFAULT_CONSISTENCY, window: bool | None = None,
             key_every: int = 1, log: Callable[[str], None] = print) -> float:
    """Stylize frames as they come until `frames` are done (or q / Ctrl-C); returns the mean frames per second.
    `precision` None: as for clips (int8 where faithful). `key_every` N > 1: the model on every Nth frame, the
    frames between made from its outputs (`daguerre.video.inbetween`; shown N - 1 frames later)."""
    import itertools

    import cv2

    from daguerre.models.onnx import check_precision
    from daguerre.ops import get_operation
    from daguerre.video.consistency import TemporalConsistency

    if precision is not None:
        check_precision(precision)
    if not 1 <= key_every <= MAX_KEY_EVERY:  # else the model thread divides by it, or frames pile up unbounded
        raise ValueError(f"key_every must be 1 to {MAX_KEY_EVERY}, got {key_every}")
    if isinstance(source, int):
        stream = camera_frames(source)
    else:
        if not Path(source).exists():
            raise ImageError(source, "file not found")
        stream = looping_frames(Path(source))
    op, steady = get_operation("stylize"), TemporalConsistency(consistency)
    precision = op.with_defaults({"model": model, "precision": precision}, clip=True)["precision"]
    log(f"{model}: {precision}")
    show = has_display() if window is None else window
    if show and not _can_show():
        log("no window: this OpenCV has no GUI (opencv-python-headless); printing the frame rate instead")
        show = False
    count = itertools.count()

    def run(frame: Picture) -> Picture:
        return op.run(frame, method="fast", model=model, precision=precision, tile=max(frame.size))

    def stylized(frame: Picture) -> tuple[Picture, Picture | None]:
        frame = _fit(frame, size)
        return frame, run(frame) if next(count) % key_every == 0 else None

    # capture and the model each in a thread, a frame or two ahead: the consistency step and the display overlap
    results = in_thread(in_thread(stream, depth=2, name="capture"), stylized, depth=2, name="model")
    if key_every > 1:
        from daguerre.video.inbetween import Inbetween

        outputs = Inbetween(key_every, lean=1 - consistency).frames(results, run)
    else:
        outputs = (result.with_pixels(steady(frame.pixels, result.pixels)) for frame, result in results)
    done, start, last_print, fps = 0, time.perf_counter(), time.perf_counter(), 0.0
    try:
        for out in outputs:
            done += 1
            now = time.perf_counter()
            fps = done / (now - start)
            if show:
                bgr = np.ascontiguousarray(to_rgb8(out)[..., ::-1])
                cv2.putText(bgr, f"{fps:.1f} fps", (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2)
                cv2.imshow(WINDOW, bgr)
                if cv2.waitKey(1) & 0xFF == ord("q"):
                    break
            elif now - last_print >= 1 or done == frames:
                log(f"{done} frames  {fps:.1f} fps  ({out.size[0]}x{out.size[1]})")
                last_print = now
            if frames is not None and done >= frames:
                break
    except KeyboardInterrupt:
        pass
    finally:
        results.close()  # type: ignore[attr-defined]
        if show:
            cv2.destroyAllWindows()
    log(f"{done} frames stylized at {fps:.1f} fps on average")
    return fps


def _fit(picture: Picture, size: int) -> Picture:
    """The frame with its long side at most `size`."""
    import torch

    from daguerre.imaging.colour import downscale

    if max(picture.size) <= size:
        return picture
    return picture.with_pixels(downscale(torch.from_numpy(picture.rgb())[None], size)[0].numpy())


def _can_show() -> bool:
    import cv2

    try:
        cv2.namedWindow(WINDOW)
        return True
    except cv2.error:
        return False
