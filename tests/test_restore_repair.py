"""Issue 17, restore: the inpainting RestoreNet (FFC blocks, grown from a model without them, mask warm-up),
`--reference`, and the shipped model on a bundled held-out photo (scikit-image's `coffee`, held-out split)."""

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from typer.testing import CliRunner

from daguerre.cli import app
from daguerre.imaging import Picture, load, save
from daguerre.imaging.aging import age
from daguerre.metrics import chroma_error, psnr
from daguerre.models.registry import SHIPPED, list_models
from daguerre.nets.ffc import FFCBlock
from daguerre.nets.restore_net import RestoreNet
from daguerre.ops import get_operation
from daguerre.training.restore import RestoreRecipe, RestoreTrainer

SAMPLES = Path(__file__).parents[1] / "src" / "daguerre" / "samples"
COFFEE = SAMPLES / "coffee.jpg"
SIZE = 256
REMOVED = 0.75  # of the scratches' error, removed by the shipped model (measured 86%: BENCHMARKS.md)


@pytest.fixture(autouse=True)
def only_shipped(monkeypatch, tmp_path):
    monkeypatch.delenv("DAGUERRE_MODELS", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def coffee() -> np.ndarray:
    """The held-out photo, centre-cropped square at SIZE px: (3,H,W) float32 in [0,1]."""
    x = torch.from_numpy(load(COFFEE).rgb())[None]
    side = min(x.shape[-2:])
    top, left = (x.shape[-2] - side) // 2, (x.shape[-1] - side) // 2
    x = F.interpolate(x[..., top : top + side, left : left + side], size=(SIZE, SIZE), mode="bicubic",
                      antialias=True, align_corners=False)
    return x[0].clamp(0, 1).numpy()


def shipped_restore() -> str:
    cards = [c for c in list_models("restore") if Path(c.path) == SHIPPED]
    assert cards, f"no restore model ships in {SHIPPED}"
    return cards[0].name


def shipped_restore_net() -> RestoreNet:
    """A fresh copy of the shipped restore network (not the operation's cached one: tests change its settings)."""
    from daguerre.models.card import ModelCard
    from daguerre.models.registry import build

    return build(ModelCard.load(SHIPPED / f"{shipped_restore()}.json"))


# ---- the network


def test_ffc_block_starts_as_the_identity_and_sees_the_whole_picture():
    torch.manual_seed(0)
    block = FFCBlock(32).zero_last()
    x = torch.randn(1, 32, 16, 16)
    assert torch.equal(block(x), x)
    for p in block.second.parameters():  # once trained, one pixel's change reaches the far corner
        torch.nn.init.normal_(p, std=0.1)
    y = x.clone()
    y[..., 0, 0] += 1
    assert (block(y) - block(x))[..., 15, 15].abs().max() > 1e-4


def test_inpainting_net_replaces_the_masked_pixels(monkeypatch):
    """Under a certain mask the output does not depend on the damaged pixels' values at all."""
    torch.manual_seed(0)
    net = RestoreNet(widths=(8, 16, 32), mask_width=4, inpaint=True, ffc_blocks=1).he_init().eval()
    hole = torch.zeros(1, 1, 64, 64)
    hole[..., 30:34, :] = 1
    monkeypatch.setattr(net.damage, "logits", lambda x: (hole - 0.5) * 1e4)
    x = torch.rand(1, 3, 64, 64)
    white, black = x.clone(), x.clone()
    white[..., 30:34, :], black[..., 30:34, :] = 1.0, 0.0
    with torch.no_grad():
        assert torch.allclose(net(white), net(black), atol=1e-5)
        plain = RestoreNet(widths=(8, 16, 32), mask_width=4).eval()
        plain.load_state_dict(net.state_dict(), strict=False)
        monkeypatch.setattr(plain.damage, "logits", lambda x: (hole - 0.5) * 1e4)
        assert not torch.allclose(plain(white), plain(black), atol=1e-3)  # the old design sees them


def test_inpainting_model_grows_from_one_without_and_the_mask_warms_up_alone(tmp_path):
    """`init_from` a model without inpainting and FFC blocks (as the first shipped restore-photos): its weights
    load, the run counts from step 0, and the mask warm-up steps change only the mask predictor."""
    photos = [str(p) for p in sorted(SAMPLES.glob("*.jpg"))]
    small = {"content": photos, "batch_size": 1, "crop": 64, "content_short_side": 72, "widths": (8, 16, 32),
             "mask_width": 4, "tone_width": 8, "min_strength": 1.0, "d_width": 8, "checkpoint_every": 10,
             "sample_every": 10}
    plain = RestoreTrainer(RestoreRecipe(name="plain", steps=0, **small), tmp_path / "plain", progress=False)
    card = plain.export(tmp_path / "models")
    recipe = RestoreRecipe(steps=3, inpaint=True, ffc_blocks=2, he_init=True, mask_steps=2, mask_batch_size=2,
                           init_from=str(tmp_path / "models" / f"{card.name}.json"), **small)
    trainer = RestoreTrainer(recipe, tmp_path / "run", progress=False)
    assert torch.equal(trainer.net.damage.head.weight, plain.net.damage.head.weight)
    assert trainer.step == 0 and trainer.parent["grown"] == {"inpaint": True, "ffc_blocks": 2}
    before = {k: v.clone() for k, v in trainer.net.state_dict().items()}
    trainer.train(2)
    changed = {k.split(".")[0] for k, v in trainer.net.state_dict().items() if not torch.equal(v, before[k])}
    assert changed == {"damage"}
    trainer.train()
    changed = {k.split(".")[0] for k, v in trainer.net.state_dict().items() if not torch.equal(v, before[k])}
    assert "generator" in changed


def test_damage_cues_light_up_hairlines_and_specks_not_edges(coffee):
    """On the held-out photo with drawn 1 px hairlines and 3 px specks, the 3 px hat of their polarity is far
    stronger on the damage than on the photo's own strong edges (the pixels of largest gradient away from it)."""
    from PIL import Image, ImageDraw

    from daguerre.nets.damage_cues import damage_cues

    img = Image.new("L", coffee.shape[:0:-1], 0)
    draw = ImageDraw.Draw(img)
    draw.line((20, 30, 230, 200), fill=255, width=1)
    for x, y in ((60, 180), (150, 60), (200, 120)):
        draw.ellipse((x - 1, y - 1, x + 1, y + 1), fill=255)
    mask = np.asarray(img, np.float32) / 255
    dark = coffee * (1 - mask) + 0.05 * mask
    bright = coffee * (1 - mask) + 0.97 * mask
    gy, gx = np.gradient(coffee.mean(0))
    far = F.max_pool2d(torch.from_numpy(mask)[None, None], 9, 1, 4)[0, 0].numpy() == 0
    edges = (np.hypot(gx, gy) > np.quantile(np.hypot(gx, gy)[far], 0.99)) & far
    for damaged, hat in ((dark, 0), (bright, 1)):  # the 3 px black-hat and top-hat
        cue = damage_cues(torch.from_numpy(damaged)[None])[0, hat].numpy()
        assert np.median(cue[mask > 0.5]) > 3 * np.median(cue[edges]), hat


def test_damage_cues_by_opencv_are_the_max_pools_numbers(coffee, monkeypatch):
    """OpenCV's dilate and erode (inference) give the cues torch's max pools give (training graphs, ONNX export),
    to the bit: on the held-out photo, and on a batch of odd-sized random pictures."""
    from daguerre.nets import damage_cues as cues

    pictures = [torch.from_numpy(coffee)[None], torch.rand(2, 3, 37, 53, generator=torch.Generator().manual_seed(0))]
    with torch.inference_mode():
        fast = [cues.damage_cues(x) for x in pictures]
        monkeypatch.setattr(cues, "_by_opencv", lambda x: False)
        pooled = [cues.damage_cues(x) for x in pictures]
    assert all(torch.equal(a, b) for a, b in zip(fast, pooled, strict=True))
    monkeypatch.undo()
    assert cues._by_opencv(pictures[1]) and not cues._by_opencv(pictures[1].clone().requires_grad_())


def test_mask_cues_model_grows_from_one_without(tmp_path):
    """`init_from` a model without mask cues: the ToneNet and U-Net load, the mask predictor (other width) is new,
    and the tone steps with local-only agings then the mask steps change only their own part."""
    photos = [str(p) for p in sorted(SAMPLES.glob("*.jpg"))]
    small = {"content": photos, "batch_size": 1, "crop": 64, "content_short_side": 72, "widths": (8, 16, 32),
             "tone_width": 8, "min_strength": 1.0, "d_width": 8, "inpaint": True, "ffc_blocks": 1,
             "checkpoint_every": 10, "sample_every": 10}
    old = RestoreTrainer(RestoreRecipe(name="old", steps=0, mask_width=4, **small), tmp_path / "old", progress=False)
    card = old.export(tmp_path / "models")
    recipe = RestoreRecipe(steps=2, mask_width=6, mask_cues=True, tone_steps=1, tone_batch_size=4,
                           tone_identity_fraction=0.5, mask_steps=1, mask_batch_size=2, mask_dice_weight=1.0,
                           init_from=str(tmp_path / "models" / f"{card.name}.json"), **small)
    trainer = RestoreTrainer(recipe, tmp_path / "run", progress=False)
    assert trainer.step == 0 and trainer.parent["grown"] == {"inpaint": True, "ffc_blocks": 1, "mask_cues": True}
    assert torch.equal(trainer.net.generator.head.weight, old.net.generator.head.weight)
    before = {k: v.clone() for k, v in trainer.net.state_dict().items()}
    for step, part in ((1, "tone"), (2, "damage")):
        trainer.train(step)
        changed = {k.split(".")[0] for k, v in trainer.net.state_dict().items() if not torch.equal(v, before[k])}
        assert changed == {part}
        before = {k: v.clone() for k, v in trainer.net.state_dict().items()}


@pytest.mark.parametrize("cues, fill", [(False, ()), (True, ()), (False, (0.5, 2.0))])
def test_inpainting_model_exports_to_onnx(tmp_path, cues, fill):
    """The net alone exports; `fill` is a step of `restore` around it (OpenCV), so a model with it exports too."""
    ort = pytest.importorskip("onnxruntime")
    from daguerre.models.onnx import export

    torch.manual_seed(0)
    net = RestoreNet(widths=(8, 16, 32), mask_width=4, tone_width=8, inpaint=True, ffc_blocks=1,
                     mask_cues=cues, fill=fill).he_init().eval()
    for p in net.generator.bottleneck.parameters():
        torch.nn.init.normal_(p, std=0.05)
    export(net, tmp_path / "net.onnx")
    x = torch.rand(1, 3, 72, 104)
    session = ort.InferenceSession(str(tmp_path / "net.onnx"), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        expected = net(x).numpy()
    assert np.abs(session.run(None, {"image": x.numpy()})[0] - expected).max() < 1e-4


# ---- --reference


def test_reference_print_guides_tone_and_colour(coffee, tmp_path):
    """A faded, yellowed, colour-cast copy of the held-out photo, restored with the clean print as reference:
    colours closer to the truth than without it, for each of three agings; the provenance has its sha256."""
    save(Picture(coffee), tmp_path / "clean-print.png")
    reference = tmp_path / "clean-print.png"
    restore = get_operation("restore")
    name = shipped_restore()
    for seed in (1, 2, 3):
        aged = age(coffee, seed=seed, strength=1.0, effects=["fade", "colour_cast", "yellowing"]).image
        plain = restore.run(Picture(aged), model=name).rgb()
        guided = restore.run(Picture(aged), model=name, reference=str(reference)).rgb()
        assert chroma_error(guided, coffee) < chroma_error(plain, coffee), seed
        assert psnr(guided, coffee) > psnr(plain, coffee), seed
    record = restore.provenance(model=name, reference=str(reference)).params["reference"]
    assert record == {"file": "clean-print.png", "sha256": hashlib.sha256(reference.read_bytes()).hexdigest()}


def test_cli_restore_with_a_reference_and_a_missing_one(coffee, tmp_path):
    save(Picture(age(coffee, seed=1, strength=1.0, effects=["fade", "yellowing"]).image), tmp_path / "old.png")
    save(Picture(coffee), tmp_path / "ref.png")
    runner = CliRunner()
    ok = runner.invoke(app, ["restore", str(tmp_path / "old.png"), "-o", str(tmp_path / "out.png"),
                             "--reference", str(tmp_path / "ref.png")])
    assert ok.exit_code == 0, ok.output
    out = load(tmp_path / "out.png").rgb()
    assert chroma_error(out, coffee) < chroma_error(load(tmp_path / "old.png").rgb(), coffee)
    bad = runner.invoke(app, ["restore", str(tmp_path / "old.png"), "-o", str(tmp_path / "out2.png"),
                              "--reference", str(tmp_path / "nowhere.png")])
    assert bad.exit_code != 0 and "nowhere.png" in bad.output
    assert not (tmp_path / "out2.png").exists()
    for command in (["restore"], ["colorize"], ["repair", "--colorize"]):  # said as the reference's, once
        bad = runner.invoke(app, [*command, str(tmp_path / "old.png"), "-o", str(tmp_path / "out3.png"), "-r",
                                  str(tmp_path / "ref.png"), "-r", "nowhere.png"])
        assert bad.exit_code == 1 and bad.output.strip() == "error: reference nowhere.png: file not found", bad.output


def test_a_grey_reference_guides_the_tone_and_keeps_the_colour_and_several_are_pooled(coffee, tmp_path):
    """A grey print as the reference drained a colour photo's colour (colourfulness 106 to 22: its a and b
    were matched to zero); several `--reference` used only the last, without a word. Now a grey reference guides the
    lightness only, and every reference given counts (their statistics pooled) and is recorded."""
    from daguerre.metrics import colourfulness

    def luma(rgb: np.ndarray) -> np.ndarray:  # (3,H,W) to (H,W)
        return np.tensordot(np.array([0.299, 0.587, 0.114], np.float32), rgb, 1)

    aged = age(coffee, seed=1, strength=1.0, effects=["fade", "yellowing"]).image
    save(Picture(aged), tmp_path / "old.png")
    grey = np.repeat(luma(coffee)[None], 3, 0)
    save(Picture(grey), tmp_path / "grey-print.png")
    save(Picture(coffee), tmp_path / "colour.png")
    save(Picture(np.ascontiguousarray(coffee[::-1, :, ::-1])), tmp_path / "blue.png")  # other colours
    runner = CliRunner()

    def restored(*refs: str) -> np.ndarray:
        out = tmp_path / f"out-{len(list(tmp_path.iterdir()))}.png"
        args = [a for r in refs for a in ("-r", str(tmp_path / r))]
        done = runner.invoke(app, ["restore", str(tmp_path / "old.png"), "-o", str(out), *args])
        assert done.exit_code == 0, done.output
        return load(out).rgb()

    plain, toned = restored(), restored("grey-print.png")
    assert colourfulness(toned) > 0.8 * colourfulness(plain), (colourfulness(toned), colourfulness(plain))
    assert psnr(luma(toned)[None], luma(coffee)[None]) > psnr(luma(plain)[None], luma(coffee)[None]) + 0.5  # toned
    colour, blue, both = restored("colour.png"), restored("blue.png"), restored("colour.png", "blue.png")
    assert np.abs(both - blue).mean() > 0.01 and np.abs(both - colour).mean() > 0.01  # both count
    record = get_operation("restore").provenance(model=shipped_restore(), reference=[
        str(tmp_path / "colour.png"), str(tmp_path / "blue.png")]).params["reference"]
    assert [r["file"] for r in record] == ["colour.png", "blue.png"]


# ---- --damage-mask: damage the user has marked


def missed_damage(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Damage the shipped model does not find by itself on (3,H,W) x: a 7 px flat grey crease and a pale blotch
    (22 x 30 px). (damaged, mask)."""
    from PIL import Image, ImageDraw

    h, w = x.shape[-2:]
    crease, blotch = Image.new("L", (w, h), 0), Image.new("L", (w, h), 0)
    ImageDraw.Draw(crease).line((0, 100, 255, 140), fill=255, width=7)
    ImageDraw.Draw(blotch).ellipse((150, 150, 180, 172), fill=255)
    c, b = (np.asarray(m, np.float32)[None] / 255 for m in (crease, blotch))
    y = x * (1 - c) + c * 0.55
    return (y * (1 - b) + b * 0.9).astype(np.float32), np.maximum(c, b)[0]


def test_a_damage_mask_gets_what_the_model_misses_repaired_and_leaves_the_rest(coffee):
    """On the held-out photo, a crease and a blotch the model leaves (< 20% of their error removed) are mostly
    removed (>= 60%) when marked; pixels over 60 px from the marks stay within 3/255 of the unmarked result."""
    from scipy.ndimage import distance_transform_edt

    damaged, mask = missed_damage(coffee)
    restore, name = get_operation("restore"), shipped_restore()
    plain = restore.run(Picture(damaged), model=name).rgb()
    marked = restore.run(Picture(damaged), model=name, damage_mask=Picture(mask[None])).rgb()
    inside = mask > 0.5
    before = np.abs(damaged - coffee)[:, inside].mean()

    def removed(out: np.ndarray) -> float:
        return 1 - np.abs(out - coffee)[:, inside].mean() / before

    assert removed(plain) < 0.2 and removed(marked) >= 0.6, (removed(plain), removed(marked))
    far = distance_transform_edt(mask == 0) > 60
    assert np.abs(marked - plain)[:, far].max() < 3 / 255


def test_cli_restore_with_a_damage_mask_and_refusals(coffee, tmp_path):
    """A mask drawn at half size is used (the marks repaired) and recorded by sha256; a mask of other proportions,
    a file that is no picture, and one mask for two photos are one-line errors naming the problem, writing nothing."""
    damaged, mask = missed_damage(coffee)
    save(Picture(damaged), tmp_path / "old.png")
    save(Picture(damaged), tmp_path / "old2.png")
    half = torch.from_numpy(mask)[None, None]
    save(Picture(F.interpolate(half, size=(SIZE // 2, SIZE // 2), mode="area")[0].numpy()), tmp_path / "marks.png")
    runner = CliRunner()
    ok = runner.invoke(app, ["restore", str(tmp_path / "old.png"), "-o", str(tmp_path / "out.png"),
                             "--damage-mask", str(tmp_path / "marks.png")])
    assert ok.exit_code == 0, ok.output
    inside = mask > 0.5
    error = np.abs(load(tmp_path / "out.png").rgb() - coffee)[:, inside].mean()
    assert error < 0.5 * np.abs(damaged - coffee)[:, inside].mean()
    record = get_operation("restore").provenance(model=shipped_restore(), damage_mask=str(tmp_path / "marks.png"))
    digest = hashlib.sha256((tmp_path / "marks.png").read_bytes()).hexdigest()
    assert record.params["damage_mask"] == {"file": "marks.png", "sha256": digest}
    repaired = runner.invoke(app, ["repair", str(tmp_path / "old.png"), "-o", str(tmp_path / "repaired.png"),
                                   "--damage-mask", str(tmp_path / "marks.png")])  # repair's restore step too
    assert repaired.exit_code == 0, repaired.output
    assert np.abs(load(tmp_path / "repaired.png").rgb() - coffee)[:, inside].mean() < 1.01 * error
    record = get_operation("repair").provenance(damage_mask=str(tmp_path / "marks.png"))
    assert record.params["damage_mask"] == {"file": "marks.png", "sha256": digest}

    from PIL import Image

    # the same marks as white strokes on an editor's transparent layer (transparent white around them)
    layer = np.zeros((SIZE, SIZE, 4), np.uint8)
    layer[..., :3], layer[..., 3] = 255, np.where(mask > 0.5, 255, 0)
    Image.fromarray(layer, "RGBA").save(tmp_path / "layer.png")
    from daguerre.ops.restore import user_mask

    marks = user_mask(tmp_path / "layer.png", (SIZE, SIZE))[0, 0].numpy()
    assert np.array_equal(marks > 0.5, mask > 0.5)

    save(Picture(np.zeros((1, SIZE, SIZE // 2), np.float32)), tmp_path / "narrow.png")
    (tmp_path / "notes.png").write_text("not a picture")
    for args, needle in ((["--damage-mask", str(tmp_path / "narrow.png")], "proportions"),
                         (["--damage-mask", str(tmp_path / "notes.png")], "notes.png"),
                         ([str(tmp_path / "old2.png"), "--damage-mask", str(tmp_path / "marks.png")], "one photo")):
        bad = runner.invoke(app, ["restore", str(tmp_path / "old.png"), "-o", str(tmp_path / "bad") + "/", *args])
        assert bad.exit_code != 0 and needle in bad.output, bad.output
        assert not (tmp_path / "bad").exists()


# ---- --mask-output: the damage mask restore used, to see and add to


def test_cli_restore_writes_the_damage_mask_it_used_and_takes_it_back(coffee, tmp_path):
    """Over a folder (the held-out photo with drawn scratches, and clean), `--mask-output` writes one 8-bit grey
    mask per photo at its size, `<stem>.png`: white over most of the scratches (>= 60%; 76% measured) and little
    elsewhere. Given back as `--damage-mask` it changes nothing: the same restored photo and mask to the bit (the
    mask is written rounded down to 8 bits, so its union with the model's own is that mask). Not in the
    provenance: it changes no pixel."""
    from scipy import ndimage

    scratched, scratches = drawn_scratches(coffee)
    (tmp_path / "in").mkdir()
    save(Picture(scratched), tmp_path / "in" / "old.png")
    save(Picture(coffee), tmp_path / "in" / "clean.png")
    runner = CliRunner()
    ok = runner.invoke(app, ["restore", str(tmp_path / "in"), "-o", str(tmp_path / "out"),
                             "--mask-output", str(tmp_path / "masks")])
    assert ok.exit_code == 0, ok.output
    assert sorted(p.name for p in (tmp_path / "masks").iterdir()) == ["clean.png", "old.png"]
    written = load(tmp_path / "masks" / "old.png")
    assert written.is_grey and written.bit_depth == 8 and written.size == (SIZE, SIZE)
    white, inside = written.pixels[0] > 0.5, scratches > 0.5
    assert white[inside].mean() >= 0.6, white[inside].mean()
    assert white[~ndimage.binary_dilation(inside, iterations=3)].mean() < 0.1  # 3.5%: the cup's rims
    again = runner.invoke(app, ["restore", str(tmp_path / "in" / "old.png"), "-o", str(tmp_path / "again.png"),
                                "--damage-mask", str(tmp_path / "masks" / "old.png"),
                                "--mask-output", str(tmp_path / "masks-again")])
    assert again.exit_code == 0, again.output
    assert np.array_equal(load(tmp_path / "again.png").pixels, load(tmp_path / "out" / "old.png").pixels)
    assert np.array_equal(load(tmp_path / "masks-again" / "old.png").pixels, written.pixels)
    for op, params in (("restore", {"model": shipped_restore()}), ("repair", {})):
        record = get_operation(op).provenance(**params, mask_output=str(tmp_path / "masks"))
        assert "mask_output" not in record.params, op


def test_user_marks_appear_in_the_written_mask_and_repair_writes_it_too(coffee, tmp_path):
    """The crease and blotch the model misses, marked with `--damage-mask`: the written mask is white wherever
    they are marked (the model's own mask covers under a fifth of them); `repair` writes the same mask (its
    restore step's)."""
    damaged, marks = missed_damage(coffee)
    save(Picture(damaged), tmp_path / "old.png")
    save(Picture(marks[None]), tmp_path / "marks.png")
    runner = CliRunner()
    for args, folder in (([], "own"), (["--damage-mask", str(tmp_path / "marks.png")], "marked")):
        ok = runner.invoke(app, ["restore", str(tmp_path / "old.png"), "-o", str(tmp_path / f"{folder}.png"),
                                 "--mask-output", str(tmp_path / folder), *args])
        assert ok.exit_code == 0, ok.output
    own, marked = (load(tmp_path / folder / "old.png").pixels[0] for folder in ("own", "marked"))
    inside = marks > 0.5
    assert (own[inside] > 0.5).mean() < 0.2 and (marked[inside] == 1).all()
    assert np.array_equal(marked, np.maximum(own, np.floor(marks * 255) / 255))  # the union, nothing else
    repaired = runner.invoke(app, ["repair", str(tmp_path / "old.png"), "-o", str(tmp_path / "repaired.png"),
                                   "--damage-mask", str(tmp_path / "marks.png"),
                                   "--mask-output", str(tmp_path / "repair-masks")])
    assert repaired.exit_code == 0, repaired.output
    assert np.array_equal(load(tmp_path / "repair-masks" / "old.png").pixels[0], marked)


def test_mask_output_refusals_name_the_problem_in_one_line_and_write_nothing(coffee, tmp_path, monkeypatch):
    """A clip (restore or repair: one mask per frame is not written), and a model that finds its mask inside one
    network pass (no mask to write), are each one line naming the file and the problem; nothing is written."""
    from daguerre.models.card import ModelCard
    from daguerre.video.clip import ClipWriter

    small = np.ascontiguousarray(coffee[:, ::4, ::4])
    with ClipWriter(tmp_path / "clip.mp4", 25) as writer:
        for _ in range(3):
            writer.write(Picture(small))
    save(Picture(coffee), tmp_path / "photo.png")
    runner = CliRunner()

    def refused(op: str, source: str, output: str, needle: str) -> None:
        bad = runner.invoke(app, [op, str(tmp_path / source), "-o", str(tmp_path / output),
                                  "--mask-output", str(tmp_path / "masks")])
        assert bad.exit_code != 0 and len(bad.output.strip().splitlines()) == 1, bad.output
        assert source in bad.output and needle in bad.output, bad.output
        assert not (tmp_path / output).exists() and not (tmp_path / "masks").exists()

    for op in ("restore", "repair"):
        refused(op, "clip.mp4", "out.mp4", "the damage masks of a clip's frames are not written")
    net = shipped_restore_net()  # as a model without the mask rule, keep and fill: its mask is inside `forward`
    net.mask_rule, net.keep, net.fill = 0.0, (), ()
    card = ModelCard.load(SHIPPED / f"{shipped_restore()}.json")
    monkeypatch.setattr("daguerre.ops.restore.task_model", lambda task, model: (card, net))
    refused("restore", "photo.png", "out.png", "cannot write the damage mask it used")
    (tmp_path / "a-file").write_text("not a folder")
    for op in ("age", "restore", "repair"):  # refused before any work, the file untouched
        bad = runner.invoke(app, [op, str(tmp_path / "photo.png"), "-o", str(tmp_path / "out.png"),
                                  "--mask-output", str(tmp_path / "a-file")])
        assert bad.exit_code == 2 and "a-file: is a file, not a folder" in bad.output, bad.output
        assert (tmp_path / "a-file").read_text() == "not a folder" and not (tmp_path / "out.png").exists()


# ---- the shipped model on damage drawn here (not by the aging model it was trained on)


def drawn_scratches(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Four straight 2 px lines, two white and two black, drawn with PIL on (3,H,W) x: (scratched, mask)."""
    from PIL import Image, ImageDraw

    h, w = x.shape[-2:]
    masks = []
    for lines in (((10, 40, 240, 90), (30, 250, 200, 5)), ((5, 160, 250, 200), (120, 0, 140, 255))):
        img = Image.new("L", (w, h), 0)
        for line in lines:
            ImageDraw.Draw(img).line(line, fill=255, width=2)
        masks.append(np.asarray(img, np.float32) / 255)
    white, black = masks
    y = x * (1 - white) + white * 0.97
    return y * (1 - black) + black * 0.04, np.maximum(white, black)


def test_shipped_model_removes_drawn_scratches(coffee):
    """Inside the scratches, the restored photo is much closer to the clean one than the scratched input."""
    scratched, mask = drawn_scratches(coffee)
    out = get_operation("restore").run(Picture(scratched), model=shipped_restore()).rgb()
    inside = mask > 0.5
    before = np.abs(scratched - coffee)[:, inside].mean()
    after = np.abs(out - coffee)[:, inside].mean()
    assert after < (1 - REMOVED) * before, f"{100 * (1 - after / before):.0f}% of the error removed"


def test_shipped_model_descreens_a_halftone_print(coffee):
    """A colour halftone print of the held-out photo (the aging model's screen): the restored picture is closer
    to the photo, and the screen's frequency has mostly gone from its spectrum."""
    from daguerre.imaging.aging import halftone

    period = 4.0
    printed = halftone(coffee, np.random.default_rng(0), period=period, angle=10.0, amount=1.0, gain=0.05)
    out = get_operation("restore").run(Picture(printed), model=shipped_restore()).rgb()
    assert psnr(out, coffee) > psnr(printed, coffee) + 1.0

    def screen_energy(x: np.ndarray) -> float:
        """Spectral energy of the luma in a ring around the screen's frequency (1 / period cycles per px)."""
        spectrum = np.abs(np.fft.fftshift(np.fft.fft2(Picture(x).luminance() - Picture(x).luminance().mean())))
        fy, fx = np.meshgrid(*(np.fft.fftshift(np.fft.fftfreq(n)) for n in spectrum.shape), indexing="ij")
        ring = np.abs(np.hypot(fx, fy) - 1 / period) < 0.03
        return float((spectrum[ring] ** 2).sum())

    assert screen_energy(out) < 0.2 * screen_energy(printed)


# ---- do no harm (the ToneNet's gate)


def test_tone_gate_leaves_a_clean_photo_alone_and_passes_a_faded_ones_correction_whole(coffee):
    """The shipped model's ToneNet gate: the clean held-out photo gets no global correction at all (ungated it
    was nudged); the large correction of a faded and yellowed print of it passes the gate whole."""
    net = shipped_restore_net()
    assert net.tone is not None and net.tone.gate, "the shipped restore model has no tone gate"
    hi = net.tone.gate[1]
    x = torch.from_numpy(coffee)[None]
    faded = torch.from_numpy(age(coffee, seed=3, strength=0.8, effects=["fade", "yellowing"]).image)[None]
    with torch.inference_mode():
        assert (net.tone(x) - x).abs().max() < 1e-4
        corrected = net.tone(faded)
        net.tone.gate = ()
        ungated, ungated_faded = net.tone(x), net.tone(faded)
    assert (ungated - x).abs().mean() > 1e-3  # the gate is what leaves it alone
    assert (corrected - faded).abs().mean() > hi  # a correction this large passes the gate whole
    assert torch.allclose(corrected, ungated_faded, atol=1e-5)


def test_restore_does_no_harm_on_a_clean_photo_and_gains_on_a_blurred_noisy_one(coffee):
    """Issue 17's unseen family (motion blur 9 px + noise 15/255) on the held-out photo: restore gains PSNR;
    the clean photo comes back within 5 dB of itself (PSNR >= 25 dB: the mask still fires on highlights)."""
    from scipy import ndimage

    restore = get_operation("restore")
    rng = np.random.default_rng(0)
    kernel = np.zeros((9, 9), np.float32)
    kernel[4] = 1 / 9  # horizontal: the benchmark draws the angle
    noisy = np.stack([ndimage.convolve(c, kernel, mode="reflect") for c in coffee])
    noisy = np.clip(noisy + rng.normal(0, 15 / 255, coffee.shape), 0, 1).astype(np.float32)
    name = shipped_restore()
    clean_out = restore.run(Picture(coffee), model=name).rgb()
    noisy_out = restore.run(Picture(noisy), model=name).rgb()
    assert psnr(clean_out, coffee) >= 25
    assert psnr(noisy_out, coffee) > psnr(noisy, coffee) + 0.1


# ---- do no harm (the mask rule: highlights and texture are not damage)


@pytest.mark.parametrize("size", [3, 5, 7, 13])
def test_the_mask_rules_grown_masks_are_scipys_binary_dilation(size):
    """The rule grows pieces by OpenCV: the same pixels as scipy's binary dilation, borders included."""
    from scipy import ndimage

    from daguerre.nets.mask_rule import grown

    rng = np.random.default_rng(size)
    for shape in ((1, 1), (5, 3), (40, 57)):
        mask = rng.random(shape) > 0.9
        assert np.array_equal(grown(mask, size), ndimage.binary_dilation(mask, np.ones((size, size), bool)))


def test_mask_rule_drops_a_hesitant_piece_in_texture_and_keeps_it_on_a_smooth_area():
    """Two identical mask pieces (peak 0.8): the one in busy texture is dropped, the one on a flat area kept."""
    from daguerre.nets.mask_rule import filter_mask

    rng = np.random.default_rng(0)
    lum = np.full((64, 128), 0.5, np.float32)
    lum[:, 64:] = rng.uniform(0.1, 0.9, (64, 64))  # texture on the right
    prob = np.zeros_like(lum)
    for x0 in (28, 92):
        prob[30:34, x0 : x0 + 4] = 0.8
        lum[30:34, x0 : x0 + 4] = 0.95
    kept = filter_mask(prob, lum, 3.0)
    assert (kept[:, :64] == prob[:, :64]).all() and (kept[:, 64:] == 0).all()


def test_mask_rule_cuts_the_mask_on_a_clean_photo_and_keeps_drawn_scratches(coffee):
    """The shipped model's mask rule on the held-out photo: fewer pixels masked on the clean photo and the clean
    photo restored closer to itself; the drawn scratches still masked and removed as before."""
    net = shipped_restore_net()
    assert net.mask_rule > 0, "the shipped restore model has no mask rule"
    clean, (scratched, mask) = torch.from_numpy(coffee)[None], drawn_scratches(coffee)
    inside = mask > 0.5
    with torch.inference_mode():
        ruled = [net.damage_mask(clean), net.damage_mask(torch.from_numpy(scratched)[None]), net.restore(clean)]
        net.mask_rule = 0.0
        plain = [net.damage_mask(clean), net.damage_mask(torch.from_numpy(scratched)[None]), net.restore(clean)]
    assert (ruled[0] > 0.5).float().mean() < 0.8 * (plain[0] > 0.5).float().mean()
    assert psnr(ruled[2][0].numpy(), coffee) > psnr(plain[2][0].numpy(), coffee)
    assert (ruled[1][0, 0].numpy() > 0.5)[inside].mean() > 0.9 * (plain[1][0, 0].numpy() > 0.5)[inside].mean()


def test_shape_rule_drops_a_coloured_spot_and_keeps_a_neutral_speck_of_the_same_shape():
    """The shape rule (`mask_shape`): a 4 px bright piece on a blue area, the same to the shipped rule's features
    (peak, busy, grade), is kept when it is neutral like dust and dropped when it is yellow like a flower's
    stamen; a pattern of such spots scores lower than one alone; the shipped rule (no rgb) is unchanged."""
    from daguerre.nets.mask_rule import SHAPE, SHAPE_WEIGHTS, component_features, filter_mask

    blue = np.broadcast_to(np.float32([0.2, 0.4, 0.7])[:, None, None], (3, 64, 128)).copy()
    prob = np.zeros((64, 128), np.float32)
    prob[26:30, 26:30] = prob[26:30, 90:94] = 0.9
    blue[:, 26:30, 26:30] = 0.95  # neutral speck on the left, a yellow spot on the right
    blue[:, 26:30, 90:94] = np.float32([0.95, 0.8, 0.3])[:, None, None]
    lum = np.tensordot(np.float32([0.299, 0.587, 0.114]), blue, axes=1)
    _, features = component_features(prob, lum, blue)
    assert features.shape == (2, 3 + len(SHAPE))
    np.testing.assert_allclose(features[0, :3], features[1, :3], atol=0.05)  # the shipped rule cannot tell them
    kept = filter_mask(prob, lum, 6.0, blue)
    assert (kept[:, :64] == prob[:, :64]).all() and (kept[:, 64:] == 0).all()
    assert (filter_mask(prob, lum, 3.0) == prob).all()  # the shipped rule keeps both
    grid = np.zeros((64, 128), np.float32)  # grey: a 3 x 3 pattern of spots 12 px apart on the left, one alone
    for top in (14, 26, 38):
        for left in (14, 26, 38):
            grid[top : top + 4, left : left + 4] = 0.9
    grid[26:30, 90:94] = 0.9
    lum = np.where(grid > 0, 0.95, 0.5).astype(np.float32)
    labels, features = component_features(grid, lum, np.repeat(lum[None], 3, 0))
    score = features @ SHAPE_WEIGHTS
    centre, alone = labels[27, 27] - 1, labels[27, 91] - 1
    others = 3 + SHAPE.index("others")
    assert features[centre, others] > 0 and features[alone, others] == 0
    assert score[centre] < score[alone]


@pytest.mark.parametrize("config", [{"mask_shape": True}, {"mask_rule": 3.0, "mask_shape": "yes"}])
def test_a_malformed_mask_shape_setting_is_a_one_line_error(config):
    with pytest.raises(ValueError, match="mask_shape is true or false and needs a mask_rule"):
        RestoreNet(**config)


# ---- white sensor noise: measured, and removed first where there is much


def test_noise_level_reads_white_noise_and_not_texture():
    """The block-percentile noise estimate on bundled photos: a clean one (busy fur and all) reads under the gate,
    the same photo with white noise of 12/255 reads within 20% of it."""
    from daguerre.imaging.denoise import noise_level
    from daguerre.nets.restore_net import NOISE_GATE

    rng = np.random.default_rng(0)
    for name in ("chelsea.jpg", "astronaut.jpg"):
        x = load(SAMPLES / name).rgb()
        assert noise_level(x) < NOISE_GATE / 2, name
        noisy = np.clip(x + rng.normal(0, 12 / 255, x.shape), 0, 1).astype(np.float32)
        assert abs(noise_level(noisy) - 12 / 255) < 0.2 * 12 / 255, name


def with_and_without(net: RestoreNet, setting: str, *pictures: torch.Tensor) -> tuple[list, list]:
    """`net.restore` of each picture with its card's `setting`, then with that setting off (0)."""
    with torch.inference_mode():
        with_step = [net.restore(p) for p in pictures]
        setattr(net, setting, 0.0)
        return with_step, [net.restore(p) for p in pictures]


def test_shipped_model_removes_white_noise_first_and_leaves_a_clean_photo_as_before(coffee):
    """The shipped card's `denoise`: a noisy held-out photo (white noise 15/255) comes back over 0.5 dB closer than
    without the step; a clean one is not touched by it (the same output to the bit)."""
    net = shipped_restore_net()
    assert net.denoise > 0, "the shipped restore model does not denoise"
    rng = np.random.default_rng(1)
    clean = torch.from_numpy(coffee)[None]
    noisy = torch.from_numpy(np.clip(coffee + rng.normal(0, 15 / 255, coffee.shape), 0, 1).astype(np.float32))[None]
    with_step, without = with_and_without(net, "denoise", clean, noisy)
    assert torch.equal(with_step[0], without[0])
    assert psnr(with_step[1][0].numpy(), coffee) > psnr(without[1][0].numpy(), coffee) + 0.5


# ---- halftone screens: found in the spectrum, low-passed away first


def test_screen_is_found_in_halftone_prints_and_not_in_photos_or_stripes():
    """Bundled photos score under a third of the gate, even with slanted stripes (blinds: one orientation, not a
    lattice) drawn over them; the aging model's halftone prints of them, at three screen periods, score over it."""
    from daguerre.imaging.aging import halftone
    from daguerre.imaging.descreen import screen
    from daguerre.nets.restore_net import SCREEN_GATE

    rng = np.random.default_rng(0)
    for name in ("astronaut.jpg", "chelsea.jpg", "rocket.jpg"):
        x = load(SAMPLES / name).rgb()[:, :256, :256]
        rows, cols = np.meshgrid(np.arange(256, dtype=np.float32), np.arange(256, dtype=np.float32), indexing="ij")
        striped = np.clip(x + 0.1 * np.sin(2 * np.pi * (0.15 * rows + 0.1 * cols)), 0, 1).astype(np.float32)
        assert screen(x)[0] < SCREEN_GATE / 3, name
        assert screen(striped)[0] < SCREEN_GATE / 3, name
        for period in (2.5, 4.0, 6.0):
            printed = halftone(x, rng, period=period, angle=float(rng.uniform(0, 90)), amount=0.9)
            score, frequency = screen(printed)
            assert score > SCREEN_GATE, (name, period)
            assert abs(frequency - 1 / period) < 0.35 / period, (name, period)


def test_shipped_model_descreens_first_and_leaves_a_clean_photo_as_before(coffee):
    """The shipped card's `descreen`: a halftone print of the held-out photo comes back over 2 dB closer than
    without the step; the clean photo is not touched by it (the same output to the bit)."""
    from daguerre.imaging.aging import halftone
    net = shipped_restore_net()
    assert net.descreen > 0, "the shipped restore model does not descreen"
    printed = halftone(coffee, np.random.default_rng(2), period=4.0, angle=20.0, amount=0.9)
    x, clean = torch.from_numpy(printed)[None], torch.from_numpy(coffee)[None]
    with_step, without = with_and_without(net, "descreen", clean, x)
    assert torch.equal(with_step[0], without[0])
    assert psnr(with_step[1][0].numpy(), coffee) > psnr(without[1][0].numpy(), coffee) + 2


# ---- do no harm (the card's `keep`: outside the damage, the picture's own detail)


def fine_detail(x: np.ndarray, where: np.ndarray) -> float:
    """Mean absolute luma high-pass (the luma minus a 2 px Gaussian of it) over the pixels `where`: the energy of
    fine texture there."""
    from scipy import ndimage

    lum = Picture(x).luminance()
    return float(np.abs(lum - ndimage.gaussian_filter(lum, 2.0))[where].mean())


def test_keep_leaves_a_clean_photos_texture_and_still_removes_drawn_scratches(coffee):
    """The shipped card's `keep`: away from what the mask marks (its false alarms on the cup's rims are still
    inpainted), the clean held-out photo keeps its fine texture (within 5%; the U-Net alone smooths it by over
    10%) and comes back closer than without the step; drawn scratches are still removed; a grainy print of it
    still loses its grain (the step lets the U-Net's fine change through)."""
    from scipy import ndimage

    net = shipped_restore_net()
    assert net.keep, "the shipped restore model does not keep the undamaged detail"
    scratched, mask = drawn_scratches(coffee)
    grainy = age(coffee, seed=5, strength=1.0, effects=["grain"]).image
    pictures = [torch.from_numpy(np.ascontiguousarray(p))[None] for p in (coffee, scratched, grainy)]
    with torch.inference_mode():
        kept = [net.restore(p)[0].numpy() for p in pictures]
        away = ~ndimage.binary_dilation(net.damage_mask(pictures[0])[0, 0].numpy() > 0.5, iterations=8)
        net.keep = ()
        unet = [net.restore(p)[0].numpy() for p in pictures]
    assert away.mean() > 0.5
    assert abs(fine_detail(kept[0], away) / fine_detail(coffee, away) - 1) < 0.05
    assert fine_detail(unet[0], away) < 0.9 * fine_detail(coffee, away)  # what the step undoes
    assert psnr(kept[0], coffee) > psnr(unet[0], coffee) + 0.3  # +0.46 dB (feather 3 px: +1.05)
    inside = mask > 0.5
    before = np.abs(scratched - coffee)[:, inside].mean()
    assert np.abs(kept[1] - coffee)[:, inside].mean() < (1 - REMOVED) * before
    everywhere = np.ones(coffee.shape[1:], bool)
    assert np.abs(kept[2] - unet[2]).max() < 1e-5  # grain read above the gate's top: the U-Net's change whole
    assert fine_detail(kept[2], everywhere) < 0.8 * fine_detail(grainy, everywhere)


@pytest.mark.parametrize("keep", [(0, 4, 3, 0.006, 0.016), (8, 4, 3, 0.02, 0.01), (8, -1, 3, 0, 0.01), (8, 4, 3)])
def test_a_malformed_keep_setting_is_a_one_line_error(keep):
    with pytest.raises(ValueError, match=r"keep is \(low-pass sigma > 0"):
        RestoreNet(keep=keep)


def test_keep_in_bands_of_rows_equals_the_whole_picture_at_once(coffee):
    """`kept` works in bands of rows (bounded memory on large scans): on the scratched held-out photo its result
    equals the whole picture done at once, bit for bit, whatever the band height."""
    net = shipped_restore_net()
    scratched = torch.from_numpy(np.ascontiguousarray(drawn_scratches(coffee)[0]))[None]
    with torch.inference_mode():
        measured = net.prefilters(scratched[0].numpy())
        x = net.denoised(scratched, measured)
        params = net.tone_params(x)
        base, mask = net.toned(x, params), net.damage_mask(x)
        y = net.local(x, params, mask)
        whole = net.kept(base, y, mask, [measured], strip=SIZE)
        assert (whole - y).abs().max() > 0.01 and (whole - base).abs().max() > 0.01  # the step did something
        for strip in (17, 64, 100):
            assert torch.equal(net.kept(base, y, mask, [measured], strip=strip), whole), f"bands of {strip} rows"


def test_keep_lets_the_unets_softening_of_faint_damage_through_near_the_mask(coffee):
    """Faint hairlines and specks (`age`'s faint damage) on the held-out photo: wherever the U-Net removes some of
    their error at all (the faintest make any change a loss), the card's keep (feather 2 px) removes more than
    the former feather of 3 px (whose thin tail dropped the U-Net's change along the scratches' faint ends), and
    less than the U-Net alone (the cost of keeping texture)."""
    net = shipped_restore_net()
    card = net.keep
    removed: dict[str, list[float]] = {"card": [], "feather 3": [], "U-Net alone": []}
    for seed in range(8):
        faint = age(coffee, seed=seed, strength=1.0, effects=["faint"])
        inside = faint.mask > 0.5
        before = np.abs(faint.image - coffee)[:, inside].mean()
        for name, keep in (("card", card), ("feather 3", (*card[:2], 3.0, *card[3:])), ("U-Net alone", ())):
            net.keep = keep
            with torch.inference_mode():
                out = net.restore(torch.from_numpy(faint.image)[None])[0].numpy()
            removed[name].append(1 - np.abs(out - coffee)[:, inside].mean() / before)
    seen = np.array(removed["U-Net alone"]) > 0.1
    gain = np.subtract(removed["card"], removed["feather 3"])[seen]
    assert seen.sum() >= 4 and (gain > 0).all() and gain.mean() > 0.01
    assert np.mean(np.array(removed["card"])[seen]) < np.mean(np.array(removed["U-Net alone"])[seen])



# ---- fill: Telea's inpainting inside the damage mask


def test_telea_fills_a_hole_from_its_surroundings_and_leaves_the_rest(coffee):
    """Drawn scratches on the held-out photo, filled by `imaging.inpaint.telea` with their own mask: most of their
    error is gone and every pixel outside them keeps its value to 16 bits (OpenCV's float path would not)."""
    from daguerre.imaging.inpaint import telea

    scratched, mask = drawn_scratches(coffee)
    hole = mask > 0.1
    out = telea(scratched, hole)
    assert out.dtype == np.float32 and out.shape == coffee.shape
    before = np.abs(scratched - coffee)[:, hole].mean()
    assert np.abs(out - coffee)[:, hole].mean() < 0.3 * before
    assert np.abs(out - scratched)[:, ~hole].max() <= 1 / 65535
    assert out.min() >= 0 and out.max() <= 1


def test_fill_removes_more_of_faint_damage_than_the_unet_alone(coffee):
    """`age`'s faint hairlines and specks on the held-out photo (8 seeds): with the card's `fill` the restored
    photo is closer to the clean one, in LPIPS, than the same model without it, for most seeds and on average."""
    from daguerre.metrics import lpips

    net = shipped_restore_net()
    assert net.fill, "the shipped restore model does not fill the damage classically"
    card = net.fill
    scores: dict[str, list[float]] = {"card": [], "no fill": []}
    for seed in range(8):
        faint = age(coffee, seed=seed, strength=1.0, effects=["faint", "dust", "scratches"]).image
        for name, fill in (("card", card), ("no fill", ())):
            net.fill = fill
            with torch.inference_mode():
                scores[name].append(lpips(net.restore(torch.from_numpy(faint)[None])[0].numpy(), coffee))
    gain = np.subtract(scores["no fill"], scores["card"])
    assert (gain > 0).sum() >= 6 and gain.mean() > 0.003, gain


@pytest.mark.parametrize("fill", [(0, 2), (1.0, 2), (0.5, -1), (0.5,)])
def test_a_malformed_fill_setting_is_a_one_line_error(fill):
    with pytest.raises(ValueError, match=r"fill is \(mask threshold in 0..1, feather in px >= 0\)"):
        RestoreNet(fill=fill)



# ---- lowpass_away: no halo around a repaired speck


def drawn_specks(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x with 12 black discs of radius 4 px drawn on a grid, and their mask (H,W)."""
    h, w = x.shape[-2:]
    yy, xx = np.mgrid[:h, :w]
    mask = np.zeros((h, w), np.float32)
    for cy in np.linspace(40, h - 40, 3):
        for cx in np.linspace(30, w - 30, 4):
            mask[(yy - cy) ** 2 + (xx - cx) ** 2 <= 16] = 1
    return (x * (1 - mask)).astype(np.float32), mask


def test_lowpass_away_leaves_no_halo_around_a_repaired_speck(coffee):
    """Black specks drawn on the held-out photo: with `lowpass_away` the low-pass part of the U-Net's change is
    measured away from the damage, so the ring 6-16 px around each repaired speck (beyond the mask's growth and
    feather) stays nearer the clean photo than when the specks' own repair is blurred over it, and the specks are
    removed as well as without it."""
    from scipy import ndimage

    net = shipped_restore_net()
    specked, mask = drawn_specks(coffee)
    ring = ndimage.binary_dilation(mask > 0, iterations=16) & ~ndimage.binary_dilation(mask > 0, iterations=6)
    out = {}
    for away in (True, False):
        net.lowpass_away = away
        with torch.inference_mode():
            out[away] = net.restore(torch.from_numpy(specked)[None])[0].numpy()
    error = {away: np.abs(y - coffee)[:, ring].mean() for away, y in out.items()}
    assert error[True] < 0.85 * error[False], error  # 0.0114 against 0.0146
    inside = mask > 0
    left = {away: np.abs(y - coffee)[:, inside].mean() for away, y in out.items()}
    assert left[True] < 0.5 * np.abs(specked - coffee)[:, inside].mean() and left[True] < 1.05 * left[False], left


def test_lowpass_away_without_keep_or_not_a_boolean_is_a_one_line_error():
    with pytest.raises(ValueError, match="lowpass_away changes keep's low-pass part: set keep too"):
        RestoreNet(lowpass_away=True)
    with pytest.raises(ValueError, match="lowpass_away is true or false, got 'yes'"):
        RestoreNet(keep=(8, 4, 2, 0.006, 0.016), lowpass_away="yes")
