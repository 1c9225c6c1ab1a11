"""Holdouts by https URL: verified against the pinned SHA-256, size-capped, cached — served
by a real TLS server on loopback with a certificate made for the test."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from mlgate.gates.holdout.download import fetch
from mlgate.gates.errors import DataError
from https_loopback import make_certificate, start
from workspaces import CANCER_POLICY


@pytest.fixture
def https_server(tmp_path, monkeypatch):
    cert_path, key_path = make_certificate(tmp_path)
    server = start(cert_path, key_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert_path))
    yield server
    server.stop()


def test_url_holdout_is_verified_cached_and_evaluated(cancer_workspace, https_server, run_cli, tmp_path):
    base, files, hits = https_server.url, https_server.files, https_server.hits
    data = (cancer_workspace.root / "data" / "holdout.csv").read_bytes()
    files["/holdout.csv"] = data
    digest = hashlib.sha256(data).hexdigest()
    cancer_workspace.policy(CANCER_POLICY.replace("holdout: data/holdout.csv",
                                                  f"holdout: {base}/holdout.csv\n  sha256: {digest}"))
    for _ in range(2):
        r = run_cli("evaluate", "--workspace", cancer_workspace.root, "--out", tmp_path / "o", "--quiet")
        assert r.code == 0, r.err
    assert [path for path, _ in hits] == ["/holdout.csv"], "the second run uses the verified cache"
    assert (cancer_workspace.root / ".mlgate-cache" / f"{digest}.csv").is_file()


def test_url_holdout_with_another_hash_is_refused(cancer_workspace, https_server, run_cli, tmp_path):
    base, files = https_server.url, https_server.files
    files["/holdout.csv"] = (cancer_workspace.root / "data" / "holdout.csv").read_bytes() + b"1,2\n"
    pinned = "ab" * 32
    cancer_workspace.policy(CANCER_POLICY.replace("holdout: data/holdout.csv",
                                                  f"holdout: {base}/holdout.csv\n  sha256: {pinned}"))
    r = run_cli("evaluate", "--workspace", cancer_workspace.root, "--out", tmp_path / "o", "--quiet")
    assert r.code == 2 and f"the policy pins {pinned} (data.sha256)" in r.err
    assert not list((cancer_workspace.root / ".mlgate-cache").glob("*.csv"))


def test_url_download_is_size_capped(https_server, tmp_path):
    base, files = https_server.url, https_server.files
    files["/big.csv"] = b"x" * 5000
    with pytest.raises(DataError, match="larger than 1000 bytes"):
        fetch(f"{base}/big.csv", hashlib.sha256(files["/big.csv"]).hexdigest(), tmp_path, max_bytes=1000)
    assert not [p for p in Path(tmp_path).iterdir() if p.suffix != ".pem"]


def test_plain_http_and_missing_pin_are_config_errors(cancer_workspace, run_cli, tmp_path):
    cancer_workspace.policy(CANCER_POLICY.replace("holdout: data/holdout.csv", "holdout: https://example.invalid/h.csv"))
    r = run_cli("evaluate", "--workspace", cancer_workspace.root, "--quiet")
    assert r.code == 2 and "data.sha256: expected a SHA-256 pin when data.holdout is a URL" in r.err
    cancer_workspace.policy(CANCER_POLICY.replace("holdout: data/holdout.csv",
                                                  f"holdout: http://example.invalid/h.csv\n  sha256: {'a' * 64}"))
    r = run_cli("evaluate", "--workspace", cancer_workspace.root, "--quiet")
    assert r.code == 2 and "data.holdout: expected a workspace path or an https URL" in r.err
