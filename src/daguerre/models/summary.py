"""Model cards in words: the one figure that matters for each task, and what every metric means.

Reads nothing but the JSON cards (no torch), so `daguerre models` answers at once.
"""

from __future__ import annotations

import textwrap

from daguerre.models.card import ModelCard

WIDTH = 80

# Words in a metric key (split on "_"): what the row measures, on what, compared with what.
MEASURES = {
    "style_distance_ratio": "VGG19 Gram style distance of the result to the painting, over the photo's own "
                            "(lower: nearer the painting; 1 = unchanged)",
    "content_lpips": "LPIPS between result and photo: how much of the photo's content changed (lower: kept)",
    "chroma_error": "mean Lab chroma error against the true colours (lower: closer)",
    "colour_distance": "sliced Wasserstein distance between the result's and the painting's Lab colours (lower: "
                       "nearer the painting's palette)",
    "style_distance": "VGG19 Gram style distance of the result to the painting (lower: nearer the painting)",
    "artfid_like": "ArtFID-like score, (1 + content LPIPS) x (1 + FID to the paintings) (lower: better)",
    "fid": "FID of the results against the true photos (lower: closer in distribution)",
    "kid": "KID of the results against the true photos (lower: closer in distribution)",
    "colourfulness": "Hasler-Süsstrunk colourfulness (the true photos' figure is the target)",
    "psnr": "PSNR against the original, dB (higher: closer)",
    "ssim": "SSIM against the original (higher: closer)",
    "lpips": "LPIPS perceptual distance to the original (lower: closer)",
    "masked_percent": "% of the pixels the damage mask marks (clean photos: false alarms)",
    "mask_removed": "% of the damaged input's error removed inside the true damage mask",
    "mask_recall": "share of the true damage the damage mask finds", "mask_precision": "share of the damage "
    "mask that is true damage", "mask_f1": "F1 of the damage mask", "mask_threshold": "the damage probability at "
    "which the mask is read",
    "photos": "number of held-out photos measured",
    "pairs": "number of photo x painting pairs measured",
}
SUBJECTS = {
    "degraded": "the damaged input as is", "classical": "classical filters (baseline)", "ours": "this model",
    "grey": "the grey input as is", "sepia": "sepia toning (baseline)", "truth": "the true colours",
    "bicubic": "bicubic upscaling (baseline)", "real-esrgan": "Real-ESRGAN x4plus (reference)",
    "colour_bank": "the colour bank (automatic colour, the default)", "net_alone": "the colour net alone",
    "ours_automatic": "this model's own automatic colour (the default comes from the colour bank)",
    "old_colorize_photos": "the previous colorize model (a U-Net cGAN)",
    "overlap_ours": "from a reference sharing half its pixels", "disjoint_ours": "from a reference sharing none",
    "overlap_matching_baseline": "VGG feature matching alone (baseline), a reference sharing half its pixels",
    "disjoint_matching_baseline": "VGG feature matching alone (baseline), a reference sharing none",
    "10_hints_ours": "from 10 colour hints", "10_hints_naive_propagation": "10 hints spread by a Gaussian (baseline)",
    "overlap_10_hints_ours": "from 10 hints and a reference sharing half its pixels",
    "disjoint_10_hints_ours": "from 10 hints and a reference sharing none",
    "1_hint_ours": "from 1 colour hint", "3_hints_ours": "from 3 colour hints",
}
SETS = {"aging": "synthetically aged photos", "unseen": "unseen damage (motion blur + noise)",
        "damage": "unseen damage (hairlines, dust, a crease, stains, silvering: a generator kept out of training)",
        "halftone": "halftone prints (an elliptical-dot CMYK screen the aging model does not draw)",
        "clean": "clean photos (nothing to restore: should come back unchanged)",
        "bicubic_lr": "bicubic-shrunk inputs", "realistic_lr": "realistic scans (blur, noise, JPEG)"}


def size_text(card: ModelCard) -> str:
    """Size of the weights file on disk, e.g. '1.1 MB' ('?' if it is missing)."""
    try:
        n = card.weights_path().stat().st_size
    except OSError:
        return "?"
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.0f} kB"


def headline(card: ModelCard) -> str:
    """The one figure that says how good the model is at its task, in a few words ('' if not measured)."""
    m = card.metrics
    ratio = next((v for k, v in m.items() if k.endswith("style_distance_ratio")), None)
    if ratio is not None:
        return f"style distance ratio {ratio:.3g}"
    if "heldout_aging_ours_lpips" in m and "heldout_aging_degraded_lpips" in m:
        gain = m["heldout_aging_degraded_lpips"] - m["heldout_aging_ours_lpips"]
        return f"LPIPS {m['heldout_aging_degraded_lpips']:.3f} -> {m['heldout_aging_ours_lpips']:.3f} (-{gain:.3f})"
    if "collection_leave_one_out_chroma_error_of_grey" in m:  # a bank of the user's photos, on its own photos
        return (f"{m['collection_leave_one_out_chroma_error_of_grey']:.2f} of grey's chroma error on its photos "
                f"(shipped {m['collection_leave_one_out_shipped_bank_chroma_error_of_grey']:.2f})")
    grey = m.get("heldout_grey_chroma_error")
    if "heldout_colour_bank_chroma_error" in m and grey:  # the automatic colour
        return f"chroma error {m['heldout_colour_bank_chroma_error']:.1f} (grey {grey:.1f})"
    if "heldout_overlap_ours_chroma_error" in m and grey:  # colorize's net: from a reference (and hints)
        return f"chroma {m['heldout_overlap_ours_chroma_error']:.1f} (ref.), grey {grey:.1f}"
    if "heldout_ours_chroma_error" in m and grey:
        return f"chroma error {m['heldout_ours_chroma_error']:.1f} (grey {grey:.1f})"
    if "heldout_colour_distance" in m:  # any painting: its palette, against the peer's where measured
        peer = m.get("magenta_colour_distance")
        colour = m["heldout_colour_distance"]
        return f"colour {colour:.2f} vs Magenta's {peer:.2f}" if peer else f"colour distance {colour:.2f}"
    speed = next((v for k, v in m.items() if k.startswith("ms_per_output_mp")), None)
    lpips = m.get("heldout_x4_realistic_lr_ours_lpips")
    if speed is not None:
        return f"{speed:.0f} ms/MP" + (f", LPIPS {lpips:.3f}" if lpips is not None else "")
    return ""


def meaning(key: str) -> str:
    """What a card's metric key means, e.g. 'heldout_aging_ours_lpips' -> 'LPIPS ... : this model, on ...'."""
    if key.startswith("ms_"):  # ms_512px_torch_2threads, ms_per_output_mp_2threads
        words = key.split("_")
        threads = words[-1].removesuffix("threads")
        what = "per output megapixel" if "mp" in words else f"per {words[1].removesuffix('px')}² picture"
        return f"milliseconds {what}, PyTorch on {threads} CPU threads"
    if key == "note":
        return "where the figures come from"
    scope, _, rest = key.partition("_")
    where = {"heldout": "held-out photos", "training": "the training photos (no held-out set)",
             "magenta": "Magenta's arbitrary-style model (the peer), on the same held-out pairs"}.get(scope)
    if where is None:
        scope, rest, where = "", key, ""
    measure = next((m for m in sorted(MEASURES, key=len, reverse=True) if rest == m or rest.endswith("_" + m)), None)
    if measure is None:
        return ""
    head = rest[: -len(measure)].strip("_")
    if head.startswith("x4_"):
        head = head[3:]
    data = next((s for s in sorted(SETS, key=len, reverse=True) if head == s or head.startswith(s + "_")), "")
    subject = head[len(data):].strip("_")
    parts = [MEASURES[measure]]
    if subject:
        parts.append(SUBJECTS.get(subject, subject))
    if data:
        parts.append(SETS[data])
    elif where and measure not in ("photos", "pairs"):
        parts.append(where)
    return "; ".join(parts)


def duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{max(minutes, 1)} min"


def _value(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, dict):
        return ", ".join(f"{k}=[{_value(x)}]" if isinstance(x, list) else f"{k}={_value(x)}" for k, x in v.items())
    if isinstance(v, list):
        return ", ".join(_value(x) for x in v)
    return str(v)


def describe(card: ModelCard) -> list[str]:
    """The whole card as lines a person reads: what, where from, licence, painting or data, recipe, metrics."""
    t = dict(card.training)
    lines = [*textwrap.wrap(f"{card.name}: {card.description}" if card.description else card.name, WIDTH), ""]

    def row(label: str, value: object) -> None:
        if value not in (None, "", {}, []):
            lines.extend(textwrap.wrap(_value(value), WIDTH, initial_indent=f"  {label:<15} ",
                                       subsequent_indent=" " * 18, break_on_hyphens=False,
                                       break_long_words=False))

    row("task", f"{card.task} ({card.architecture}, {size_text(card)}, sha256 {card.sha256[:12] or '-'})")
    row("source", card.source)
    row("licence", card.licence)
    row("settings", card.config)  # the network's shape and what the card sets after training (gates, rules)
    if card.style:
        s = card.style
        painting = ", ".join(str(x) for x in (s.get("artist"), s.get("title"), s.get("date")) if x)
        row("painting", painting)
        row("  from", s.get("source"))
        row("  licence", s.get("licence"))
    row("data", t.pop("data", ""))
    row("recipe", t.pop("recipe", ""))
    steps, wall = t.pop("steps", None), t.pop("wall_time_s", None)
    if steps is not None:
        row("training", f"{steps} steps" + (f" in {duration(wall)}" if wall else ""))
    row("losses", t.pop("losses", ""))
    for key, value in t.items():
        row("loss weights" if key == "weights" else key.replace("_", " "), value)
    row("weights file", card.weights_path())
    if card.metrics:
        lines += ["", "  metrics"]
        width = max(len(k) for k in card.metrics if k != "note")
        for key, value in card.metrics.items():
            text = meaning(key)
            if key == "note":
                lines += textwrap.wrap(f"note: {value}", WIDTH, initial_indent="  ", subsequent_indent="    ")
                continue
            lines.append(f"    {key:<{width}}  {_value(value):>7}")
            lines += textwrap.wrap(text, WIDTH, initial_indent=" " * 6, subsequent_indent=" " * 6)
    return lines
