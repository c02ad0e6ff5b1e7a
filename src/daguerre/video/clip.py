"""Read and write clips one frame at a time: video files through the ffmpeg that the imageio-ffmpeg wheel carries,
numbered-frame folders through `daguerre.imaging`. Nothing holds more than a frame.

A written clip keeps the source's frame rate and size (so its duration), the shape of its pixels (a PAL or NTSC
DV, DVD or broadcast file's are not square) and its first audio track, copied when the container takes the codec,
else re-encoded. Frames the file says are interlaced are deinterlaced as they are read, one frame for each.
Colours are read as players show them and written with their matrix named; HDR is tone-mapped to SDR as it is
read (`daguerre.video.colour`).
Files are written to a hidden partial file and renamed when complete, so a failed run leaves no half clip behind.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from daguerre.imaging import ImageError, Picture, iter_images, load, save
from daguerre.video import READ_ONLY_VIDEO_EXTENSIONS, is_video_path
from daguerre.video.colour import Colour, described, reading_filters, reading_format, writing

SEQUENCE_FPS = 24.0  # a numbered-frame folder carries no frame rate
# ffmpeg's bob-weave deinterlacer, one frame out for each frame in (frame rate, count and duration kept), on the
# frames flagged interlaced only: a progressive file's frames pass as they are (the same bytes, no measurable time)
DEINTERLACE = "bwdif=mode=send_frame:deint=interlaced"
ENCODER_QUALITY = {  # libx264: visually lossless; 'ultrafast' took 1/3 the CPU of 'veryfast' at the same PSNR
    "libx264": ["-preset", "ultrafast", "-crf", "17"],  # (files ~1.2x larger; BENCHMARKS.md, "Video")
    "libvpx-vp9": ["-b:v", "0", "-crf", "30", "-row-mt", "1"]}  # others: ["-q:v", "3"]
GIF_PALETTE = "split[a][b];[a]palettegen=stats_mode=single[p];[b][p]paletteuse=new=1"
FULL_CHROMA = ("libx264", "libvpx-vp9")  # odd-sided frames are written in 4:4:4 by these; the others take them
VIDEO_CODECS = {".webm": "libvpx-vp9", ".avi": "mpeg4", ".mpg": "mpeg2video", ".mpeg": "mpeg2video"}  # else H.264
# containers written at 10 bits (H.264 High 10) from 16-bit frames, a deep source's: Matroska, the archival one
# (VLC, mpv and ffmpeg play it); .mp4, .webm and .mov stay 8-bit, which browsers and QuickTime play (neither
# plays 10-bit H.264)
DEEP_VIDEO = (".mkv",)
AUDIO_COPYABLE = {  # audio codecs each container takes as they are; others are re-encoded to the first listed
    ".mp4": ("aac", "mp3", "alac", "ac3", "opus"), ".m4v": ("aac", "mp3", "alac", "ac3"),
    ".mov": ("aac", "mp3", "alac", "ac3", "pcm_s16le"), ".webm": ("libopus", "opus", "vorbis"),
    ".avi": ("libmp3lame", "mp3", "ac3", "pcm_s16le"), ".mpg": ("mp2", "mp3"), ".mpeg": ("mp2", "mp3"),
}


@dataclass
class ClipInfo:
    """What a clip is: frame rate, (width, height), frame count (estimated from the duration for files), audio."""

    path: Path
    fps: float
    size: tuple[int, int]
    frames: int | None
    duration: float
    audio: str | None = None  # the first audio track's codec, None without audio
    sar: tuple[int, int] = (1, 1)  # a pixel's width : height (16:15 for a 4:3 PAL DV frame of 720x576)
    colour: Colour = Colour()  # as the file describes it ("unknown" where it says nothing; frames: RGB)

    @property
    def hdr(self) -> str | None:
        """"PQ" or "HLG": an HDR file, its frames tone-mapped to SDR as they are read."""
        return self.colour.hdr


def ffmpeg() -> str:
    """The ffmpeg binary shipped in the imageio-ffmpeg wheel (works offline)."""
    try:
        import imageio_ffmpeg
    except ImportError:
        raise RuntimeError("video needs imageio-ffmpeg: pip install 'daguerre[video]'") from None
    return imageio_ffmpeg.get_ffmpeg_exe()


def open_clip(path: str | Path, fps: float | None = None) -> tuple[ClipInfo, Iterator[Picture]]:
    """(info, frames) of a video file or a folder of numbered frames (at `fps`, else `SEQUENCE_FPS`); frames are
    decoded as they are iterated."""
    path = Path(path)
    if path.is_dir():
        return _open_sequence(path, fps or SEQUENCE_FPS)
    if fps is not None:
        raise ImageError(path, "a frame rate is given for a folder of numbered frames: a video file keeps its own")
    if not path.is_file():
        raise ImageError(path, "file not found")
    if path.stat().st_size == 0:
        raise ImageError(path, "empty file (0 bytes)")
    ffmpeg()
    import imageio_ffmpeg

    sar, variable, seconds, colour, height, stream, still = _probe(path)
    if stream is not None and stream < 0:
        raise ImageError(path, "no video stream in this file (only sound or data)")
    if still:  # a picture under a clip's name: it read as a one-frame video
        suffix = {"JPEG": "jpg", "TIFF": "tif"}.get(still, still.lower())
        raise ImageError(path, f"not a video: a {still} picture (named as a picture, e.g. {path.stem}.{suffix}, "
                               "it is read as one)")
    # frames flagged interlaced only are deinterlaced (DV's are, whatever its header says); then the colours
    reading = ["-map", f"0:v:{stream}"] if stream is not None else []
    reading += ["-vf", ",".join([DEINTERLACE, *reading_filters(colour, height)])]
    if variable:  # frames at the average rate, dropped or repeated by their times: the length kept
        reading += ["-fps_mode", "cfr", "-r", _rational(variable)]
        reading += ["-frames:v", str(max(1, round(seconds * variable)))] if seconds else []
    reader = imageio_ffmpeg.read_frames(str(path), pix_fmt=reading_format(colour), output_params=reading,
                                        bits_per_pixel=48 if colour.deep else 24)
    try:
        meta = next(reader)
    except (OSError, RuntimeError, StopIteration) as e:
        reader.close()
        raise ImageError(path, f"not a readable video ({_ffmpeg_reason(str(e))})") from None
    w, h = meta["size"]
    if (w, h) != tuple(meta["source_size"]) and (h, w) == tuple(meta["source_size"]):
        sar = sar[::-1]  # stored on its side: ffmpeg turns the frames upright, and their pixels with them
    fps = float(meta.get("fps") or 0) or SEQUENCE_FPS
    duration = float(meta.get("duration") or 0)
    audio = (meta.get("audio_codec") or "").rstrip(",") or None  # imageio-ffmpeg keeps the comma after "pcm_s16le"
    info = ClipInfo(path, fps, (w, h), round(duration * fps) or None, duration, audio, sar, colour)
    if colour.hdr:
        logging.getLogger("daguerre").warning("%s: HDR (%s) read as SDR BT.709, its highlights rolled off; the "
                                              "result is SDR", path, colour.hdr)
    return info, _decoded(path, reader, w, h, colour.deep, info.frames)


STILL_NAMES = {"jpeg": "JPEG", "png": "PNG", "webp": "WebP", "tiff": "TIFF", "bmp": "BMP", "gif": "GIF"}


class _Probe(NamedTuple):
    sar: tuple[int, int]
    variable: float | None
    seconds: float
    colour: Colour
    height: int
    stream: int | None  # the video stream's number among the file's; -1: streams, none video; None: none read
    still: str | None = None  # a still picture's format (JPEG, PNG, ...) where the file is one


def _probe(path: Path) -> _Probe:
    """(sample aspect ratio, average frame rate if the frame rate varies, duration in seconds, colour description,
    stored height, stream number) of a file's video stream, as ffmpeg describes it; (1, 1), None, 0, unknown, 0
    where it says nothing, and stream None where it cannot read the file (`open_clip` then names why), -1 where it
    finds streams but no video.

    The stream: the first marked default that is not a cover picture (Matroska keeps a cover as a stream of its
    own, often the first), else the first. A phone's clip varies its frame rate: its average ("fps") is then not
    the rate ffmpeg would read it at ("tbr"), and a clip written at the one from frames read at the other runs long
    (a 3 s clip came out 3.94 s)."""
    text = subprocess.run([ffmpeg(), "-hide_banner", "-i", str(path)], capture_output=True, text=True,
                          errors="replace").stderr
    streams = [ln for ln in text.splitlines() if ln.lstrip().startswith("Stream") and " Video: " in ln]
    moving = [ln for ln in streams if "(attached pic)" not in ln] or streams
    line = next((ln for ln in moving if "(default)" in ln), moving[0] if moving else "")
    shape = re.search(r"\[SAR (\d+):(\d+) DAR", line)
    sar = (int(shape[1]), int(shape[2])) if shape and int(shape[1]) > 0 and int(shape[2]) > 0 else (1, 1)
    rates = re.search(r" ([0-9.]+) fps, ([0-9.]+k?) tbr", line)
    variable = float(rates[1]) if rates and rates[1] != rates[2] and float(rates[1]) > 0 else None
    length = re.search(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)", text)
    seconds = 3600 * int(length[1]) + 60 * int(length[2]) + float(length[3]) if length else 0.0
    size = re.search(r", \d+x(\d+)", line)
    any_stream = any(ln.lstrip().startswith("Stream #") for ln in text.splitlines())
    pipe = re.search(r"Input #0, (\w+)_pipe, from", text)  # ffmpeg reads a still picture by a "_pipe" demuxer
    return _Probe(sar, variable, seconds, described(line), int(size[1]) if size else 0,
                  streams.index(line) if line else (-1 if any_stream else None),
                  STILL_NAMES.get(pipe[1], pipe[1].upper()) if pipe else None)


def _upright_is_expected(record: logging.LogRecord) -> bool:
    """imageio-ffmpeg warns when ffmpeg turns a phone's frames upright (the reading size is the stored one turned):
    expected here, so that one message is dropped; its other messages pass. A filter, not a level changed around
    each open: clips are opened from several threads at once (the web app, batch runs)."""
    return "is different from the source frame size" not in record.getMessage()


logging.getLogger("imageio_ffmpeg").addFilter(_upright_is_expected)


def _decoded(path: Path, reader: Iterator[bytes], w: int, h: int, deep: bool = False,
             declared: int | None = None) -> Iterator[Picture]:
    """Frames as Pictures: 16-bit ones from a deep stream (read as rgb48le), else 8-bit. Fewer frames than the file
    `declared`, of a file cut short: an ImageError after the last (a clip written from them is then not kept)."""
    n, dtype = 0, np.dtype("<u2") if deep else np.uint8
    try:
        for raw in reader:
            n += 1
            frame = np.frombuffer(raw, dtype).reshape(h, w, 3)
            yield Picture(_planes(frame), source=path, bit_depth=16 if deep else 8)
    except RuntimeError as e:
        raise ImageError(path, f"truncated or corrupt video after frame {n} ({_ffmpeg_reason(str(e))})") from None
    finally:
        reader.close()  # type: ignore[attr-defined]
    if n == 0:
        raise ImageError(path, "truncated or corrupt video: no frame could be decoded")
    if declared and n < declared - 1 and (why := cut_short(path)):  # (a longer sound track alone is no error)
        raise ImageError(path, f"truncated: {n} of its {declared} frames could be read ({why})")


def cut_short(path: Path) -> str | None:
    """Why ffmpeg finds the file cut short (its index names more data than the file holds: a copy or download
    stopped early), or None. Reads the video stream's packets without decoding them."""
    text = subprocess.run([ffmpeg(), "-hide_banner", "-v", "error", "-i", str(path), "-map", "0:v:0", "-c", "copy",
                           "-f", "null", "-"], capture_output=True, text=True, errors="replace").stderr
    said = [re.sub(r"^\[[^]]*\]\s*", "", ln.strip()) for ln in text.splitlines()]
    return next((ln for ln in said if "partial file" in ln or "truncated" in ln.lower()), None)


def _planes(frame: np.ndarray) -> np.ndarray:
    """(3, H, W) float32 in [0, 1] of an (H, W, 3) uint8 or uint16 frame: split by OpenCV, then scaled plane by
    plane (~4x numpy's scaled transposed copy)."""
    import cv2

    planes = np.empty((3, *frame.shape[:2]), np.float32)
    scale = np.float32(1 / np.iinfo(frame.dtype).max)
    for plane, channel in zip(planes, cv2.split(frame), strict=True):
        np.multiply(channel, scale, out=plane)
    return planes


def _ffmpeg_reason(message: str) -> str:
    """The telling lines of an ffmpeg error log, e.g. 'moov atom not found; Error opening input: ...'."""
    lines = [ln.strip() for ln in message.split("=== stderr ===")[-1].splitlines() if ln.strip()]
    tagged = [re.sub(r"^\[[^]]*\]\s*", "", ln) for ln in lines if ln.startswith("[")]
    reasons = list(dict.fromkeys(tagged)) or lines[-1:] or ["unknown error"]
    return "; ".join(reasons)[:300]


def _open_sequence(folder: Path, fps: float) -> tuple[ClipInfo, Iterator[Picture]]:
    files = sorted(iter_images([folder]), key=lambda p: _natural_key(p.relative_to(folder)))
    if not files:
        raise ImageError(folder, "no image frames in this folder")
    first = load(files[0])
    info = ClipInfo(folder, fps, first.size, len(files), len(files) / fps)

    def frames() -> Iterator[Picture]:
        yield first
        for f in files[1:]:
            picture = load(f)
            if picture.size != first.size:
                raise ImageError(f, f"frame is {picture.size[0]}x{picture.size[1]}, the first frame "
                                    f"{first.size[0]}x{first.size[1]}")
            yield picture

    return info, frames()


def _natural_key(path: Path) -> list[object]:
    """frame2 before frame10."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(path))]


def to_rgb8(picture: Picture) -> np.ndarray:
    """(H, W, 3) uint8 of a picture, as a video frame: each plane scaled, rounded and saturated, then interleaved
    (1 ms at 480p, against 4 for NumPy's transposed copy first)."""
    return planes_to_rgb8(picture.rgb())


def planes_to_rgb8(pixels: np.ndarray) -> np.ndarray:
    """(C, H, W) float pixels in [0, 1] as (H, W, C) uint8, each plane scaled, rounded and saturated, then
    interleaved."""
    import cv2

    planes = [cv2.convertScaleAbs(np.maximum(plane, 0), alpha=255) for plane in pixels]
    return cv2.merge(planes) if len(planes) > 1 else planes[0][..., None]


def to_rgb16(picture: Picture) -> np.ndarray:
    """(H, W, 3) uint16 of a picture, as a deep video frame (`DEEP_VIDEO`)."""
    import cv2

    planes = [np.clip(plane * np.float32(65535) + np.float32(0.5), 0, 65535).astype(np.uint16)
              for plane in picture.rgb()]
    return cv2.merge(planes)


def writes_deep(target: str | Path) -> bool:
    """Whether a clip written to `target` keeps 16-bit frames at 10 bits: a `DEEP_VIDEO` file, or numbered
    frames (16-bit PNG or TIFF)."""
    return not takes_rgb8(target) or Path(target).suffix.lower() in DEEP_VIDEO


def hwc_to_rgb8(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 of (H, W, 3) or (H, W, 1) float pixels in [0, 1]; a grey frame repeated on three channels."""
    import cv2

    rgb8 = cv2.convertScaleAbs(np.maximum(rgb, 0), alpha=255)  # scaled, rounded and saturated in one pass
    return cv2.cvtColor(rgb8, cv2.COLOR_GRAY2RGB) if rgb8.ndim == 2 or rgb8.shape[-1] == 1 else rgb8


class ClipWriter:
    """Writes frames as they come to a video file (ffmpeg) or to numbered frames (`folder/%05d.png`).

    Use as a context manager; the file appears, complete, when the block ends without an error.
    Its YUV is made with the matrix players assume for its height, and named (`daguerre.video.colour`).
    `audio_from`: a video file whose first audio track is muxed in. `sar`: the shape of a pixel (width, height),
    written into the video so players show it at the source's shape (not into a GIF or numbered frames).
    """

    def __init__(self, path: str | Path, fps: float, audio_from: ClipInfo | None = None,
                 sar: tuple[int, int] = (1, 1)) -> None:
        self.path, self.fps, self.audio_from, self.sar = Path(path), fps, audio_from, sar
        if self.path.suffix.lower() in READ_ONLY_VIDEO_EXTENSIONS:
            raise ImageError(self.path, f"{self.path.suffix} clips are read, not written: write .mp4, .mkv, .mov, "
                                        ".webm, .avi or .gif")
        if not is_video_path(self.path):
            raise ImageError(self.path, "not a video name (.mp4, .mov, .mkv, .webm, .avi, .gif) nor a frame "
                                        "pattern such as frames/%05d.png")
        self.frames = 0
        self._process: subprocess.Popen | None = None
        self._deep = False  # frames written at 10 bits (16-bit frames to a `DEEP_VIDEO` file)
        self._partial = self.path.with_name(f".{self.path.stem}.partial{self.path.suffix}")
        self._log = tempfile.TemporaryFile()

    def __enter__(self) -> ClipWriter:
        return self

    def write(self, picture: Picture | np.ndarray) -> None:
        """Write a frame: a Picture, or (H, W, 3) uint8 pixels to a video file (`takes_rgb8`). 16-bit Pictures go
        into a `DEEP_VIDEO` file at 10 bits, else at 8."""
        if not takes_rgb8(self.path):
            if not isinstance(picture, Picture):
                raise TypeError("numbered frames are written from Pictures")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            save(picture, str(self.path) % (self.frames + 1))
        else:
            frame = picture
            if isinstance(picture, Picture):  # the first frame sets the clip's depth, the others follow it
                deep = self._deep if self._process else picture.bit_depth == 16 and writes_deep(self.path)
                frame = to_rgb16(picture) if deep else to_rgb8(picture)
            if self._process is None:
                self._deep = frame.dtype == np.uint16
                self._start(frame.shape[1], frame.shape[0], self._deep)
            elif (frame.dtype == np.uint16) != self._deep:
                raise TypeError(f"{self.path}: frames of 8 and 16 bits in one clip")
            try:
                self._process.stdin.write(frame.tobytes())  # type: ignore[union-attr]
            except BrokenPipeError:
                raise ImageError(self.path, f"ffmpeg stopped writing ({self._reason()})") from None
        self.frames += 1

    def _start(self, w: int, h: int, deep: bool = False) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        suffix = self.path.suffix.lower()
        cmd = [ffmpeg(), "-y", "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb48le" if deep else "rgb24",
               "-s", f"{w}x{h}",
               "-r", _rational(self.fps), "-i", "-"]
        audio = self.audio_from
        if audio is not None and audio.audio and audio.path.is_file() and suffix != ".gif":  # a GIF has no sound
            copyable = AUDIO_COPYABLE.get(suffix)
            cmd += ["-i", str(audio.path), "-map", "0:v:0"]
            for n, codec in enumerate(audio_codecs(audio.path) or [audio.audio]):  # every track (a commentary)
                kept = "copy" if copyable is None or codec in copyable else copyable[0]
                cmd += ["-map", f"1:a:{n}", f"-c:a:{n}", kept]
        if suffix == ".gif":  # 256 colours a frame, each frame its own palette (streams, no second pass)
            cmd += ["-vf", GIF_PALETTE, "-c:v", "gif"]
        else:
            codec = VIDEO_CODECS.get(suffix, "libx264")
            # H.264's and VP9's 4:2:0 chroma needs even sides: an odd-sided frame keeps its size with full chroma
            # (4:4:4; it was padded with a black line), though browsers play 4:4:4 less often than 4:2:0
            chroma = "444" if (w % 2 or h % 2) and codec in FULL_CHROMA else "420"
            pixels = f"yuv{chroma}p" + ("10le" if deep else "")
            cmd += ["-c:v", codec, "-pix_fmt", pixels]
            cmd += ENCODER_QUALITY.get(codec, ["-q:v", "3"])
            filters = [writing(h, deep, pixels)]
            if self.sar != (1, 1):
                filters.append(f"setsar={self.sar[0]}/{self.sar[1]}")
            cmd += ["-vf", ",".join(filters)]
        self._process = subprocess.Popen(cmd + [str(self._partial)], stdin=subprocess.PIPE,
                                         stdout=subprocess.DEVNULL, stderr=self._log)

    def _reason(self) -> str:
        self._log.seek(0)
        return _ffmpeg_reason(self._log.read().decode(errors="replace"))

    def __exit__(self, exc_type: object, *exc: object) -> None:
        process, self._process = self._process, None
        try:
            if process is not None:
                process.stdin.close()  # type: ignore[union-attr]
                if exc_type is not None:
                    process.kill()
                if process.wait() != 0 and exc_type is None:
                    raise ImageError(self.path, f"ffmpeg could not write the video ({self._reason()})")
                if exc_type is None:
                    os.replace(self._partial, self.path)
            elif exc_type is None and self.frames == 0:
                raise ImageError(self.path, "no frames to write")
        finally:
            self._partial.unlink(missing_ok=True)
            self._log.close()


def audio_codecs(path: Path) -> list[str]:
    """The codec of each of a file's audio tracks, in order, as ffmpeg names them ("aac", "pcm_s16le")."""
    text = subprocess.run([ffmpeg(), "-hide_banner", "-i", str(path)], capture_output=True, text=True,
                          errors="replace").stderr
    return re.findall(r"^\s*Stream #0:\d+.*?: Audio: (\w+)", text, re.MULTILINE)


def takes_rgb8(target: str | Path) -> bool:
    """Whether a clip written to `target` can take (H, W, 3) uint8 frames: a video file, not numbered frames (which
    keep their pictures' bit depth)."""
    return "%" not in Path(target).name


def _rational(fps: float) -> str:
    """30000/1001 rather than 29.97, so the frame timing does not drift."""
    from fractions import Fraction

    return str(Fraction(fps).limit_denominator(1001))
