"""Stages of a clip's processing run in threads joined by bounded queues, so that decoding, the model, the
consistency step and encoding overlap on several cores (ffmpeg runs in its own processes; ONNX Runtime, OpenCV
and NumPy's large operations release the GIL). Each queue holds at most `depth` frames: memory stays bounded."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

DEPTH = 3  # frames a stage may run ahead of the next: enough to absorb jitter, a few MB each at 1080p
_END = object()


def in_thread(items: Iterable[Any], work: Callable[[Any], Any] | None = None, depth: int = DEPTH,
              name: str = "video-stage", cpu: dict[str, float] | None = None) -> Iterator[Any]:
    """`work(item)` for each of `items` (or the items themselves), computed by a background thread at most `depth`
    items ahead of the consumer.

    An exception raised while producing is raised here, in the consumer, at the point the item would have come.
    When either side stops (an error, or the consumer simply stops iterating), the producer stops and closes
    `items`: a chain of stages winds down from any point, and a decoder upstream releases its ffmpeg process.
    `cpu`: the thread's CPU seconds are added to `cpu[name]` when it ends (threads a library starts, such as
    ONNX Runtime's pool, are not counted).
    """
    slots: queue.Queue = queue.Queue(depth)
    stop = threading.Event()

    def put(entry: tuple[bool, object]) -> bool:
        while not stop.is_set():
            try:
                slots.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        start = time.thread_time()
        source = iter(items)
        try:
            for item in source:
                if not put((True, item if work is None else work(item))):
                    return
            put((False, _END))
        except BaseException as e:  # noqa: BLE001 - handed to the consumer, which raises it
            put((False, e))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()
            if cpu is not None:
                cpu[name] = cpu.get(name, 0.0) + time.thread_time() - start

    worker = threading.Thread(target=produce, name=name, daemon=True)
    worker.start()
    try:
        while True:
            ok, item = slots.get()
            if ok:
                yield item  # type: ignore[misc]
            elif item is _END:
                return
            else:
                raise item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()
