"""A colour bank from the user's own colour photos (`daguerre train colour-bank`, `colorize --bank`): built from
the colour half of a real photo it colours the grey other half far nearer its truth than the shipped bank, keeps
the shipped entries to the bit and the picture's luminance exactly, is used only when named, is recorded in the
provenance, and bad collections or names are one-line errors that write nothing."""

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from daguerre import api
from daguerre.cli import app
from daguerre.imaging import ImageError, Picture
from daguerre.metrics import chroma_error, colourfulness
from daguerre.models.registry import build, find_model
from daguerre.ops import colorize as ops
from daguerre.ops import get_operation
from daguerre.training.colour_bank import COLLECTION_GAIN, COLLECTION_VOTE

SAMPLES = Path(__file__).parents[1] / "src" / "daguerre" / "samples"


def halves(name: str) -> tuple[np.ndarray, np.ndarray, Image.Image]:
    """A sample's left half as grey and as its colour truth ((3,H,W) in [0,1]), and its right half (colour)."""
    photo = Image.open(SAMPLES / name).convert("RGB")
    w, h = photo.size
    truth = np.asarray(photo.crop((0, 0, w // 2, h)), np.float32).transpose(2, 0, 1) / 255
    grey = np.repeat(Picture(truth).luminance()[None], 3, 0)
    return grey, truth, photo.crop((w // 2, 0, w, h))


@pytest.fixture
def models(tmp_path, monkeypatch):
    folder = tmp_path / "models"
    monkeypatch.setenv("DAGUERRE_MODELS", str(folder))
    return folder


def test_a_bank_of_the_other_half_colours_the_grey_half_near_its_truth(models, tmp_path):
    grey, truth, right = halves("coffee.jpg")
    collection = tmp_path / "collection"
    collection.mkdir()
    right.save(collection / "right.jpg")
    Image.fromarray((grey[0] * 255).round().astype(np.uint8)).save(collection / "a-grey-print.png")
    card = api.train_colour_bank(collection, "cafe", out=models)
    assert [Path(p).name for p in card.training["photos"]] == ["right.jpg"]
    assert [Path(p).name for p in card.training["skipped_nearly_grey"]] == ["a-grey-print.png"]

    colorize = get_operation("colorize")
    shipped = colorize.run(Picture(grey)).rgb()
    ours = colorize.run(Picture(grey), bank="cafe")
    err_grey, err_shipped = chroma_error(grey, truth), chroma_error(shipped, truth)
    err_ours = chroma_error(ours.rgb(), truth)
    assert err_ours < 0.6 * err_shipped and err_ours < 0.5 * err_grey, (err_grey, err_shipped, err_ours)
    assert colourfulness(ours.rgb()) > 0.7 * colourfulness(truth)  # the red cup and the wood, not a tint
    assert np.abs(ours.luminance() - Picture(grey).luminance()).max() < 1e-5
    recorded = {m["name"]: m["sha256"] for m in colorize.provenance(bank="cafe").models}
    assert recorded["cafe"] == card.sha256 and "colour-bank" not in recorded


def test_the_shipped_entries_are_kept_and_the_card_says_what_made_the_bank(models, tmp_path):
    _, _, right = halves("chelsea.jpg")
    right.save(tmp_path / "cat.jpg")
    card = api.train_colour_bank([tmp_path / "cat.jpg"], "cats", per_photo=50, out=models)
    base_card = find_model("colour-bank")
    base, bank = build(base_card), build(card)
    n = len(base.keys)
    assert len(bank.keys) == n + 50 and bank.config["entries"] == n + 50
    for key in ("keys", "ab", "lightness", "photo", "source"):
        assert torch.equal(getattr(bank, key)[:n], getattr(base, key)), key
    assert torch.equal(bank.mean, base.mean) and torch.equal(bank.basis, base.basis)
    assert set(bank.photo[n:].tolist()) == {int(base.photo.max()) + 1}  # one new photo, after the shipped ones
    assert bank.config["gain"] == COLLECTION_GAIN and bank.config["vote"] == COLLECTION_VOTE
    assert "gain" not in base.config and ops.readout(base) == (ops.BANK_GAIN, ops.BANK_VOTE)
    assert card.training["based_on"] == {"name": "colour-bank", "sha256": base_card.sha256}
    assert len(card.training["photos_sha256"]) == 1 and card.task == "colorize-bank"


def test_a_users_bank_is_used_only_when_named(models, tmp_path):
    """A bank whose name sorts before the shipped one's does not take its place in plain automatic colour."""
    _, _, right = halves("coffee.jpg")
    right.save(tmp_path / "right.jpg")
    api.train_colour_bank(tmp_path / "right.jpg", "aaa-first", per_photo=50, out=models)
    colorize = get_operation("colorize")
    assert [m["name"] for m in colorize.provenance().models if m["task"] == "colorize-bank"] == ["colour-bank"]
    assert ops.colour_bank()[0].name == "colour-bank"
    assert "aaa-first" in [m["name"] for m in colorize.provenance(bank="aaa-first", hints=["1,1,#ff0000"]).models]


def test_bad_collections_and_bank_names_are_one_line_errors_that_write_nothing(models, tmp_path):
    _, _, right = halves("coffee.jpg")
    grey_only = tmp_path / "grey"
    grey_only.mkdir()
    right.convert("L").save(grey_only / "print.png")
    with pytest.raises(ValueError, match="no colour photos among 1 image"):
        api.train_colour_bank(grey_only, "greys", out=models)
    broken = tmp_path / "broken"
    broken.mkdir()
    right.save(broken / "good.jpg")
    (broken / "torn.jpg").write_bytes((broken / "good.jpg").read_bytes()[:300])
    with pytest.raises(ImageError, match="torn.jpg"):
        api.train_colour_bank(broken, "torn", out=models)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        api.train_colour_bank(tmp_path / "nowhere", "none", out=models)
    for taken in ("colour-bank", "van-gogh-irises"):  # shipped names are never taken, even with replace
        with pytest.raises(ValueError, match="is taken"):
            api.train_colour_bank(broken / "good.jpg", taken, out=models, replace=True)
    assert not models.exists() or not list(models.iterdir())

    first = api.train_colour_bank(broken / "good.jpg", "mine", per_photo=20, out=models)
    entries = len(build(first).keys)
    with pytest.raises(ValueError, match="--replace"):
        api.train_colour_bank(broken / "good.jpg", "mine", per_photo=30, out=models)
    assert find_model("mine").sha256 == first.sha256  # the stored bank is untouched
    again = api.train_colour_bank(broken / "good.jpg", "mine", per_photo=30, out=models, replace=True)
    assert len(build(again).keys) == entries + 10

    colorize = get_operation("colorize")
    grey = Picture(np.zeros((32, 32), np.float32))
    with pytest.raises(ValueError, match="no colour bank named 'atlantis'.*colour-bank.*mine"):
        colorize.run(grey, bank="atlantis")
    with pytest.raises(ValueError, match="'restore-photos' is a restore model, not a colour bank"):
        colorize.run(grey, bank="restore-photos")
    with pytest.raises(ValueError, match="with a reference it would not be used"):
        colorize.check({"bank": "mine", "reference": [str(SAMPLES / "coffee.jpg")]})

    result = CliRunner().invoke(app, ["train", "colour-bank", str(grey_only), "--name", "greys"])
    assert result.exit_code == 1 and "no colour photos" in result.output
    assert len(result.output.strip().splitlines()) == 1
    out = tmp_path / "out.png"
    result = CliRunner().invoke(app, ["colorize", str(grey_only / "print.png"), "-o", str(out), "--bank", "atlantis"])
    assert result.exit_code == 1 and "atlantis" in result.output and not out.exists()
    result = CliRunner().invoke(app, ["colorize", str(grey_only / "print.png"), "-o", str(out), "--bank", "mine"])
    assert result.exit_code == 0 and Image.open(out).size == right.size


def test_the_run_form_offers_the_installed_banks(models, tmp_path, archive):
    from daguerre.web.forms import FormError, forget_installed, operation_fields, params_from_form

    _, _, right = halves("coffee.jpg")
    right.save(tmp_path / "right.jpg")
    api.train_colour_bank(tmp_path / "right.jpg", "cafe", per_photo=20, out=models)
    forget_installed()
    [bank] = [f for f in operation_fields()["colorize"] if f.name == "bank"]
    assert set(bank.choices) == {"cafe", "colour-bank"} and bank.default is None
    assert params_from_form(archive, "colorize", {"bank": "cafe"}) == {"bank": "cafe"}
    assert params_from_form(archive, "colorize", {"bank": ""}) == {}
    with pytest.raises(FormError, match="'atlantis' is not one of"):
        params_from_form(archive, "colorize", {"bank": "atlantis"})
    forget_installed()


def test_an_archive_derivative_records_the_bank_and_rederives_or_says_it_was_remade(models, tmp_path, archive,
                                                                                  photos):
    _, _, right = halves("coffee.jpg")
    right.save(tmp_path / "right.jpg")
    card = api.train_colour_bank(tmp_path / "right.jpg", "cafe", per_photo=50, out=models)
    [master] = archive.ingest([photos["coffee.jpg"]]).added
    [made] = archive.apply("colorize", [master], {"bank": "cafe", "render_size": 128})
    recipe = archive.events_of(made.id)[0].outcome_detail["recipe"]
    assert recipe["params"]["bank"] == "cafe"
    assert {"name": "cafe", "sha256": card.sha256} in [{k: m[k] for k in ("name", "sha256")} for m in recipe["models"]]
    report = archive.rederive(made.id)
    assert report.identical and not report.notes
    api.train_colour_bank(tmp_path / "right.jpg", "cafe", per_photo=5, out=models, replace=True)
    report = archive.rederive(made.id)
    assert "model cafe's weights are sha256" in " ".join(report.notes) and card.sha256[:12] in report.notes[0]


def test_the_demo_colours_each_photo_from_a_bank_of_all_and_leaves_the_model_folders_alone(tmp_path, monkeypatch):
    from daguerre import demo
    from daguerre.imaging import load

    monkeypatch.delenv("DAGUERRE_MODELS", raising=False)
    results = tmp_path / "results"
    results.mkdir()
    page = demo._repair_rows([SAMPLES / "coffee.jpg", SAMPLES / "chelsea.jpg"], results, lambda _: None)
    assert "--bank</code> of the four mirrored crops" in page and "DAGUERRE_MODELS" not in os.environ
    photo, automatic, banked = (load(results / f"repair-coffee-{j}.png").rgb() for j in (0, 4, 7))
    assert chroma_error(banked, photo) < 0.6 * chroma_error(automatic, photo)
    assert sorted(p.name for p in (results / "colour-bank" / "collection").iterdir()) == ["chelsea.png", "coffee.png"]


def test_an_archives_colour_masters_make_a_bank_and_its_derivatives_are_refused(models, archive, photos):
    added = archive.ingest(list(photos.values())).added
    [made] = archive.apply("film", [added[0]], {"preset": "sepia"})
    base = ["archive", "colour-bank", "-A", str(archive.path), "--out", str(models)]

    result = CliRunner().invoke(app, [*base, "from-machine", made.id])
    assert result.exit_code == 1 and f"{made.id}: a machine-made derivative" in result.output
    assert not models.exists() or not list(models.iterdir())
    result = CliRunner().invoke(app, [*base, "both", added[0], "--search", "coffee"])
    assert result.exit_code == 1 and "not both" in result.output

    result = CliRunner().invoke(app, [*base, "everything", "--per-photo", "30"])
    assert result.exit_code == 0, result.output
    card = find_model("everything")
    assert sorted(card.training["items"]) == sorted(added)  # every master, none of the derivatives
    assert len(card.training["photos"]) == 3 and len(card.training["skipped_nearly_grey"]) == 1  # camera is grey
    assert card.training["archive"] == str(archive.path)
    stored = {archive.get(i).sha256 for i in added}
    assert set(card.training["photos_sha256"]) <= stored

    result = CliRunner().invoke(app, [*base, "cups", "--search", "Coffee cup", "--per-photo", "30"])
    assert result.exit_code == 0, result.output
    assert find_model("cups").training["items"] == [i for i in added if archive.get(i).title == "Coffee cup"]
    result = CliRunner().invoke(app, [*base, "none", "--search", "no such words"])
    assert result.exit_code == 1 and "no master pictures" in result.output


def test_the_card_measures_the_bank_on_its_own_photos_each_left_out(models, tmp_path):
    from daguerre.models.summary import headline

    for name in ("coffee.jpg", "chelsea.jpg"):
        grey, truth, right = halves(name)
        right.save(tmp_path / f"right-{name}")
        Image.fromarray((truth.transpose(1, 2, 0) * 255).round().astype(np.uint8)).save(tmp_path / f"left-{name}")
    card = api.train_colour_bank(tmp_path, "halves", per_photo=100, out=models, measure=4)
    m = card.metrics
    assert m["collection_photos_measured"] == 4
    # each half finds its other half: far nearer than the shipped bank alone, which knows neither photo
    assert m["collection_leave_one_out_chroma_error_of_grey"] < 0.8 * m[
        "collection_leave_one_out_shipped_bank_chroma_error_of_grey"], m
    assert headline(find_model("halves")).startswith(f"{m['collection_leave_one_out_chroma_error_of_grey']:.2f}")
    assert not api.train_colour_bank(tmp_path, "unmeasured", per_photo=20, out=models, measure=0).metrics


def test_repair_colours_from_a_bank_and_asking_for_one_asks_for_colorize(models, tmp_path, archive):
    from daguerre.web.forms import forget_installed, params_from_form

    grey, truth, right = halves("coffee.jpg")
    right.save(tmp_path / "right.jpg")
    api.train_colour_bank(tmp_path / "right.jpg", "cafe", per_photo=100, out=models)
    repair = get_operation("repair")
    with pytest.raises(ValueError, match="ask for colorize too"):
        repair.check({"bank": "cafe"})
    out = repair.run(Picture(grey), colorize=True, bank="cafe")
    assert chroma_error(out.rgb(), truth) < 0.6 * chroma_error(grey, truth)
    assert "cafe" in [m["name"] for m in repair.provenance(colorize=True, bank="cafe").models]
    forget_installed()
    assert params_from_form(archive, "repair", {"bank": "cafe"}) == {"bank": "cafe", "colorize": True}
    forget_installed()


@pytest.fixture
def user_models(tmp_path, monkeypatch):
    """The user's model folder, where a colour-bank job installs its bank (no other folder searched)."""
    from daguerre.models.registry import user_models_dir

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("DAGUERRE_MODELS", raising=False)
    return user_models_dir()


def bank_job(archive, masters: list[str], name: str) -> str:
    from daguerre import jobs

    [job_id] = jobs.submit(archive, masters[:1], "train-colour-bank", {"name": name, "masters": masters,
                                                                        "per_photo": 20}, user="ana")
    return job_id


def test_a_colour_bank_job_reports_each_photo_and_installs_its_bank(user_models, archive, photos):
    from daguerre import jobs
    from daguerre.models.registry import list_models

    masters = archive.ingest(list(photos.values())).added
    job_id = bank_job(archive, masters, "archive-bank")
    seen: list[dict] = []
    summary = jobs.run_jobs(archive, job_ids=[job_id], backend="inline", on_progress=seen.append)
    assert summary.done == 1, summary.errors
    assert [e["progress"] for e in seen if e["status"] == "running"][-1] == 1.0  # every photo in, then measured
    card = {c.name: c for c in list_models()}["archive-bank"]
    assert Path(card.path) == user_models and card.task == "colorize-bank"
    assert card.training["items"] == masters and len(card.training["photos"]) == 3  # the grey camera skipped
    assert card.training["archive"] == str(archive.path) and card.training["per_photo"] == 20
    assert jobs.get_job(archive, job_id)["status"] == "done"


def test_a_colour_bank_job_cancelled_between_photos_or_with_a_torn_master_installs_nothing(user_models, archive,
                                                                                            photos, monkeypatch):
    import time

    from daguerre import jobs
    from daguerre.jobs.training import run_dir
    from daguerre.training import colour_bank

    masters = archive.ingest(list(photos.values())).added
    job_id = bank_job(archive, masters, "stopped")
    real, read = colour_bank.photo_positions, []

    def cancelled_at_the_second(*args, **kwargs):
        read.append(args[0])
        if len(read) == 2:
            assert jobs.cancel(archive, job_id)
            time.sleep(0.3)  # past the worker's interval between looks for the cancel note
        return real(*args, **kwargs)

    monkeypatch.setattr(colour_bank, "photo_positions", cancelled_at_the_second)
    summary = jobs.run_jobs(archive, job_ids=[job_id], backend="inline")
    assert summary.cancelled == 1 and summary.done == 0 and len(read) == 2  # stopped after the second photo
    assert jobs.get_job(archive, job_id)["status"] == "cancelled"
    assert not user_models.exists() and not (run_dir(archive, job_id) / "model").exists()

    monkeypatch.setattr(colour_bank, "photo_positions", real)
    torn = archive.get(masters[1])
    stored = archive.store.local_path(torn.sha256)
    stored.chmod(0o644)
    stored.write_bytes(stored.read_bytes()[:300])
    job_id = bank_job(archive, masters, "torn")
    summary = jobs.run_jobs(archive, job_ids=[job_id], backend="inline")
    assert summary.failed == 1
    error = jobs.get_job(archive, job_id)["error"]
    assert error.startswith(f"{torn.id}: its stored file cannot be read: ") and "\n" not in error, error
    assert not user_models.exists()


def test_a_colour_bank_job_cancelled_as_it_installs_leaves_nothing_and_never_overwrites_a_bank(
        user_models, archive, photos, monkeypatch):
    """The runner installs the bank as it marks the job done: a cancel landing in between takes the bank back; a
    bank given the job's name meanwhile (by the CLI) is kept and the job fails saying so; neither job's bank can be
    published by hand, and their run folders do not keep a copy."""
    from daguerre import jobs
    from daguerre.archive import ArchiveError
    from daguerre.jobs import training
    from daguerre.jobs.training import publish, run_dir
    from daguerre.models.registry import list_models
    from daguerre.training import colour_bank

    masters = archive.ingest(list(photos.values())).added
    job_id = bank_job(archive, masters, "late-cancel")
    real_install = training.install

    def cancelled_meanwhile(card, folder=None):
        installed = real_install(card, folder)
        assert (user_models / "late-cancel.safetensors").is_file()
        assert jobs.cancel(archive, job_id)  # the user's cancel, between the install and the done mark
        return installed

    monkeypatch.setattr(training, "install", cancelled_meanwhile)
    summary = jobs.run_jobs(archive, job_ids=[job_id], backend="inline")
    assert summary.cancelled == 1 and summary.done == 0
    assert jobs.get_job(archive, job_id)["status"] == "cancelled"
    assert "late-cancel" not in {c.name for c in list_models()} and not list(user_models.iterdir())
    assert not (run_dir(archive, job_id) / "model").exists()
    with pytest.raises(ArchiveError, match="nothing to publish"):
        publish(archive, job_id)
    monkeypatch.setattr(training, "install", real_install)

    job_id = bank_job(archive, masters, "taken-meanwhile")
    real_positions, mine = colour_bank.photo_positions, []

    def the_cli_meanwhile(*args, **kwargs):  # `daguerre train colour-bank` finishes while the job reads its photos
        if not mine:
            mine.append(None)
            mine[0] = api.train_colour_bank(photos["coffee.jpg"], "taken-meanwhile", per_photo=5, measure=0)
        return real_positions(*args, **kwargs)

    monkeypatch.setattr(colour_bank, "photo_positions", the_cli_meanwhile)
    summary = jobs.run_jobs(archive, job_ids=[job_id], backend="inline")
    monkeypatch.setattr(colour_bank, "photo_positions", real_positions)
    assert summary.failed == 1
    assert "'taken-meanwhile' is taken" in jobs.get_job(archive, job_id)["error"]
    kept = {c.name: c for c in list_models()}["taken-meanwhile"]
    assert kept.sha256 == mine[0].sha256 and "items" not in kept.training  # the CLI's bank, untouched
    assert not (run_dir(archive, job_id) / "model").exists()

    job_id = bank_job(archive, masters, "installed-once")
    assert jobs.run_jobs(archive, job_ids=[job_id], backend="inline").done == 1
    folder = run_dir(archive, job_id) / "model"
    assert (folder / "installed-once.json").is_file() and not (folder / "installed-once.safetensors").exists()
    assert (user_models / "installed-once.safetensors").is_file()


def test_a_model_is_published_only_from_a_training_job_that_is_done(user_models, archive, photos, monkeypatch):
    """A style job cancelled after its model was written (while it was being measured) cannot be published."""
    from daguerre import jobs
    from daguerre.archive import ArchiveError
    from daguerre.jobs.training import publish, run_dir
    from daguerre.models.registry import list_models

    [painting] = archive.ingest([photos["coffee.jpg"]]).added
    [job_id] = jobs.submit(archive, [painting], "train-style", {"name": "half-done", "content": "search:coffee"},
                           user="ana")
    folder = run_dir(archive, job_id) / "model"  # what a worker had written when the cancel came
    folder.mkdir(parents=True)
    card = api.train_colour_bank(photos["coffee.jpg"], "half-done", per_photo=5, measure=0, out=folder)
    assert jobs.cancel(archive, job_id)
    with pytest.raises(ArchiveError, match="is cancelled: only a finished training's model is published"):
        publish(archive, job_id)
    assert card.name not in {c.name for c in list_models()}


def test_a_colour_bank_job_is_refused_when_queued_for_a_bad_name_a_taken_one_or_too_many_masters(
        user_models, archive, photos, monkeypatch):
    from daguerre import jobs
    from daguerre.archive import ArchiveError
    from daguerre.jobs import colour_bank

    masters = archive.ingest(list(photos.values())).added
    assert colour_bank.MAX_MASTERS >= 2_000  # a background job: far more than a request could wait for
    monkeypatch.setattr(colour_bank, "MAX_MASTERS", 3)
    for name, given, words in [("no spaces", masters[:1], "model name 'no spaces'"),
                               ("colour-bank", masters[:1], "'colour-bank' is already installed"),
                               ("many", masters, "4 are more than the 3 a colour bank job takes"),
                               ("none", [], "no master pictures"),
                               ("paths", ["/etc/passwd"], "'/etc/passwd' is not an item id")]:
        with pytest.raises(ArchiveError, match=words):
            bank_job(archive, given, name)
    assert jobs.list_jobs(archive) == []


def test_the_run_forms_model_list_is_read_again_when_a_bank_was_installed_while_it_was_read(monkeypatch):
    """The runner's thread forgets the list as a bank is installed; a read under way then is used, not kept."""
    from daguerre.models import registry
    from daguerre.web import forms

    real, reads = registry.list_models, []

    def installed_meanwhile(*args, **kwargs):
        reads.append(1)
        cards = real(*args, **kwargs)
        if len(reads) == 1:
            forms.forget_installed()  # the training lane, between this read and its return
        return cards

    monkeypatch.setattr(registry, "list_models", installed_meanwhile)
    forms.forget_installed()
    assert {c.name for c in forms._installed()} >= {"colour-bank"} and len(reads) == 1
    assert forms._installed() and len(reads) == 2  # read again: the first read may have missed the new bank
    assert forms._installed() and len(reads) == 2  # then kept
