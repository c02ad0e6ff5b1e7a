"""The archive's Python API; every face (``daguerre archive ...``, the web app, batch runs) calls this.

    archive = Archive.init("my-archive")          # or Archive.open() with $DAGUERRE_ARCHIVE
    report = archive.ingest(["scans/"], sheet="scans.csv")
    [derivative] = archive.apply("stylize", [report.added[0]], {"method": "fast", "model": "..."}, seed=0)
    archive.verify(derivative.id); archive.rederive(derivative.id)
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from daguerre.archive import catalogue, events, keys, metadata, recovery
from daguerre.archive import video as clips
from daguerre.archive.catalogue import DUBLIN_CORE, MEDIA_TYPES, Event, Intent, Item
from daguerre.archive.errors import ApplyError, ArchiveError, crashpoint
from daguerre.archive.store import Store, process_tag
from daguerre.imaging import ImageError, load, scan
from daguerre.verbosity import one_line as failure

CONFIG = "archive.json"
HEX = re.compile(r"[0-9a-f]+")
ENV = "DAGUERRE_ARCHIVE"
FileProgress = Callable[[Path, int, int], None]

# parameters that name pictures (files, or archive items over the web and with -p)
PICTURE_PARAMS = ("style", "reference", "masks", "damage_mask")
# operations whose `reference` names a picture: a file or an archive item (colorize and repair: colour; restore: tone)
REFERENCE_OPERATIONS = ("colorize", "repair", "restore")


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)  # item ids
    duplicates: list[str] = field(default_factory=list)  # ids already in the archive
    updated: list[str] = field(default_factory=list)  # duplicates whose metadata the sheet changed
    failed: list[str] = field(default_factory=list)  # one-line messages
    unmatched: list[str] = field(default_factory=list)  # the sheet's rows that match no file, "name (line n)"


class Archive:
    """An archive folder: ``archive.json``, a catalogue (SQLite file or PostgreSQL URL), a store, ``keys/``."""

    def __init__(self, path: Path, config: dict) -> None:
        self.path = path
        self.config = config
        url = config["catalogue"].replace("sqlite:///./", f"sqlite:///{path.resolve()}/")
        store = config["store"]
        self.store = Store(store if "://" in store else str(path / store))
        self.keys = keys.Keys.load(path / "keys")
        self.engine = catalogue.connect(url)
        self.session = catalogue.sessions(self.engine)
        self.recovered: list[str] = recovery.recover(self)

    # ------------------------------------------------------------------------------------------ open

    @classmethod
    def init(cls, path: str | os.PathLike | None = None, catalogue_url: str | None = None,
             store_url: str | None = None) -> Archive:
        """Make a new archive folder (empty or absent) with its signing key and an empty catalogue."""
        path = Path(path or os.environ.get(ENV) or ".")
        if (path / CONFIG).exists():
            raise ArchiveError(f"{path}: already an archive")
        if path.exists() and not path.is_dir():
            raise ArchiveError(f"{path}: exists and is not a folder")
        path.mkdir(parents=True, exist_ok=True)
        config = {"format": 1, "id": str(uuid.uuid4()), "catalogue": catalogue_url or "sqlite:///./catalogue.sqlite",
                  "store": store_url or "store", "created": catalogue.now()}
        if not (path / "keys" / "signer.pem").exists():
            keys.create(path / "keys", config["id"][:8])
        try:
            archive = cls(path, config)
        except Exception as e:
            raise ArchiveError(f"{path}: cannot create the catalogue ({' '.join(str(e).split())[:300]})") from e
        tmp = path / f".{CONFIG}.tmp"
        tmp.write_text(json.dumps(config, indent=2) + "\n")
        tmp.replace(path / CONFIG)
        return archive

    @classmethod
    def open(cls, path: str | os.PathLike | None = None) -> Archive:
        """The archive at ``path``, else ``$DAGUERRE_ARCHIVE``, else the current folder."""
        path = Path(path or os.environ.get(ENV) or ".")
        try:
            config = json.loads((path / CONFIG).read_text())
        except FileNotFoundError:
            raise ArchiveError(f"{path}: not a daguerre archive (run `daguerre archive init {path}`)") from None
        except (OSError, ValueError) as e:
            raise ArchiveError(f"{path / CONFIG}: unreadable archive settings ({e})") from None
        return cls(path, config)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------------------------------- lookup

    def get(self, ref: str, session: Session | None = None) -> Item:
        """The item with this id, unique id prefix (4+ characters) or full SHA-256."""
        ref = ref.strip().lower()
        if len(ref) < 4:
            raise ArchiveError(f"{ref!r}: give at least 4 characters of an item id")
        if not HEX.fullmatch(ref):
            raise ArchiveError(f"{ref}: no such item in the archive (ids are hexadecimal)")
        if len(ref) == 64:
            q = select(Item).where(Item.sha256 == ref).limit(2)
        else:  # a prefix as a range, so that the id index serves it (LIKE would scan)
            q = select(Item).where(Item.id >= ref, Item.id < ref[:-1] + chr(ord(ref[-1]) + 1)).limit(2)
        if session is not None:
            found = session.scalars(q).all()
        else:
            with self.session() as s:
                found = s.scalars(q).all()
        if not found:
            raise ArchiveError(f"{ref}: no such item in the archive")
        if len(found) > 1:
            raise ArchiveError(f"{ref}: ambiguous, matches {found[0].id} and {found[1].id}")
        return found[0]

    def events_of(self, item_id: str) -> list[Event]:
        with self.session() as s:
            return list(s.scalars(select(Event).where(Event.object_id == item_id).order_by(Event.pk)))

    def children(self, item_id: str, include_withdrawn: bool = True) -> list[Item]:
        with self.session() as s:
            q = select(Item).where(Item.parent_id == item_id).order_by(Item.pk)
            if not include_withdrawn:
                q = q.where(Item.withdrawn.is_(False))
            return list(s.scalars(q))

    def items(self, include_withdrawn: bool = False, kind: str | None = None) -> list[Item]:
        with self.session() as s:
            q = select(Item).order_by(Item.pk)
            if not include_withdrawn:
                q = q.where(Item.withdrawn.is_(False))
            if kind:
                q = q.where(Item.kind == kind)
            return list(s.scalars(q))

    # ---------------------------------------------------------------------------------------- ingest

    def ingest(self, inputs: Iterable[str | os.PathLike], sheet: str | os.PathLike | None = None,
               on_file: FileProgress | None = None, fields: dict[str, str] | None = None,
               origin: str | None = None) -> IngestReport:
        """Add image and video files and folders (recursive) as masters; files already stored are skipped (resumable).

        ``fields``: Dublin Core values for every file (the sheet's, where it has some, win). ``origin``: where the
        files came from, recorded instead of their paths here (a web upload: not its temporary copy's path).
        """
        rows = metadata.read_sheet(Path(sheet)) if sheet else {}
        jobs: list[tuple[Path, Path | None]] = []
        report = IngestReport()
        for root in map(Path, inputs):  # one walk of each folder: what goes in, and what it cannot read
            try:
                files, unread = scan([root], clips=True)
            except ImageError as e:
                raise ArchiveError(str(e)) from None
            jobs += [(p, root if root.is_dir() else None) for p in files]
            report.failed += [message for _, message in unread]
        matched = {metadata.sheet_row(rows, path, root) for path, root in jobs}
        report.unmatched = [f"{name} (line {rows.lines[name]})" for name in rows if name not in matched]
        for i, (path, root) in enumerate(jobs):
            if on_file:
                on_file(path, i, len(jobs))
            row = metadata.sheet_row(rows, path, root)
            try:
                self._ingest_one(path, {**(fields or {}), **(rows[row] if row else {})}, report, origin)
            except (ImageError, ArchiveError) as e:
                report.failed.append(str(e))
            except OSError as e:
                report.failed.append(f"{path}: {e.strerror or e}")
            except Exception as e:  # a bug on one file: reported in one line, the others still go in
                report.failed.append(failure(path, e))
        return report

    def _ingest_one(self, path: Path, overrides: dict[str, str], report: IngestReport,
                    origin: str | None = None) -> None:
        from daguerre.models.card import sha256_of

        sha = sha256_of(path)
        with self.session() as s:
            existing = s.scalar(select(Item).where(Item.sha256 == sha))
        if existing:
            report.duplicates.append(existing.id)
            if self.update_metadata(existing.id, overrides, detail=f"metadata sheet for {path.name}"):
                report.updated.append(existing.id)
            return
        if clips.is_clip(path):  # a video: described by ffmpeg, stored as it came
            media_type, width, height, extra = clips.describe(path)
            fields = {"title": path.stem, "source": path.name, **overrides}
        else:
            picture = load(path)
            fields = metadata.dublin_core(path, picture.exif, picture.xmp)
            fields = {"title": path.stem, "source": path.name, **fields, **overrides}
            media_type = MEDIA_TYPES.get(picture.format or "", "application/octet-stream")
            alpha = picture.alpha is not None  # kept in the stored file, and counted as a channel as it is there
            (width, height), extra = picture.size, {"bit_depth": picture.bit_depth,
                                                    "channels": picture.channels + alpha, "alpha": alpha,
                                                    "icc_profile": picture.icc_profile is not None}
        item = Item(id=sha[:16], kind="master", sha256=sha, root_id=sha[:16], filename=path.name,
                    media_type=media_type, size=path.stat().st_size, width=width, height=height,
                    extra={"original_path": origin or str(path.resolve()), **extra},
                    created=catalogue.now(), withdrawn=False, **{k: fields.get(k) for k in DUBLIN_CORE})
        item.identifier = item.identifier or item.id
        item.search_text = item.text()
        event = events.make(self.keys, events.INGESTION, object_id=item.id, detail=f"ingested {origin or path}",
                            outcome_detail={"sha256": sha, "size": item.size,
                                            "original_path": item.extra["original_path"],
                                            "dublin_core": item.dublin_core()})
        if self.store_and_record(sha, lambda: self.store.put_file(path, expect=sha), [item, event]):
            report.added.append(item.id)
        else:
            report.duplicates.append(item.id)

    def store_and_record(self, sha: str, write: Callable[[], str], rows: list) -> bool:
        """Write an object and then its catalogue rows, so that no row ever points at a missing file.

        An intent row, committed first, marks the write as in progress; a process killed before the final
        commit leaves the intent behind and ``recovery.recover`` removes the unreferenced object. False
        when another process stored the same content first.
        """
        host, pid = process_tag().rsplit("-", 1)
        with self.session.begin() as s:
            intent = Intent(sha256=sha, host=host, pid=int(pid), created=catalogue.now())
            s.add(intent)
        crashpoint("archive:intent")
        done = False
        try:
            stored = write()
            if stored != sha:
                raise ArchiveError(f"stored object {stored} does not match the expected {sha}")
            with self.session.begin() as s:
                s.add_all(rows)
                s.flush()
                crashpoint("archive:before-commit")
                s.delete(s.get(Intent, intent.pk))
            done = True
            return True
        except IntegrityError:
            return False
        finally:
            if not done:
                with self.session.begin() as s:
                    if (left := s.get(Intent, intent.pk)) is not None:
                        s.delete(left)

    def update_metadata(self, ref: str, fields: dict[str, str], detail: str = "metadata changed") -> bool:
        """Change Dublin Core fields of an item, with a "metadata modification" event; False if nothing changed."""
        if not fields:
            return False
        unknown = set(fields) - set(DUBLIN_CORE)
        if unknown:
            raise ArchiveError(f"not Dublin Core field(s): {', '.join(sorted(unknown))}")
        with self.session.begin() as s:
            item = s.get(Item, self.get(ref, s).pk)
            before = {k: getattr(item, k) for k in fields if getattr(item, k) != fields[k]}
            if not before:
                return False
            for k in before:
                setattr(item, k, fields[k])
            item.search_text = item.text()
            s.add(events.make(self.keys, events.METADATA, object_id=item.id, detail=detail,
                              outcome_detail={"before": before, "after": {k: fields[k] for k in before}}))
        return True

    # -------------------------------------------------------------------------------------- withdraw

    def withdraw(self, ref: str, reason: str = "", force: bool = False) -> list[str]:
        """Hide an item (and what was derived from it) with a deaccession event; masters need ``force``."""
        with self.session.begin() as s:
            item = s.get(Item, self.get(ref, s).pk)
            if item.withdrawn:
                raise ArchiveError(f"{item.id}: already withdrawn")
            if item.kind == "master" and not force:
                raise ArchiveError(f"{item.id}: is a master; masters are kept unless you pass --force")
            hidden, todo = [], [item]
            while todo:
                it = todo.pop()
                if not it.withdrawn:
                    it.withdrawn = True
                    hidden.append(it.id)
                    s.add(events.make(self.keys, events.DEACCESSION, object_id=it.id,
                                      detail=reason or ("withdrawn" if it is item else f"parent {item.id} withdrawn"),
                                      outcome_detail={"forced": force and it.kind == "master", "sha256": it.sha256}))
                todo += s.scalars(select(Item).where(Item.parent_id == it.id)).all()
        return hidden

    # ------------------------------------------------------------------------ operations (derive.py)

    def apply(self, operation: str, refs: Iterable[str], params: dict | None = None, seed: int = 0,
              lpips: bool = False, progress: Callable[[int, int], None] | None = None) -> list[Item]:
        """Run an operation on items and store each result as a labelled derivative (see ``derive.apply``)."""
        from daguerre.archive import derive

        params = params or {}
        given = [v for k in PICTURE_PARAMS for v in (params[k] if isinstance(params.get(k), list) else [params.get(k)])]
        if any(isinstance(v, str) and Path(v).is_file() for v in given):  # a file given joins the archive: not
            try:  # for parameters refused anyway
                derive.checked_operation(operation, self.with_reference_files(operation, params, keep=False))
            except ArchiveError as e:
                raise ApplyError([], [str(e)]) from None
        params = self.with_reference_files(operation, params)
        made: list[Item] = []
        failed: list[str] = []
        for ref in refs:  # one item's failure does not stop the others
            try:
                made.append(derive.apply(self, operation, self.get(ref), params, seed, lpips, progress))
            except Exception as e:
                failed.append(str(e) if isinstance(e, ArchiveError | ImageError) else failure(Path(ref), e))
        if failed:
            raise ApplyError(made, failed)
        return made

    def with_reference_files(self, operation: str, params: dict, keep: bool = True) -> dict:
        """`params` with a `reference` (and restore's or repair's `damage_mask`, stylize's `style`) that names archive
        items or files given as their stored files (`reference_file`: a file from outside joins the archive, unless
        not `keep`: a batch over a search, which it would then join)."""
        params = dict(params)
        if operation in REFERENCE_OPERATIONS and params.get("reference"):
            given = params["reference"]
            files = [self.reference_file(str(r), keep) for r in (given if isinstance(given, list) else [given])]
            params["reference"] = files if isinstance(given, list) or operation != "restore" else files[0]
        if operation in ("restore", "repair") and params.get("damage_mask"):
            params["damage_mask"] = self.reference_file(str(params["damage_mask"]), keep)
        if operation == "stylize" and (given := params.get("style")):  # a painting: an item, or a file kept as one
            files = [self.reference_file(str(r), keep) for r in (given if isinstance(given, list) else [given])]
            params["style"] = files if isinstance(given, list) else files[0]
        return params

    def reference_file(self, ref: str, keep: bool = True) -> str:
        """The stored file of a picture an operation reads (a colour or tone reference, a damage mask): an item, or
        a file from outside, which joins the archive as a master first, so the derivative re-derives from the
        archive alone (it was recorded by its path only, and could not once the file moved)."""
        if not Path(ref).is_file():
            path = self.store.local_path(self.get(ref).sha256)
            if path is None:
                raise ArchiveError(f"reference {ref}: this store is not a local folder; give the reference as a file")
            return str(path)
        if not keep:
            return ref
        kept = self.ingest([ref])  # (no fields: one already stored keeps its own)
        if kept.failed:
            raise ArchiveError(kept.failed[0])
        path = self.store.local_path(self.get((kept.added or kept.duplicates)[0]).sha256)
        return str(path or ref)  # a remote store keeps its copy for bags; the operation reads the file given

    def rederive(self, ref: str, tolerance: float = 1 / 255):
        from daguerre.archive import derive

        return derive.rederive(self, self.get(ref), tolerance)

    def verify(self, ref: str):
        from daguerre.archive import verify

        return verify.verify(self, self.get(ref))

    def fixity(self, on_file: FileProgress | None = None):
        from daguerre.archive import verify

        return verify.fixity(self, on_file)

    def search(self, query: str = "", **filters: object) -> list[Item]:
        from daguerre.archive import search

        with self.session() as s:
            return search.search(s, query, **filters)

    def show(self, ref: str) -> dict:
        """The item's record, events and the tree of everything derived from it."""
        item = self.get(ref)

        def node(it: Item) -> dict:
            return {"item": it.record(), "events": [e.record() for e in self.events_of(it.id)],
                    "derivatives": [node(c) for c in self.children(it.id)]}

        return node(item)

    def export(self, format: str, out: str | os.PathLike, base_url: str = "http://localhost:8000",
               include_withdrawn: bool = False, where: tuple[str, dict] | None = None) -> Path:
        """IIIF, BagIt, CSV or JSON into ``out``; ``where`` (words, filters as `search` takes them): a selection."""
        from daguerre.archive import export

        return export.export(self, format, Path(out), base_url=base_url, include_withdrawn=include_withdrawn,
                             where=where)

    def import_bag(self, bag: str | os.PathLike, trust_signer: bool = False):
        """Check a bag whole (signatures, C2PA labels, hashes, fields), then add its new items (``BagImport``).

        Its signer is trusted only with ``trust_signer``; a bag that fails any check raises ``BagRefused``.
        """
        from daguerre.archive import bag_import

        return bag_import.import_bag(self, Path(bag), trust_signer)

    # ----------------------------------------------------------------------------------------- trust

    def trusted_signers(self) -> list[keys.Chain]:
        """This archive's own signer chain first, then those of the archives it trusts."""
        return self.keys.trusted_chains()

    def untrusted_signers(self) -> list[keys.Chain]:
        """Chains that came in imported bags without being trusted."""
        return self.keys.foreign_chains()

    def trust(self, chain: keys.Chain) -> bool:
        """Trust another archive's signatures and C2PA labels (``keys.read_chain`` reads one); False if already."""
        return self.keys.trust(chain)

    def distrust(self, fingerprint: str) -> keys.Chain:
        """Stop trusting an archive (fingerprint or a unique 8+ character prefix); its own key cannot be."""
        return self.keys.distrust(fingerprint)
