"""Content-addressed store over fsspec: every file lives read-only at ``objects/<aa>/<sha256>``.

A write goes to ``tmp/<host>-<pid>-<random>`` first and is renamed into place only when complete, so
a reader never sees a partial object. A local folder is the default; any fsspec URL (s3://, ...) works.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import fsspec

from daguerre.archive.errors import ArchiveError, crashpoint

CHUNK = 1 << 20
STORE_FILE = re.compile(r"[^\s'\"]*objects/[0-9a-f]{2}/([0-9a-f]{64})")  # a stored file's path (item id: 16 hex)


def stored_item(value: object) -> str | None:
    """The item id of a stored file's path (a recipe's reference or style given as an item), else None."""
    found = STORE_FILE.fullmatch(value) if isinstance(value, str) else None
    return found.group(1)[:16] if found else None


def process_tag() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Store:
    """Files by SHA-256 under ``url``; ``put_*`` return the hash and never overwrite an existing object."""

    def __init__(self, url: str) -> None:
        self.url = url
        remote = "://" in url and not url.startswith("file://")
        # no listings cache for object stores: other processes (batch workers) add objects behind our back
        self.fs, root = fsspec.core.url_to_fs(url, **({"use_listings_cache": False} if remote else {}))
        self.root = root.rstrip("/")
        protocols = self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        self.local = "file" in protocols
        self.in_process = "memory" in protocols  # memory://: seen by this process only, gone when it ends
        self.fs.makedirs(f"{self.root}/objects", exist_ok=True)
        self.fs.makedirs(f"{self.root}/tmp", exist_ok=True)

    def key(self, sha256: str) -> str:
        return f"{self.root}/objects/{sha256[:2]}/{sha256}"

    def exists(self, sha256: str) -> bool:
        return self.fs.exists(self.key(sha256))

    def local_path(self, sha256: str) -> Path | None:
        """The object's path on this machine, or None for a remote store."""
        return Path(self.key(sha256)) if self.local else None

    def read(self, sha256: str) -> bytes:
        try:
            return self.fs.cat_file(self.key(sha256))
        except FileNotFoundError:
            raise ArchiveError(f"object {sha256} is missing from the store {self.url}") from None

    @contextmanager
    def as_file(self, sha256: str, suffix: str = "") -> Iterator[Path]:
        """A local path holding the object (the object itself for a local store, else a temporary copy)."""
        if self.local:
            path = self.local_path(sha256)
            if not path.exists():
                raise ArchiveError(f"object {sha256} is missing from the store {self.url}")
            yield path
            return
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{sha256}{suffix}"
            self.copy_to(sha256, path)
            yield path

    def copy_to(self, sha256: str, path: Path) -> None:
        """Stream the object into a local file, a block at a time."""
        try:
            with self.fs.open(self.key(sha256), "rb") as src, open(path, "wb") as out:
                shutil.copyfileobj(src, out, CHUNK)
        except FileNotFoundError:
            raise ArchiveError(f"object {sha256} is missing from the store {self.url}") from None

    def hash(self, sha256: str) -> str | None:
        """The SHA-256 of the stored object as it is now, or None if it is missing."""
        h = hashlib.sha256()
        try:
            with self.fs.open(self.key(sha256), "rb") as f:
                for block in iter(lambda: f.read(CHUNK), b""):
                    h.update(block)
        except FileNotFoundError:
            return None
        return h.hexdigest()

    def put_file(self, path: Path, expect: str | None = None) -> str:
        """Copy ``path`` in (hashing on the way); ``expect`` guards against the file changing since it was hashed."""
        with open(path, "rb") as f:
            return self._put(iter(lambda: f.read(CHUNK), b""), expect, str(path))

    def put_bytes(self, data: bytes) -> str:
        return self._put(iter([data]), None, "data")

    def _put(self, blocks, expect: str | None, what: str) -> str:
        tmp = f"{self.root}/tmp/{process_tag()}-{secrets.token_hex(6)}"
        h = hashlib.sha256()
        try:
            with self.fs.open(tmp, "wb") as out:
                for block in blocks:
                    h.update(block)
                    out.write(block)
                if self.local:
                    out.flush()
                    os.fsync(out.fileno())
            sha = h.hexdigest()
            if expect and sha != expect:
                raise ArchiveError(f"{what}: the file changed while it was being stored; nothing was stored")
            crashpoint("store:tmp-written")
            if self.exists(sha):
                self.fs.rm_file(tmp)
                return sha
            self.fs.makedirs(f"{self.root}/objects/{sha[:2]}", exist_ok=True)
            if self.local:
                os.chmod(tmp, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
                os.replace(tmp, self.key(sha))
            else:
                self.fs.mv(tmp, self.key(sha))
            crashpoint("store:renamed")
            return sha
        except BaseException:
            if self.fs.exists(tmp):
                self.fs.rm_file(tmp)
            raise

    def note_key(self, name: str) -> str:
        return f"{self.root}/notes/{name}.json"

    def write_note(self, name: str, value: dict) -> None:
        """A small JSON file beside the objects (a batch job's result, written by the worker that made it)."""
        key = self.note_key(name)
        self.fs.makedirs(key.rsplit("/", 1)[0], exist_ok=True)
        with self.fs.open(key, "w") as f:
            json.dump(value, f)

    def read_note(self, name: str) -> dict | None:
        try:
            with self.fs.open(self.note_key(name), "r") as f:
                return json.load(f)
        except (FileNotFoundError, ValueError):
            return None

    def remove_note(self, name: str) -> None:
        try:
            self.fs.rm_file(self.note_key(name))
        except FileNotFoundError:
            pass

    def notes(self, folder: str) -> list[str]:
        """The names of the notes in ``folder`` (as given to `write_note`)."""
        try:
            paths = self.fs.ls(f"{self.root}/notes/{folder}", detail=False)
        except FileNotFoundError:
            return []
        return [f"{folder}/{p.rsplit('/', 1)[-1].removesuffix('.json')}" for p in paths if p.endswith(".json")]

    def remove(self, sha256: str) -> bool:
        """Delete an object (orphan cleanup and forced purges only); True if it was there."""
        key = self.key(sha256)
        if not self.fs.exists(key):
            return False
        if self.local:
            os.chmod(key, stat.S_IRUSR | stat.S_IWUSR)
        self.fs.rm_file(key)
        return True

    def objects(self) -> Iterator[str]:
        """Every stored hash."""
        for path in self.fs.find(f"{self.root}/objects"):
            name = path.rsplit("/", 1)[-1]
            if len(name) == 64:
                yield name

    def clean_tmp(self) -> list[str]:
        """Remove temporary files left by dead processes of this host; returns their names."""
        removed = []
        host = socket.gethostname()
        try:
            paths = self.fs.ls(f"{self.root}/tmp", detail=False)
        except FileNotFoundError:  # object stores have no empty folders
            return removed
        for path in paths:
            name = path.rsplit("/", 1)[-1]
            owner, _, rest = name.rpartition("-")
            h, _, pid = owner.rpartition("-")
            if h == host and pid.isdigit() and not pid_alive(int(pid)):
                self.fs.rm_file(path)
                removed.append(name)
        return removed
