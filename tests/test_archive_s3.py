"""The archive's store on S3 (a real S3 server, moto, on loopback): ingest, batch runs with worker processes,
fixity (and a damaged object found), BagIt export and import into a second S3 archive."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from daguerre import jobs
from daguerre.archive import Archive


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_server():
    """`moto_server` on 127.0.0.1 with the usual AWS variables pointing at it; stopped after the module."""
    server = Path(sys.executable).with_name("moto_server")
    if not server.exists() or shutil.which(str(server)) is None:
        pytest.skip("moto_server is not installed (pip install 'moto[server]' s3fs, the `batch` extra)")
    pytest.importorskip("s3fs")
    port = _free_port()
    proc = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(url, timeout=1)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.skip(f"moto_server cannot run here (exit code {proc.returncode})")
            time.sleep(0.2)
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL",
                                            "AWS_DEFAULT_REGION")}
    os.environ.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_ENDPOINT_URL=url,
                      AWS_DEFAULT_REGION="us-east-1")
    import s3fs

    s3fs.S3FileSystem(skip_instance_cache=True).mkdir("daguerre-test")
    yield url
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    proc.terminate()
    proc.wait(30)


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
    bag = a.export("bagit", tmp_path / "bag")
    b = Archive.init(tmp_path / "b", store_url="s3://daguerre-test/b")
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
