"""``daguerre archive ...`` end to end: every command, exit codes, one-line errors, crash clean-up notice."""

from __future__ import annotations

import json
import os
from pathlib import Path

from typer.testing import CliRunner

from daguerre.archive.cli import archive_app

runner = CliRunner()


def run(*args: str, code: int = 0, env: dict | None = None):
    result = runner.invoke(archive_app, [str(a) for a in args], env=env)
    assert result.exit_code == code, (result.output, result.exception)
    return result


def test_archive_commands_end_to_end(tmp_path: Path, photos: dict[str, Path], catalogue_url: str | None) -> None:
    path = tmp_path / "archive"
    created = run("init", path, *(["--catalog", catalogue_url] if catalogue_url else []))
    assert "created archive" in created.output
    env = {"DAGUERRE_ARCHIVE": str(path)}
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("filename,title\nchelsea.png,Chelsea the cat\n")
    (photos["astronaut.jpg"].parent / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    ingest = run("ingest", photos["astronaut.jpg"].parent, "--metadata", sheet, code=1, env=env)
    assert "added 4" in ingest.output and "failed 1" in ingest.output and "broken.png:" in ingest.output
    listing = run("list", env=env).output.splitlines()
    assert len(listing) == 4 and all(len(line.split()[0]) == 16 for line in listing)
    cat = next(line.split()[0] for line in listing if "Chelsea the cat" in line)

    applied = run("apply", "test-tint", cat[:6], "--param", "amount=0.25", "-p", "noise=0.1", "--seed", "5", env=env)
    derivative = applied.output.split()[0]
    assert f"of {cat}" in applied.output
    shown = run("show", cat, env=env).output
    assert f"derivative {derivative}\n" in shown and '"seed": 5' in shown and "ingestion" in shown
    tree = json.loads(run("show", cat, "--json", env=env).output)
    assert tree["derivatives"][0]["item"]["id"] == derivative
    assert run("search", "cat", "--operation", "test-tint", env=env).output.split()[0] == derivative
    # key:value words are filters, as in `batch --where` (as words they matched nothing); a misspelt one is refused
    assert run("search", "cat operation:test-tint", env=env).output.split()[0] == derivative
    assert run("search", "cat kind:master", env=env).output.split()[0] == cat
    assert "opration: is not a filter" in run("search", "cat opration:test-tint", env=env, code=1).output
    run("search", "--date-from", "1900-05", "--date-to", "2030-12-31", env=env)  # the three forms are taken
    for bad in ("yesterday", "1900-13", "19000"):  # they matched nothing, silently
        refused = run("search", "--date-from", bad, env=env, code=1).output
        assert refused.count("\n") == 1 and f"date_from {bad!r}: give a year" in refused
    assert "ok" in run("verify", derivative, env=env).output
    assert "byte-identical" in run("rederive", derivative, env=env).output
    assert "checked 5: 0 changed, 0 missing" in run("fixity", env=env).output
    for fmt in ("iiif", "bagit", "csv", "json"):
        assert "wrote" in run("export", "-f", fmt, "-o", tmp_path / fmt, env=env).output

    refused = run("withdraw", cat, env=env, code=1)
    assert refused.output.count("\n") == 1 and "--force" in refused.output
    assert f"withdrew {derivative}" in run("withdraw", derivative, "--reason", "test", env=env).output
    assert derivative not in run("list", env=env).output and derivative in run("list", "--all", env=env).output

    missing = run("apply", "test-tint", "0000000", env=env, code=1)
    assert missing.output.strip() == "error: 0000000: no such item in the archive"
    assert "not a daguerre archive" in run("list", "-A", tmp_path, code=1).output
    assert "use key=value" in run("apply", "test-tint", cat, "-p", "amount", env=env, code=2).output

    store_tmp = path / "store" / "tmp" / f"{os.uname().nodename}-999999-abc"
    store_tmp.write_bytes(b"partial")  # as a process killed mid-write would leave it
    assert "cleaned: removed a partial file" in run("list", env=env).output

    restored = tmp_path / "restored"
    run("init", restored)
    assert "imported 5 items" in run("import-bag", tmp_path / "bagit", "-A", restored).output
    assert "checked 5" in run("fixity", "-A", restored).output


def test_init_refuses_a_memory_store(tmp_path: Path) -> None:
    """`init --store memory://x` made an archive whose every file was gone once `init` ended: `ingest` then
    stored into a store no later command saw, and `fixity` reported every item missing."""
    refused = run("init", tmp_path / "a", "--store", "memory://x", code=1)
    assert "memory://x: a memory store is gone when this command ends" in refused.output
    assert not (tmp_path / "a").exists()


def test_init_takes_the_archive_option_the_other_commands_take(tmp_path: Path) -> None:
    """`archive init -A my-archive`, as every other archive command is written, was "No such option: -A"."""
    made = run("init", "-A", tmp_path / "a")
    assert f"created archive {tmp_path / 'a'}" in made.output and (tmp_path / "a" / "catalogue.sqlite").exists()
    run("list", "-A", tmp_path / "a")  # an archive the other commands open
    refused = run("init", tmp_path / "b", "--archive", tmp_path / "c", code=1)
    assert "two folders given" in refused.output and not (tmp_path / "b").exists() and not (tmp_path / "c").exists()


def test_a_clip_option_given_for_pictures_is_named_as_not_used(tmp_path: Path, photos: dict[str, Path]) -> None:
    """`consistency` and `steady_*` are a clip's frame-loop options: a picture's recipe leaves them out, which
    `apply` and `batch` did without a word, so a user asking for them on pictures believed they were used."""
    from daguerre.cli import app

    path = tmp_path / "archive"
    run("init", path)
    env = {"DAGUERRE_ARCHIVE": str(path)}
    run("ingest", photos["chelsea.png"], env=env)
    cat = run("list", env=env).output.split()[0]

    applied = run("apply", "test-tint", cat, "-p", "consistency=0.3", "-p", "amount=0.2", env=env)
    assert "note: consistency only applies to clips; pictures are derived without it" in applied.output
    derivative = applied.output.split()[0]
    shown = run("show", derivative, "--json", env=env).output  # with its recipe
    assert "consistency" not in shown and '"amount": 0.2' in shown
    assert "note:" not in run("apply", "test-tint", cat, "-p", "amount=0.1", env=env).output

    batch = runner.invoke(app, ["archive", "batch", "test-tint", "-p", "steady_local=true", "--workers", "0"],
                          env=env)
    assert batch.exit_code == 0, batch.output
    assert "note: steady_local only applies to clips; any pictures in this run are derived without it" in batch.output
    assert "1 done, 0 failed" in batch.output


def test_sheet_rows_that_match_no_ingested_file_are_named_in_one_warning(tmp_path: Path,
                                                                        photos: dict[str, Path]) -> None:
    """Rows of an `ingest --metadata` sheet that matched no file (a typo, another case) were dropped without a word
    and their titles lost; one warning names the sheet and each row with its line, and the ingest still succeeds.
    A row matched by path under the folder (sub/camera.png) or by name counts as matched."""
    path = tmp_path / "archive"
    run("init", path)
    env = {"DAGUERRE_ARCHIVE": str(path)}
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("filename,title\nzzz.jpg,Nope\nchelsea.png,A cat\nsub/camera.png,A camera\n"
                     "coffee.JPG,Coffee cup\n")
    ingest = run("ingest", photos["astronaut.jpg"].parent, "--metadata", sheet, env=env)
    assert f"warning: {sheet}: 2 rows match no ingested file: zzz.jpg (line 2), coffee.JPG (line 5)" in ingest.output
    assert "added 4" in ingest.output
    listing = run("list", env=env).output
    assert "A cat" in listing and "A camera" in listing and "A mug" not in listing
    sheet.write_text("filename,title\nchelsea.png,The cat\n")
    assert "warning" not in run("ingest", photos["chelsea.png"], "--metadata", sheet, env=env).output


def test_a_corrupt_catalogue_and_a_relative_base_url_are_one_line_errors(tmp_path: Path,
                                                                         photos: dict[str, Path]) -> None:
    """A truncated catalogue.sqlite gave SQLAlchemy's two lines without the file's name, and `export --base-url
    example.org/iiif` a four-line pydantic ValidationError after the export had begun."""
    path = tmp_path / "archive"
    run("init", path)
    env = {"DAGUERRE_ARCHIVE": str(path)}
    run("ingest", photos["chelsea.png"], env=env)
    bad = run("export", "-f", "iiif", "-o", tmp_path / "site", "--base-url", "example.org/iiif", code=1, env=env)
    assert bad.output.strip() == "error: --base-url: 'example.org/iiif' is not an absolute http(s) URL"
    assert not (tmp_path / "site").exists()
    run("export", "-f", "iiif", "-o", tmp_path / "site", "--base-url", "https://example.org/iiif", env=env)
    catalogue = path / "catalogue.sqlite"
    whole = catalogue.read_bytes()
    for damaged, said in ((whole[:4096], "database disk image is malformed"), (b"x" * 4096, "file is not a database")):
        catalogue.write_bytes(damaged)
        for extra in path.glob("catalogue.sqlite-*"):
            extra.unlink()
        listed = run("list", code=1, env=env)
        assert listed.output.strip() == f"error: {catalogue.resolve()}: the catalogue is corrupt ({said})"


def test_an_operation_that_fails_on_an_item_is_one_line_naming_it_once(tmp_path: Path, photos: dict[str, Path]) -> None:
    """Pictures said `test-tint failed on ID: ...`, clips `film failed on item ID: ...`, and a batch run printed
    `failed: ID: test-tint failed on ID: ...`. Every derivation error now starts with the item's id, once."""
    from daguerre.cli import app

    path = tmp_path / "archive"
    run("init", path)
    env = {"DAGUERRE_ARCHIVE": str(path)}
    run("ingest", photos["chelsea.png"], env=env)
    cat = run("list", env=env).output.split()[0]
    problem = "test-tint failed: amount must be in [0, 1], got 2"
    applied = run("apply", "test-tint", cat, "-p", "amount=2", env=env, code=1)
    assert applied.output.strip() == f"error: {cat}: {problem}"
    batch = runner.invoke(app, ["archive", "batch", "test-tint", "-p", "amount=2", "--workers", "0"], env=env)
    assert batch.exit_code == 1 and f"failed: {cat}: {problem}\n" in batch.output, batch.output
    assert batch.output.count(cat) == 1


def test_colorizing_a_colour_master_is_noted_and_recorded_with_its_event(tmp_path: Path,
                                                                          photos: dict[str, Path]) -> None:
    """A colour master given to colorize keeps its colours nowhere in the derivative: the archivist is told, and the
    derivative's creation event says so for whoever finds it later; a grey master is colorized without a word."""
    path = tmp_path / "archive"
    run("init", path)
    env = {"DAGUERRE_ARCHIVE": str(path), "DAGUERRE_MODELS": ""}  # the shipped colorize model
    run("ingest", photos["chelsea.png"], photos["sub/camera.png"], env=env)
    ids = {line.split()[3]: line.split()[0] for line in run("list", env=env).output.splitlines()}
    cat, camera = ids["chelsea.png"], ids["camera.png"]

    applied = run("apply", "colorize", cat, camera, env=env).output
    assert f"note: {cat}: already in colour: colorize replaces its colours" in applied
    assert f"note: {camera}" not in applied
    made = {line.split()[3]: line.split()[0] for line in applied.splitlines() if " colorize of " in line}
    events = [e for e in json.loads(run("show", made[cat], "--json", env=env).output)["events"]
              if e["type"] == "creation"]
    assert events[0]["outcome_detail"]["notes"] == [
        "already in colour: colorize replaces its colours with new ones made from its grey levels"]
    grey_events = json.loads(run("show", made[camera], "--json", env=env).output)["events"]
    assert all("notes" not in e["outcome_detail"] for e in grey_events)
