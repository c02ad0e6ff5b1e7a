"""The command line answers at once: help and `models` import no heavy library; every help shows an example."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")
HEAVY = ("torch", "onnxruntime", "numpy", "PIL", "sqlalchemy", "cv2", "fastapi", "daguerre.api",
         "daguerre.ops", "daguerre.imaging.io", "daguerre.archive.api")

# Runs in a fresh interpreter: invoke the CLI in-process on each argv, then report what got imported.
PROBE = """
import json, sys
from typer.testing import CliRunner
from daguerre.cli import app
runner = CliRunner()
outputs = {}
for argv in json.loads(sys.argv[1]):
    result = runner.invoke(app, argv)
    outputs[" ".join(argv)] = [result.exit_code, result.output]
heavy = [m for m in json.loads(sys.argv[2]) if m in sys.modules]
print(json.dumps({"heavy": heavy, "outputs": outputs}))
"""


def probe(*argvs: list[str]) -> dict:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), "COLUMNS": "80"}
    out = subprocess.run([sys.executable, "-c", PROBE, json.dumps(list(argvs)), json.dumps(HEAVY)],
                         capture_output=True, text=True, env=env, check=True).stdout
    return json.loads(out)


def all_commands() -> list[list[str]]:
    """Every command path of the CLI, e.g. ['stylize'], ['archive', 'ingest'], ['models', 'show']."""
    from typer.main import get_command

    from daguerre.cli import app

    paths: list[list[str]] = []

    def walk(cmd: object, path: list[str]) -> None:
        if hasattr(cmd, "commands"):  # a group
            if path:
                paths.append(path)
            for name, sub in cmd.commands.items():
                walk(sub, [*path, name])
        else:
            paths.append(path)

    walk(get_command(app), [])
    return paths


def test_importing_the_cli_loads_no_heavy_library() -> None:
    assert probe()["heavy"] == []


def test_help_of_every_command_loads_no_heavy_library_and_shows_an_example() -> None:
    commands = all_commands()
    assert ["stylize"] in commands and ["models", "show"] in commands and ["archive", "ingest"] in commands
    result = probe(["--help"], *[[*c, "--help"] for c in commands])
    assert result["heavy"] == []
    for argv, (code, output) in result["outputs"].items():
        assert code == 0, (argv, output)
        if argv != "--help":
            assert "Example: daguerre " in output, f"`daguerre {argv}` shows no example"


def test_models_lists_one_line_per_model_in_80_columns_without_torch() -> None:
    result = probe(["models"], ["models", "--task", "restore"], ["models", "--json"], ["models", "show", "upscale-x4"])
    assert result["heavy"] == []
    code, listing = result["outputs"]["models"]
    cards = json.loads(result["outputs"]["models --json"][1])
    assert code == 0
    lines = [line for line in listing.splitlines() if line and not line.startswith("daguerre models show")]
    assert len(lines) == len(cards) + 1  # a header, then one line per model
    assert all(len(line) <= 80 for line in lines)
    for card in cards:
        line = next(line for line in lines if line.split()[0] == card["name"])
        assert line.split()[1] == card["task"] and card["headline"] in line
    restore = next(c for c in cards if c["name"] == "restore-photos")
    metrics = json.loads((Path(SRC) / "daguerre" / "models" / "weights" / "restore-photos.json").read_text())["metrics"]
    degraded, ours = metrics["heldout_aging_degraded_lpips"], metrics["heldout_aging_ours_lpips"]
    assert restore["headline"].startswith(f"LPIPS {degraded:.3f} -> {ours:.3f}")  # degraded -> ours, from the card
    only_restore = result["outputs"]["models --task restore"][1].splitlines()
    assert [line.split()[1] for line in only_restore[1:] if line and "models show" not in line] == ["restore"]
    code, shown = result["outputs"]["models show upscale-x4"]
    assert code == 0
    assert "recipes/upscale.toml" in shown and "3900 steps" in shown and "Apache-2.0" in shown
    assert "ms_per_output_mp_2threads" in shown and "milliseconds per output megapixel" in shown
    assert "Real-ESRGAN x4plus" in shown  # each metric says what it means


def test_models_show_names_the_painting_and_refuses_unknown_names() -> None:
    result = probe(["models", "show", "van-gogh-wheat-field"], ["models", "show", "no-such-model"])
    code, shown = result["outputs"]["models show van-gogh-wheat-field"]
    assert code == 0 and "Vincent van Gogh, Wheat Field with Cypresses, 1889" in shown
    assert "CC0" in shown and "style distance" in shown
    code, refused = result["outputs"]["models show no-such-model"]
    assert code == 1 and len(refused.strip().splitlines()) == 1 and "no-such-model" in refused


@pytest.mark.parametrize("shell", ["bash"])
def test_shell_completion_is_offered(shell: str) -> None:
    result = probe(["--help"])
    assert "--install-completion" in result["outputs"]["--help"][1]
    assert "--verbose" in result["outputs"]["--help"][1]


def test_models_show_lists_what_the_card_sets_after_training() -> None:
    """A card's settings (the network's shape, and the gates and rules set on it after training) are shown, lists
    bracketed, as the card holds them."""
    from daguerre.models.card import ModelCard
    from daguerre.models.summary import describe

    card = ModelCard.load(Path(SRC) / "daguerre" / "models" / "weights" / "restore-photos.json")
    text = " ".join(line.strip() for line in describe(card))
    assert "settings" in text and f"widths=[{', '.join(str(w) for w in card.config['widths'])}]" in text
    for key in ("mask_rule", "denoise", "descreen"):
        assert f"{key}={card.config[key]:.4g}" in text, key
    assert f"keep=[{', '.join(f'{k:.4g}' for k in card.config['keep'])}]" in text


def test_every_shipped_cards_figures_are_explained_in_words() -> None:
    """`daguerre models show` explains each numeric metric of each shipped card in words (no key left raw, such
    as `damage_ours` or `magenta_style_distance`), and each task that measures itself has a headline."""
    from daguerre.models.card import ModelCard
    from daguerre.models.summary import headline, meaning

    for path in sorted((Path(SRC) / "daguerre" / "models" / "weights").glob("*.json")):
        card = ModelCard.load(path)
        for key, value in card.metrics.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                text = meaning(key)
                assert text and not any("_" in word for word in text.replace(";", " ").split()), (card.name, key)
        if card.metrics:
            assert headline(card), card.name
