"""The Run form: which parameters each operation takes, as form fields, and turning a submitted form into
the ``params`` dict the Operation (and `daguerre archive apply --param`) takes."""

from __future__ import annotations

import re
from dataclasses import dataclass

from daguerre.archive.api import Archive

HINT = re.compile(r"\d{1,5},\d{1,5},#[0-9a-fA-F]{6}")


@dataclass
class Field:
    name: str
    kind: str  # number | choice | item | hints | check
    default: object = None
    choices: tuple = ()
    help: str = ""
    low: float | None = None
    high: float | None = None
    label: str = ""  # as the form names it, if not by its parameter's name


_cards: tuple[float, list] = (0.0, [])
_forgotten = 0  # how many times the cards were forgotten: a read begun before the last is not kept


def _installed() -> list:
    """The installed model cards, re-read at most every 10 s (a model trained meanwhile shows up soon). Safe beside
    `forget_installed` on the runner's thread: the global is read once, and a list read while it was forgotten is
    used but not kept."""
    global _cards
    import time

    from daguerre.models.registry import list_models

    read_at, cards = _cards
    if time.monotonic() - read_at > 10:
        forgotten = _forgotten
        cards = list_models()
        if forgotten == _forgotten:
            _cards = (time.monotonic(), cards)
    return cards


def forget_installed() -> None:
    """Re-read the installed models on the next call (a model was just published)."""
    global _cards, _forgotten
    _forgotten += 1
    _cards = (0.0, [])


def operation_fields(clip: bool = False) -> dict[str, list[Field]]:
    """Every operation the Run page offers, with its fields (model lists read from the installed cards); for a
    ``clip``, its frame loop's too (`clip_fields`)."""
    from daguerre.ops.film import PRESETS

    def models(task: str) -> tuple[str, ...]:
        return tuple(c.name for c in _installed() if c.task == task)

    styles = models("style")
    fields = {
        "stylize": [Field("model", "choice", styles[0] if styles else None, styles, "a painting's fast style model"),
                    Field("style", "item", help="or any painting in the archive (its id): arbitrary style"),
                    Field("strength", "number", 1.0, low=0, high=1)],
        "restore": [Field("model", "choice", None, models("restore")), Field("strength", "number", 1.0, low=0, high=1),
                    Field("reference", "item", help="a clean print or period photo to match tone and colour (id)"),
                    Field("damage_mask", "mask", help="paint over damage the model should repair too")],
        "colorize": [Field("model", "choice", None, models("colorize")),
                     Field("bank", "choice", None, models("colorize-bank"), label="colour bank",
                           help="the automatic colour's examples: the shipped bank, or one made from your own "
                                "colour photos (daguerre train colour-bank)"),
                     Field("reference", "item", help="a colour picture in the archive to take colours from (id)"),
                     Field("hints", "hints", help="colour hints: click the picture, pick a colour")],
        "upscale": [Field("model", "choice", None, models("upscale")), Field("scale", "choice", "2", ("2", "4"))],
        "film": [Field("preset", "choice", "sepia", tuple(PRESETS)), Field("strength", "number", 1.0, low=0, high=1)],
        "repair": [Field("colorize", "check", False),
                   Field("reference", "item", help="a colour picture to take colours from (id): colorizes too"),
                   Field("hints", "hints", help="colour hints (they colorize too): click the picture, pick a colour"),
                   Field("bank", "choice", None, models("colorize-bank"), label="colour bank",
                         help="a colour bank of your own colour photos (it colorizes too)"),
                   Field("damage_mask", "mask", help="paint over damage the model should repair too"),
                   Field("scale", "choice", "1", ("1", "2", "4"))],
    }
    if clip:
        for name, taken in fields.items():
            taken += clip_fields(name)
    return fields


def clip_fields(operation: str) -> list[Field]:
    """A clip's frame-loop options (`daguerre.video.CLIP_PARAMS`) the Run form offers: how steady, and for the
    operations that can make frames between keys (`video.inbetween`), the model on every Nth frame only."""
    from daguerre.video import DEFAULT_CONSISTENCY
    from daguerre.video.inbetween import INBETWEEN_OPERATIONS

    fields = [Field("consistency", "number", DEFAULT_CONSISTENCY, low=0, high=1, label="steadiness",
                    help="how strongly each frame is pulled towards the previous output along the motion; "
                         "0: frame by frame")]
    if operation in INBETWEEN_OPERATIONS:
        fields.append(Field("key_every", "choice", "1", ("1", "2", "3"), label="model on every Nth frame",
                            help="2: about 1.6x faster; the frames between are made from the model's outputs "
                                 "on either side, moved along the motion"))
    return fields


class FormError(ValueError):
    pass


def params_from_form(archive: Archive, operation: str, form: dict[str, object], clip: bool = False,
                     files: dict[str, str] | None = None) -> dict:
    """The operation's parameters from submitted form values; an item id becomes the stored file's path. A
    ``clip``'s frame-loop options are read too; a picture's form has none, and any sent are not read. ``files``:
    pictures uploaded with the form and kept only for this request (a Quick preview's painting or painted damage),
    by parameter."""
    fields = operation_fields(clip).get(operation)
    if fields is None:
        raise FormError(f"{operation!r}: not an operation the web app runs")
    params: dict[str, object] = {}
    for f in fields:
        raw = form.get(f.name)
        if f.kind == "hints":
            values = form.get("hints_list") or ([raw] if raw else [])
            hints = [h.strip() for v in values for h in str(v).split(";") if h.strip()]
            if bad := [h for h in hints if not HINT.fullmatch(h)]:
                raise FormError(f"hints: {bad[0]!r} is not X,Y,#RRGGBB")
            if hints:
                params["hints"] = hints
            continue
        if f.kind == "check":
            if str(raw or "").lower() in ("on", "true", "1"):
                params[f.name] = True
            continue
        if raw in (None, ""):
            continue
        raw = str(raw).strip()
        named = f"{f.name} ({f.label})" if f.label else f.name  # as the API and the CLI name it, and as the form
        if f.kind == "number":
            try:
                value = float(raw)
            except ValueError:
                raise FormError(f"{named}: {raw!r} is not a number") from None
            if (f.low is not None and value < f.low) or (f.high is not None and value > f.high):
                raise FormError(f"{named}: {value:g} is outside {f.low:g}..{f.high:g}")
            params[f.name] = value
        elif f.kind == "choice":
            if raw not in f.choices:
                raise FormError(f"{named}: {raw!r} is not one of {', '.join(map(str, f.choices))}")
            params[f.name] = int(raw) if raw.isdigit() else raw
        elif f.kind in ("item", "mask"):  # a mask: an item id, given or made from the one painted (pages.py)
            params[f.name] = item_path(archive, raw)
    params |= files or {}
    if operation == "stylize" and "style" not in params and not params.get("model"):
        raise FormError("stylize: pick a style in the gallery or give a painting (an item id, or upload one)")
    if operation == "stylize":
        params["method"] = "arbitrary" if "style" in params else "fast"
        if params["method"] == "arbitrary":
            params.pop("model", None)
    if operation == "repair" and params.get("scale") == 1:
        params.pop("scale")
    if params.get("key_every") == 1:  # every frame: the default, and a recipe without it re-derives as before
        params.pop("key_every")
    if operation == "repair" and ("reference" in params or "hints" in params or "bank" in params):
        params["colorize"] = True  # a reference, hints or a bank are for the colorize step: asking for them asks for it
    return params


def item_path(archive: Archive, ref: str) -> str:
    """The local path of a stored item's file (a painting or reference given by id)."""
    from daguerre.archive import ArchiveError

    try:
        item = archive.get(ref)
    except ArchiveError as e:
        raise FormError(str(e)) from None
    path = archive.store.local_path(item.sha256)
    if path is None:
        raise FormError(f"{item.id}: the store is remote; give a painting stored on this machine")
    return str(path)
