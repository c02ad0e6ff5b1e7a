"""A clip's colours as players show them: how its YUV is read into RGB, and how it is written back.

Video stores YUV; the matrix that turns it into RGB is named in the file or, when not, taken by players from the
frame's size: BT.709 for HD, BT.601 up to PAL's 576 lines (mpv's rule, and browsers'). ffmpeg on its own reads an
untagged file as BT.601 at any size and writes BT.601 without saying so, so an HD result played back shifted
(SMPTE bars' green 220 came back 185). Here an untagged file is read by the players' rule, every clip is written
with its matrix, primaries and transfer named (by the same rule, so players that ignore the names agree), and an
HDR file (PQ or HLG) is tone-mapped to SDR BT.709 as it is read, since the Operations are made for SDR pictures;
wide-gamut BT.2020 SDR is brought into BT.709 the same way.
"""

from __future__ import annotations

import re
from typing import NamedTuple

HD_LINES = 576  # more lines than PAL's: HD, BT.709
HDR_TRANSFERS = {"smpte2084": "PQ", "arib-std-b67": "HLG"}
REFERENCE_WHITE = 203  # nits: BT.2408's HDR reference white, shown as SDR's white
HDR_PEAK = 1000  # nits: HDR10's and HLG's usual mastering peak, where the highlights' roll-off ends
# mobius: linear up to half of SDR white, then a smooth roll-off of the highlights up to the peak (hable darkened
# SMPTE bars' 75 % grey from 187 to 136; mobius at 0.5 gives 191, and white 228, highlights kept apart)
TONE_MAP = f"tonemap=tonemap=mobius:param=0.5:desat=0:peak={HDR_PEAK / REFERENCE_WHITE:.3f}"
RGB_FORMATS = ("rgb", "bgr", "gbr", "argb", "abgr", "gray", "ya", "pal8", "mono")  # no matrix between them and RGB


class Colour(NamedTuple):
    """A video stream's colour description, as ffmpeg names it ("unknown" where the file says nothing)."""

    pixels: str = ""  # the stored pixel format, e.g. yuv420p10le
    matrix: str = "unknown"
    primaries: str = "unknown"
    transfer: str = "unknown"

    @property
    def hdr(self) -> str | None:
        """"PQ" or "HLG" for an HDR stream, else None."""
        return HDR_TRANSFERS.get(self.transfer)

    @property
    def bits(self) -> int:
        """Bits a sample is stored with: 8, or 9-16 for a deep format (yuv422p10le, p010le, rgb48le, gray16le; float
        formats such as gbrpf32le count as 16, the depth they are read at)."""
        found = re.search(r"(\d+)(?:le|be)$", self.pixels)
        if found and 8 < int(found[1]) <= 16:
            return int(found[1])
        deep = ("rgb48", "bgr48", "rgba64", "bgra64")
        return 16 if self.pixels.startswith(deep) or re.search(r"f(16|32)(le|be)$", self.pixels) else 8

    @property
    def deep(self) -> bool:
        """Stored with more than 8 bits a sample: read at 16 bits, so its finer steps are kept."""
        return self.bits > 8


def described(stream: str) -> Colour:
    """The colour description in one of ffmpeg's "Stream #0:0: Video: ..." lines, e.g.
    `yuv420p10le(tv, bt2020nc/bt2020/smpte2084, progressive)`: matrix/primaries/transfer, or one name for all
    three when they agree."""
    found = re.search(r"Video: .*?, ([a-z0-9_]+)(?:\(([^)]*)\))?, \d+x\d+", stream)
    if not found:
        return Colour()
    names = [n for n in (p.strip() for p in (found[2] or "").split(","))
             if n and n not in ("tv", "pc", "progressive") and " " not in n]
    if not names:
        return Colour(found[1])
    parts = names[0].split("/")
    return Colour(found[1], *(parts if len(parts) == 3 else parts * 3))


def matrix_for(height: int) -> str:
    """The YUV matrix players assume for an untagged frame of this height: "bt709" (HD) or "smpte170m" (BT.601)."""
    return "bt709" if height > HD_LINES else "smpte170m"


def reading_format(colour: Colour) -> str:
    """The RGB frames a stream is read as: 16 bits a sample for a deep one, else 8."""
    return "rgb48le" if colour.deep else "rgb24"


def reading_filters(colour: Colour, height: int) -> list[str]:
    """ffmpeg filters that turn a stream's frames into the RGB players show (none where ffmpeg already does), at
    `reading_format`'s depth."""
    if colour.pixels.startswith(RGB_FORMATS) or colour.matrix == "gbr":
        return []
    known = {"min": colour.matrix, "pin": colour.primaries, "tin": colour.transfer}
    given = ":".join(f"{k}={v}" for k, v in known.items() if v != "unknown")
    given = f":{given}" if given else ""
    if colour.hdr:  # to linear light (reference white = 1), BT.709 primaries, highlights rolled off, BT.709 gamma
        return [f"zscale=t=linear:npl={REFERENCE_WHITE}{given}", "format=gbrpf32le", "zscale=p=bt709", TONE_MAP,
                "zscale=t=bt709:r=full", f"format={'gbrp16le' if colour.deep else 'gbrp'}"]
    if colour.primaries == "bt2020":  # wide-gamut SDR: into BT.709's gamut
        return [f"zscale=p=bt709:t=bt709:m=bt709{given}"]
    if colour.matrix == "unknown":
        return [f"scale=in_color_matrix={'bt709' if matrix_for(height) == 'bt709' else 'bt601'}",
                f"format={reading_format(colour)}"]
    return []


def writing(height: int, deep: bool = False, pixels: str | None = None) -> str:
    """The filters that make a written clip's YUV for its height (10-bit when `deep`; `pixels` another format), and
    name its matrix, primaries and transfer on the frames (the encoder writes what the frames say)."""
    matrix = matrix_for(height)
    return (f"scale=out_color_matrix={'bt709' if matrix == 'bt709' else 'bt601'}:out_range=tv,"
            f"format={pixels or ('yuv420p10le' if deep else 'yuv420p')},"
            f"setparams=range=tv:colorspace={matrix}:color_primaries={matrix}:color_trc={matrix}")
