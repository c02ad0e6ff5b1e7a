"""Clips' colours as players show them: HD and SD written with their matrix named, untagged HD read as BT.709,
HDR tone-mapped to SDR as it is read, and a cover picture never taken for the clip."""

from __future__ import annotations

import logging
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("imageio_ffmpeg")

from daguerre.video.clip import ClipWriter, ffmpeg, open_clip  # noqa: E402
from daguerre.video.colour import described  # noqa: E402

HD, SD = (1280, 720), (720, 480)


def bars(path: Path, size: tuple[int, int], *encode: str, source: str = "smptehdbars") -> Path:
    """Three frames of SMPTE colour bars, through `encode` (filters, flags)."""
    subprocess.run([ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i", f"{source}=size={size[0]}x{size[1]}:rate=25",
                    "-frames:v", "3", *encode, "-c:v", "libx264", "-crf", "10", str(path)], check=True)
    return path


def as_shown(path: Path, matrix: str) -> np.ndarray:
    """The first frame as a player shows it, decoding the YUV with `matrix` (bt709 or bt601), (H, W, 3) 0..255."""
    out = subprocess.run([ffmpeg(), "-v", "error", "-i", str(path), "-frames:v", "1", "-vf",
                          f"scale=in_color_matrix={matrix}:in_range=tv", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True).stdout
    stream = next(ln for ln in _streams(path) if " Video: " in ln)
    w, h = (int(v) for v in re.search(r", (\d+)x(\d+)", stream).groups())  # type: ignore[union-attr]
    return np.frombuffer(out, np.uint8).reshape(h, w, 3).astype(np.float64)


def _streams(path: Path) -> list[str]:
    text = subprocess.run([ffmpeg(), "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr
    return [ln for ln in text.splitlines() if ln.lstrip().startswith("Stream")]


def read(path: Path) -> np.ndarray:
    """The first frame as daguerre reads it, (H, W, 3) 0..255."""
    return next(open_clip(path)[1]).pixels.transpose(1, 2, 0).astype(np.float64) * 255


def copied(source: Path, target: Path) -> Path:
    info, frames = open_clip(source)
    with ClipWriter(target, info.fps) as writer:
        for frame in frames:
            writer.write(frame)
    return target


@pytest.mark.parametrize(("size", "matrix", "named", "source"),
                         [(HD, "bt709", "bt709", "smptehdbars"), (SD, "bt601", "smpte170m", "smptebars")])
def test_a_clip_written_back_shows_the_sources_colours(tmp_path: Path, size: tuple[int, int], matrix: str,
                                                       named: str, source: str) -> None:
    """ffmpeg alone wrote BT.601 without naming it, and players show untagged HD as BT.709: the bars' green 220
    came back 185 (4.96 levels off on average)."""
    original = bars(tmp_path / "bars.mp4", size, "-vf", f"scale=out_color_matrix={matrix}:out_range=tv,"
                    f"format=yuv420p,setparams=colorspace={named}", source=source)
    truth = as_shown(original, matrix)
    assert np.abs(read(original) - truth).mean() < 0.01
    for suffix in (".mp4", ".webm", ".avi"):  # .avi names no colours: players go by the size, as it was written
        out = copied(original, tmp_path / f"copy{suffix}")
        if suffix != ".avi":
            assert described(next(ln for ln in _streams(out) if " Video: " in ln)).matrix == named
        assert np.abs(as_shown(out, matrix) - truth).mean() < 1.5, suffix


def test_an_untagged_hd_clip_is_read_as_players_show_it(tmp_path: Path) -> None:
    untagged = bars(tmp_path / "untagged.mp4", HD, "-vf",
                    "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p,setparams=colorspace=unknown")
    assert described(next(ln for ln in _streams(untagged) if " Video: " in ln)).matrix == "unknown"
    assert np.abs(read(untagged) - as_shown(untagged, "bt709")).mean() < 0.01  # (as BT.601: 3.7 levels off)


@pytest.mark.parametrize(("transfer", "name"), [("smpte2084", "PQ"), ("arib-std-b67", "HLG")])
def test_an_hdr_clip_is_tone_mapped_to_sdr_as_it_is_read(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                         transfer: str, name: str) -> None:
    """The bars mastered as HDR with SDR's white at BT.2408's reference white (203 nits), 10 bits: read as SDR,
    they are the SDR bars again (read as they were stored, PQ's were a washed-out grey)."""
    sdr = bars(tmp_path / "sdr.mp4", HD, "-vf", "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p")
    hdr = bars(tmp_path / "hdr.mp4", HD, "-vf", f"zscale=tin=bt709:min=bt709:pin=bt709:rin=tv:t={transfer}:"
               "m=bt2020nc:p=bt2020:r=tv:npl=203,format=yuv420p10le", "-colorspace", "bt2020nc", "-color_primaries",
               "bt2020", "-color_trc", transfer)
    truth = as_shown(sdr, "bt709")
    with caplog.at_level(logging.WARNING, logger="daguerre"):
        info = open_clip(hdr)[0]
        frame = read(hdr)
    assert info.hdr == name and f"HDR ({name}) read as SDR" in caplog.text
    assert np.abs(frame - truth).mean() < 10  # (7.4 and 7.2: the highlights above SDR white rolled off)
    stored = subprocess.run([ffmpeg(), "-v", "error", "-i", str(hdr), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt",
                             "rgb24", "-"], capture_output=True, check=True).stdout
    as_stored = np.frombuffer(stored, np.uint8).reshape(*truth.shape).astype(np.float64)
    assert np.abs(frame - truth).mean() < 0.5 * np.abs(as_stored - truth).mean()


def test_a_cover_picture_stored_first_is_not_taken_for_the_clip(tmp_path: Path) -> None:
    """Matroska keeps a cover as a video stream of its own: the clip's own (16:15 pixels) is the one read."""
    clip = tmp_path / "clip.mp4"
    subprocess.run([ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=192x108:rate=25", "-t", "0.4",
                    "-vf", "setsar=16/15", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(clip)], check=True)
    cover = tmp_path / "cover.png"
    subprocess.run([ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i", "color=red:size=600x600", "-frames:v", "1",
                    str(cover)], check=True)
    both = tmp_path / "with_cover.mkv"
    subprocess.run([ffmpeg(), "-v", "error", "-y", "-i", str(clip), "-i", str(cover), "-map", "1", "-map", "0",
                    "-c:v:1", "copy", "-c:v:0", "mjpeg", "-disposition:v:0", "attached_pic", str(both)], check=True)
    assert "mjpeg" in next(ln for ln in _streams(both) if " Video: " in ln)  # the cover is the first stream
    info, frames = open_clip(both)
    read_frames = [f.pixels for f in frames]
    assert (info.size, info.sar, len(read_frames)) == ((192, 108), (16, 15), 10)
    assert np.abs(read_frames[0] - next(open_clip(clip)[1]).pixels).mean() < 0.01  # not red


def test_a_file_with_sound_only_is_named_as_having_no_video_stream(tmp_path: Path) -> None:
    """Reading the clip's own stream by number must not turn a sound-only file into ffmpeg's bare "Invalid
    argument": the one line names what is missing."""
    from daguerre.imaging import ImageError

    sound = tmp_path / "sound.mp4"
    subprocess.run([ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i", "sine=f=440:d=0.3", "-c:a", "aac",
                    str(sound)], check=True)
    with pytest.raises(ImageError, match=r"sound.mp4: no video stream in this file \(only sound or data\)$"):
        open_clip(sound)


@pytest.mark.parametrize(("size", "said"), [(HD, "players show as BT.709"), (SD, "at this size")])
def test_a_clip_stored_before_colours_were_named_is_told_so_on_comparison(tmp_path: Path, size: tuple[int, int],
                                                                          said: str) -> None:
    """A derivative written before clips named their matrix (plain ffmpeg: BT.601, unnamed) re-derives tagged; the
    comparison names that cause, for HD the colour shift players showed. Two named clips get no such note."""
    import imageio_ffmpeg

    from daguerre.archive.video import compare

    old = tmp_path / "old.mp4"  # as daguerre wrote clips then: RGB frames to ffmpeg's default, BT.601 unnamed
    writer = imageio_ffmpeg.write_frames(str(old), size, fps=25, codec="libx264", pix_fmt_out="yuv420p",
                                         macro_block_size=1)
    writer.send(None)
    for frame in open_clip(bars(tmp_path / "bars.mp4", size))[1]:
        writer.send(np.ascontiguousarray((frame.pixels.transpose(1, 2, 0) * 255).round().astype(np.uint8)))
    writer.close()
    assert described(next(ln for ln in _streams(old) if " Video: " in ln)).matrix == "unknown"
    new = copied(old, tmp_path / "new.mp4")
    notes = compare(old, new).notes
    assert len(notes) == 1 and "before daguerre named clips' colours" in notes[0]
    assert said in notes[0] and all(other not in notes[0] for other in ("players show as BT.709", "at this size")
                                    if other != said)
    assert compare(new, copied(new, tmp_path / "again.mp4")).notes == []


def test_a_10_bit_clip_is_read_at_16_bits_and_its_frames_written_at_16(tmp_path: Path) -> None:
    """A 10-bit master (a film scan's usual depth) keeps its finer steps: a slow ramp read from it has about 4x the
    levels of the same ramp at 8 bits, and numbered frames written from it are 16-bit PNGs. An 8-bit clip reads
    as before: 8-bit pictures, its levels multiples of 1/255."""
    from daguerre.imaging import load
    from daguerre.video.colour import Colour

    ramp = "geq=lum='32768+8192*X/W':cb=32768:cr=32768"  # 32 grey levels of 8 bits across the frame: 128 in 10
    clips = {}
    for depth, fmt in ((10, "yuv420p10le"), (8, "yuv420p")):
        clips[depth] = tmp_path / f"ramp{depth}.mkv"
        subprocess.run([ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=gray:size=512x64:rate=5",
                        "-frames:v", "2", "-vf", f"format=yuv444p16le,{ramp},format={fmt}", "-c:v", "ffv1",
                        str(clips[depth])], check=True)
    deep_info, deep = open_clip(clips[10])
    assert deep_info.colour.bits == 10 and Colour("p010le").bits == 10 and Colour("gbrpf32le").bits == 16
    assert Colour("yuv420p").bits == Colour("nv12").bits == 8 and Colour("rgb48le").bits == 16
    frame = next(deep)
    levels = len(np.unique(np.round(frame.pixels[1, 32] * 65535)))
    shallow = next(open_clip(clips[8])[1])
    assert frame.bit_depth == 16 and shallow.bit_depth == 8
    assert levels >= 3 * len(np.unique(shallow.pixels[1, 32])) and levels >= 90
    assert np.allclose(shallow.pixels * 255, np.round(shallow.pixels * 255), atol=1e-4)

    pattern = tmp_path / "frames" / "%03d.png"
    with ClipWriter(pattern, deep_info.fps) as writer:
        for picture in open_clip(clips[10])[1]:
            writer.write(picture)
    written = load(tmp_path / "frames" / "001.png")
    assert written.bit_depth == 16 and np.abs(written.pixels - frame.pixels).max() < 1 / 65535 + 1e-6


def test_a_10_bit_clip_goes_into_mkv_at_10_bits_and_into_mp4_and_mov_at_8(tmp_path: Path) -> None:
    """Matroska, the archival container, keeps a deep source's steps (H.264 High 10); .mp4 and .mov stay 8-bit,
    which browsers and QuickTime play. Through an Operation and the consistency step as well as copied."""
    from daguerre.ops import get_operation
    from daguerre.video.run import process_clip

    source = tmp_path / "ramp10.mkv"
    subprocess.run([ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=gray:size=512x64:rate=5",
                    "-frames:v", "3", "-vf", "format=yuv444p16le,geq=lum='32768+8192*X/W':cb=32768:cr=32768,"
                    "format=yuv420p10le", "-c:v", "ffv1", str(source)], check=True)

    def levels(path: Path) -> tuple[str, int]:
        info, frames = open_clip(path)
        return info.colour.pixels, len(np.unique(np.round(next(frames).pixels[1, 32] * 65535)))

    written = {suffix: levels(copied(source, tmp_path / f"copy{suffix}")) for suffix in (".mkv", ".mov", ".mp4")}
    for suffix in (".mp4", ".mov"):
        assert written[suffix][0] == "yuv420p" and written[suffix][1] <= 33  # the ramp's 32 steps of 8 bits
    # H.264 keeps 64 of its 128 steps of 10 bits here
    assert written[".mkv"][0] == "yuv420p10le" and written[".mkv"][1] >= 1.8 * written[".mp4"][1], written
    op = get_operation("film")
    out = process_clip(op, source, tmp_path / "film.mkv", 0.5, preset="sepia")
    assert levels(out)[0] == "yuv420p10le"
    assert levels(process_clip(op, source, tmp_path / "film.mp4", 0.5, preset="sepia"))[0] == "yuv420p"


def test_a_clips_later_frames_follow_its_first_frames_depth(tmp_path: Path) -> None:
    """A 16-bit Picture after 8-bit ones is written at 8 bits, not as a frame of another size; raw arrays of the
    other depth are refused."""
    from daguerre.imaging import Picture

    ramp = np.tile(np.linspace(0, 1, 64, dtype=np.float32), (3, 32, 1))
    path = tmp_path / "mixed.mkv"
    with ClipWriter(path, 5) as writer:
        writer.write(Picture(ramp))
        writer.write(Picture(ramp, bit_depth=16))
        with pytest.raises(TypeError, match="frames of 8 and 16 bits in one clip"):
            writer.write(np.zeros((32, 64, 3), np.uint16))
    info, frames = open_clip(path)
    assert info.colour.pixels == "yuv420p" and len(list(frames)) == 2
