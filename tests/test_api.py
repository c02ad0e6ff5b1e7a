"""The top-level Python API (`import daguerre`) as a user calls it."""

from __future__ import annotations

import subprocess
import sys


def test_every_api_name_is_callable_after_the_subpackages_are_imported():
    """In a fresh interpreter, after a call that imports `daguerre.models` and the operations, every name of
    `daguerre.__all__` is still the API's callable (a subpackage of the same name used to hide `models`), and
    `list_models` lists the shipped restore model."""
    code = """
import daguerre
from pathlib import Path
photo = daguerre.load(Path(daguerre.__file__).parent / "samples" / "coffee.jpg")
assert daguerre.retro(photo, preset="sepia").size == photo.size
bad = [n for n in daguerre.__all__ if not callable(getattr(daguerre, n))]
assert not bad, bad
assert "restore-photos" in [c.name for c in daguerre.list_models("restore")]
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def test_film_age_and_any_operation_over_a_clip_from_python(tmp_path):
    """`daguerre.film`, `daguerre.age` and `daguerre.run_clip` did not exist: from Python, a period look, aging
    and every clip were out of reach, though the command line has them."""
    import imageio_ffmpeg
    import numpy as np
    import pytest

    import daguerre
    from daguerre.video.clip import open_clip

    photo = daguerre.load(daguerre.__file__.replace("__init__.py", "samples/coffee.jpg"))
    sepia = daguerre.film(photo, preset="sepia")
    r, g, b = sepia.rgb().reshape(3, -1).mean(axis=1)
    assert sepia.size == photo.size and r > g > b
    aged = daguerre.age(photo, seed=3, effects=["scratches"])
    assert np.array_equal(aged.pixels, daguerre.age(photo, seed=3, effects=["scratches"]).pixels)
    assert not np.array_equal(aged.pixels, photo.pixels)

    clip = tmp_path / "test.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
                    "testsrc=size=160x120:rate=12", "-f", "lavfi", "-i", "sine=frequency=440", "-t", "0.75",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", str(clip)], check=True)
    out = daguerre.run_clip("stylize", clip, tmp_path / "styled.mp4", model="van-gogh-irises", steady="local")
    info, frames = open_clip(out)
    first = next(frames)
    frames.close()
    source_info = open_clip(clip)[0]
    assert (info.size, info.fps, info.frames, info.audio) == (source_info.size, 12, 9, "aac")
    assert first.size == (160, 120)
    with pytest.raises(ValueError, match="steady must be one of pixels, inside, moving, local"):
        daguerre.run_clip("film", clip, tmp_path / "x.mp4", steady="wobbly")
    with pytest.raises(TypeError, match="unknown parameter"):
        daguerre.run_clip("film", clip, tmp_path / "x.mp4", presett="sepia")
    assert not (tmp_path / "x.mp4").exists()


def test_every_operation_checks_its_parameters_before_any_work():
    """Each registered operation accepts its defaults and refuses a name it does not take, naming it, without
    running (what the API, `archive batch` and web jobs rely on to refuse at once)."""
    import pytest

    from daguerre.ops import OPERATIONS

    needed = {"stylize": {"model": "van-gogh-irises"}}  # the one operation with nothing to do by default
    for name, op in OPERATIONS.items():
        op.check(needed.get(name, {}))
        with pytest.raises(TypeError, match=rf"{name}: unknown parameter\(s\) nonsense"):
            op.check({**needed.get(name, {}), "nonsense": 1})
    with pytest.raises(ValueError, match="method 'fast' needs a model name"):
        OPERATIONS["stylize"].check({})


def test_the_api_lists_all_its_names():
    """`daguerre.api.__all__` lacked film, age, run_clip and train_colour_bank, and `dir(daguerre)` showed none of
    the API (the lazy module had no `__dir__`): `import *`, tab completion and `help` missed them."""
    import daguerre
    import daguerre.api

    assert sorted(daguerre.api.__all__) == sorted(daguerre.__all__)
    assert set(daguerre.__all__) <= set(dir(daguerre))
    assert "__version__" in dir(daguerre)


def test_parameters_of_the_wrong_kind_or_strength_out_of_range_are_refused_in_one_line(tmp_path):
    """`stylize(model=..., strength=5)` ran as strength 1 (only arbitrary checked it) and `archive apply -p
    strength=5` signed it; `-p strength=abc` gave a Python comparison error with a quote lost. Every operation's
    check refuses a value not of its default's kind, and a strength outside 0..1, naming both."""
    import numpy as np
    import pytest

    import daguerre
    from daguerre.archive import Archive, ArchiveError
    from daguerre.ops import OPERATIONS

    photo = daguerre.load(daguerre.__file__.replace("__init__.py", "samples/coffee.jpg"))
    with pytest.raises(ValueError, match=r"^stylize: strength must be a number between 0 and 1, got 5$"):
        daguerre.stylize(photo, model="van-gogh-irises", strength=5)
    with pytest.raises(ValueError, match=r"^age: strength must be a number between 0 and 1, got 'abc'$"):
        daguerre.age(photo, strength="abc")
    refused = [("stylize", {"model": "van-gogh-irises", "strength": "abc"}, "strength must be a number between 0 and "
                "1, got 'abc'"), ("film", {"strength": -0.5}, "strength must be a number between 0 and 1, got -0.5"),
               ("film", {"seed": 1.5}, "seed must be a whole number, got 1.5"),
               ("upscale", {"tile": "big"}, "tile must be a whole number, got 'big'"),
               ("stylize", {"model": "van-gogh-irises", "texture": "no"}, "texture must be true or false"),
               ("restore", {"strength": True}, "strength must be a number between 0 and 1, got True")]
    for name, params, words in refused:
        with pytest.raises(ValueError, match=rf"^{name}: {words}"):
            OPERATIONS[name].check(params)
    OPERATIONS["film"].check({"strength": np.float32(0.5), "seed": np.int64(3)})  # numpy numbers are numbers
    archive = Archive.init(tmp_path / "archive")
    [master] = archive.ingest([daguerre.__file__.replace("__init__.py", "samples/coffee.jpg")]).added
    with pytest.raises(ArchiveError, match=r"stylize: strength must be a number between 0 and 1, got 5"):
        archive.apply("stylize", [master], {"model": "van-gogh-irises", "strength": 5})
    assert archive.children(master) == []


def test_an_unknown_operation_is_a_one_line_value_error(tmp_path):
    """`run_clip('blur', ...)` raised a KeyError whose message was quoted twice; the archive says it in one line."""
    import pytest

    import daguerre
    from daguerre.archive import Archive, ArchiveError

    with pytest.raises(ValueError) as raised:
        daguerre.run_clip("blur", tmp_path / "clip.mp4", tmp_path / "o.mp4")
    assert str(raised.value).startswith("no operation named 'blur' (available: age, colorize, film, repair, ")
    archive = Archive.init(tmp_path / "archive")
    [master] = archive.ingest([daguerre.__file__.replace("__init__.py", "samples/coffee.jpg")]).added
    with pytest.raises(ArchiveError, match=r"failed: no operation named 'blur' \(available: age, [^'\"]*\)$"):
        archive.apply("blur", [master])
