"""Holdouts by https URL: verified against the pinned SHA-256, size-capped, cached — served
by a real TLS server on loopback with a certificate made for the test."""

from __future__ import annotations

import datetime
import hashlib
import http.server
import ssl
import threading
from pathlib import Path

import pytest

from gates.download import fetch
from gates.errors import DataError
from workspaces import CANCER_POLICY


@pytest.fixture
def https_server(tmp_path, monkeypatch):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    files: dict[str, bytes] = {}
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            body = files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert_path))
    yield f"https://localhost:{server.server_address[1]}", files, hits
    server.shutdown()


def test_url_holdout_is_verified_cached_and_evaluated(cancer_workspace, https_server, run_cli, tmp_path):
    base, files, hits = https_server
    data = (cancer_workspace.root / "data" / "holdout.csv").read_bytes()
    files["/holdout.csv"] = data
    digest = hashlib.sha256(data).hexdigest()
    cancer_workspace.policy(CANCER_POLICY.replace("holdout: data/holdout.csv",
                                                  f"holdout: {base}/holdout.csv\n  sha256: {digest}"))
    for _ in range(2):
        r = run_cli("evaluate", "--workspace", cancer_workspace.root, "--out", tmp_path / "o", "--quiet")
        assert r.code == 0, r.err
    assert hits == ["/holdout.csv"], "the second run uses the verified cache"
    assert (cancer_workspace.root / ".mlgate-cache" / f"{digest}.csv").is_file()


def test_url_holdout_with_another_hash_is_refused(cancer_workspace, https_server, run_cli, tmp_path):
    base, files, _ = https_server
    files["/holdout.csv"] = (cancer_workspace.root / "data" / "holdout.csv").read_bytes() + b"1,2\n"
    pinned = "ab" * 32
    cancer_workspace.policy(CANCER_POLICY.replace("holdout: data/holdout.csv",
                                                  f"holdout: {base}/holdout.csv\n  sha256: {pinned}"))
    r = run_cli("evaluate", "--workspace", cancer_workspace.root, "--out", tmp_path / "o", "--quiet")
    assert r.code == 2 and f"the policy pins {pinned} (data.sha256)" in r.err
    assert not list((cancer_workspace.root / ".mlgate-cache").glob("*.csv"))


def test_url_download_is_size_capped(https_server, tmp_path):
    base, files, _ = https_server
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
