"""Sealed holdouts: readable only where the secret is (the judge job), never leaking it.

An https holdout fetched with headers from the environment, served by a real TLS server on
loopback that demands the credential; an encrypted file sealed by `mlgate seal`. Each test is
written as the mistake or attack it guards against.
"""

from __future__ import annotations

import hashlib
import stat
import textwrap
from pathlib import Path

import pytest

from mlgate.gates.config.parse import parse_policy
from mlgate.gates.errors import ConfigError, DataError, InfrastructureError, InputError
from mlgate.gates.holdout.source import locate_holdout
from mlgate.gates.holdout.sealing import new_key, seal_file
from https_loopback import make_certificate, start

TOKEN = "tok-SECRET-7f3a9c-do-not-print"
CSV = b"x,label\n1,0\n2,1\n3,0\n"
JUDGE_ONLY = "sealed holdouts are readable only in the judge job (a GitHub environment restricted to the default branch)"


def policy(data: str, source: str = ".github/mlgate.yml"):
    text = "version: 1\ndata:\n" + textwrap.indent(textwrap.dedent(data), "  ") + \
        "gates: [{metric: accuracy, rule: min, threshold: 0.5}]\n"
    return parse_policy(text, source)


def url_policy(url: str, headers: str = '{Authorization: "Bearer ${MLGATE_HOLDOUT_TOKEN}"}', body: bytes = CSV):
    return policy(f"holdout: {url}\nsha256: {hashlib.sha256(body).hexdigest()}\ntarget: label\nheaders: {headers}\n")


@pytest.fixture
def tls(tmp_path, monkeypatch):
    cert_path, key_path = make_certificate(tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert_path))
    servers = []

    def serve():
        servers.append(start(cert_path, key_path))
        return servers[-1]

    yield serve
    for s in servers:
        s.stop()


@pytest.fixture
def sealed_server(tls):
    server = tls()
    server.files["/holdout.csv"] = CSV
    server.required["/holdout.csv"] = {"Authorization": f"Bearer {TOKEN}"}
    return server


def locate(p, ws: Path, env=None, **kw):
    return locate_holdout(p, ws, data_override=kw.get("data_override"), env=env, cache_dir=ws / ".mlgate-cache")


def _private(location) -> None:
    assert stat.S_IMODE(location.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(location.path.parent.stat().st_mode) == 0o700


# ----------------------------------------------------------------------------- configuration


@pytest.mark.parametrize("data, message", [
    # The policy is public: a key written in it is no key.
    ('holdout: data/h.csv.sealed\ntarget: label\nkey: "Zm9vYmFyLWxpdGVyYWwta2V5LTMyLWJ5dGVzLi4uLi4="\n',
     r"data\.key: expected a \$\{NAME\} reference to the environment variable holding the key \(the policy is "
     r"public: a key written in it is no secret; rotate it if it was committed\)$"),
    ('holdout: data/h.csv.sealed\ntarget: label\nkey: "k-${MLGATE_HOLDOUT_KEY}"\n', r"data\.key: expected a \$\{NAME\}"),
    ('holdout: data/h.csv.sealed\ntarget: label\nkey: 12345\n', r"data\.key: expected a \$\{NAME\}"),
    # A policy naming another secret of the job would send it to whatever server it names.
    ('holdout: data/h.csv.sealed\ntarget: label\nkey: "${GITHUB_TOKEN}"\n',
     r"data\.key: expected a variable named MLGATE_\* .*, got '\$\{GITHUB_TOKEN\}'"),
    (f'holdout: https://example.invalid/h.csv\nsha256: {"a" * 64}\ntarget: label\n'
     'headers: {Authorization: "Bearer ${GITHUB_TOKEN}"}\n',
     r"data\.headers\.Authorization: expected a variable named MLGATE_\*"),
    (f'holdout: https://example.invalid/h.csv\nsha256: {"a" * 64}\ntarget: label\n'
     'headers: {Authorization: "Bearer ghp_literal0123456789"}\n',
     r"data\.headers\.Authorization: expected a \$\{NAME\} reference to an environment variable holding the "
     r"credential \(the policy is public: a credential written in it is no secret\)$"),
    (f'holdout: https://example.invalid/h.csv\nsha256: {"a" * 64}\ntarget: label\n'
     'headers: {X-Api-Key: "$MLGATE_KEY"}\n', r"data\.headers\.X-Api-Key: expected \$\{NAME\} references only"),
    (f'holdout: https://example.invalid/h.csv\nsha256: {"a" * 64}\ntarget: label\n'
     'headers: {X-Api-Key: "${MLGATE KEY}"}\n', r"data\.headers\.X-Api-Key: expected \$\{NAME\} references only"),
    (f'holdout: https://example.invalid/h.csv\nsha256: {"a" * 64}\ntarget: label\n'
     'headers: {"Bad Header": "x"}\n', r"data\.headers\.Bad Header: expected an HTTP header name"),
    (f'holdout: https://example.invalid/h.csv\nsha256: {"a" * 64}\ntarget: label\n'
     'headers: {X-Tenant: "a\\r\\nHost: evil"}\n', r"data\.headers\.X-Tenant: expected a value without control characters"),
    (f'holdout: https://example.invalid/h.csv\nsha256: {"a" * 64}\ntarget: label\nheaders: [Authorization]\n',
     r"data\.headers: expected a mapping of header name to value"),
    ('holdout: data/h.csv\ntarget: label\nheaders: {Authorization: "Bearer ${MLGATE_T}"}\n',
     r"data\.headers: expected no headers unless data\.holdout is an https URL"),
    (f'holdout: https://example.invalid/h.csv\nsha256: {"a" * 64}\ntarget: label\nkey: "${{MLGATE_HOLDOUT_KEY}}"\n',
     r"data\.key: expected no key for an https holdout"),
    ('holdout: data/h.csv\ntarget: label\nheadres: {}\n', r"data\.headres: unknown key \(did you mean 'headers'\?\)"),
], ids=["literal-key", "key-with-text", "key-number", "key-other-secret", "header-other-secret",
        "literal-credential", "bare-dollar", "malformed-reference", "header-name", "header-injection",
        "headers-list", "headers-on-a-file", "key-on-a-url", "misspelled"])
def test_bad_sealing_config_is_refused_naming_the_key_and_never_quoting_a_value(data, message):
    with pytest.raises(ConfigError, match=message) as exc:
        policy(data)
    assert str(exc.value).startswith(".github/mlgate.yml: data.")
    for literal in ("Zm9vYmFy", "ghp_literal", "Host: evil"):
        assert literal not in str(exc.value)


def test_sealing_config_is_read():
    p = url_policy("https://example.invalid/h.csv", '{Authorization: "Bearer ${MLGATE_HOLDOUT_TOKEN}", Accept: text/csv}')
    assert p.data.headers == (("Authorization", "Bearer ${MLGATE_HOLDOUT_TOKEN}"), ("Accept", "text/csv"))
    assert policy('holdout: data/h.csv.sealed\ntarget: label\nkey: "${MLGATE_HOLDOUT_KEY}"\n').data.key_env == \
        "MLGATE_HOLDOUT_KEY"


# ----------------------------------------------------------------------------- https with headers


def test_a_sealed_url_is_fetched_with_the_credential_and_kept_out_of_every_cache(sealed_server, tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    p = url_policy(f"{sealed_server.url}/holdout.csv")
    where = locate(p, ws, env={"MLGATE_HOLDOUT_TOKEN": TOKEN})
    assert where.sealed and where.label == f"{sealed_server.url}/holdout.csv"
    assert where.path.read_bytes() == CSV
    assert ws not in where.path.parents and not (ws / ".mlgate-cache").exists(), "never in the workspace"
    _private(where)
    # Not cached: a later (unprivileged) job must not find it, so the next run fetches again.
    again = locate(p, ws, env={"MLGATE_HOLDOUT_TOKEN": TOKEN})
    assert again.path != where.path and len(sealed_server.hits) == 2
    assert sealed_server.hits[0][1]["Authorization"] == f"Bearer {TOKEN}"
    where.discard()
    assert not where.path.exists() and again.path.exists()


def test_an_unsealed_url_is_cached_in_the_workspace_cache(tls, tmp_path):
    server = tls()
    server.files["/h.csv"] = CSV
    p = url_policy(f"{server.url}/h.csv", "{Accept: text/csv}")
    where = locate(p, tmp_path, env={})
    assert not where.sealed and where.path.parent == tmp_path / ".mlgate-cache"
    assert locate(p, tmp_path, env={}).path == where.path and len(server.hits) == 1
    assert server.hits[0][1]["Accept"] == "text/csv"


@pytest.mark.parametrize("env", [{}, {"MLGATE_HOLDOUT_TOKEN": ""}, {"MLGATE_HOLDOUT_TOKEN": "  "}, None],
                         ids=["unset", "empty (GitHub's unavailable secret)", "blank", "no env given"])
def test_a_pull_request_build_without_the_secret_is_told_where_it_can_be_read(env, sealed_server, tmp_path, monkeypatch):
    monkeypatch.setenv("MLGATE_HOLDOUT_TOKEN", TOKEN)  # gates never reads the process environment itself
    p = url_policy(f"{sealed_server.url}/holdout.csv")
    with pytest.raises(InputError) as exc:
        locate(p, tmp_path, env=env)
    assert str(exc.value) == f"data.headers.Authorization: environment variable MLGATE_HOLDOUT_TOKEN is not set; " \
                             f"{JUDGE_ONLY}; a pull request's build job never has it"
    assert not sealed_server.hits, "nothing was requested without the credential"


def test_a_wrong_credential_names_the_url_not_the_secret(sealed_server, tmp_path):
    p = url_policy(f"{sealed_server.url}/holdout.csv")
    with pytest.raises(DataError) as exc:
        locate(p, tmp_path, env={"MLGATE_HOLDOUT_TOKEN": TOKEN + "-revoked"})
    assert str(exc.value) == f"data.holdout: {sealed_server.url}/holdout.csv answered HTTP 401 (check the credential in data.headers)"


def test_the_credential_never_follows_a_redirect_to_another_origin(tls, sealed_server, tmp_path):
    """A redirect to storage elsewhere (or to an attacker) is followed without the credential."""
    storage = tls()
    storage.files["/blob"] = CSV
    sealed_server.redirects["/moved.csv"] = f"{storage.url}/blob"
    p = url_policy(f"{sealed_server.url}/moved.csv")
    assert locate(p, tmp_path, env={"MLGATE_HOLDOUT_TOKEN": TOKEN}).path.read_bytes() == CSV
    assert sealed_server.hits[0][1]["Authorization"] == f"Bearer {TOKEN}"
    assert "Authorization" not in storage.hits[0][1]
    assert all(TOKEN not in str(headers) for _, headers in storage.hits)


def test_a_same_origin_redirect_keeps_the_credential(sealed_server, tmp_path):
    sealed_server.redirects["/old.csv"] = "/holdout.csv"
    p = url_policy(f"{sealed_server.url}/old.csv")
    assert locate(p, tmp_path, env={"MLGATE_HOLDOUT_TOKEN": TOKEN}).path.read_bytes() == CSV


def test_a_redirect_to_plain_http_is_refused(sealed_server, tmp_path):
    sealed_server.redirects["/down.csv"] = "http://localhost:9/holdout.csv"
    p = url_policy(f"{sealed_server.url}/down.csv")
    with pytest.raises(DataError, match="redirects to a non-https URL; refusing to follow"):
        locate(p, tmp_path, env={"MLGATE_HOLDOUT_TOKEN": TOKEN})


def test_a_variable_with_a_line_break_cannot_inject_a_header(sealed_server, tmp_path):
    p = url_policy(f"{sealed_server.url}/holdout.csv")
    with pytest.raises(InputError) as exc:
        locate(p, tmp_path, env={"MLGATE_HOLDOUT_TOKEN": TOKEN + "\r\nX-Evil: 1"})
    assert "environment variable MLGATE_HOLDOUT_TOKEN holds characters a header cannot carry" in str(exc.value)
    assert TOKEN not in str(exc.value) and not sealed_server.hits


def test_an_error_quoting_the_secret_is_scrubbed(sealed_server, tmp_path, monkeypatch):
    """Whatever fails underneath (here a simulated bug repeating the headers), the secret is not shown."""
    import mlgate.gates.holdout.download

    def leaky(url, sha256, cache, *, headers=None, **kw):
        raise RuntimeError(f"simulated failure with headers {headers}")

    monkeypatch.setattr(mlgate.gates.holdout.download, "fetch", leaky)
    with pytest.raises(InfrastructureError) as exc:
        locate(url_policy(f"{sealed_server.url}/holdout.csv"), tmp_path, env={"MLGATE_HOLDOUT_TOKEN": TOKEN})
    assert TOKEN not in str(exc.value) and "Bearer ***" in str(exc.value)


# ----------------------------------------------------------------------------- encrypted file


def sealed_workspace(tmp_path: Path, key: str, body: bytes = CSV) -> Path:
    ws = tmp_path / "ws"
    (ws / "data").mkdir(parents=True)
    (tmp_path / "plain.csv").write_bytes(body)
    seal_file(tmp_path / "plain.csv", ws / "data" / "holdout.csv.sealed", key)
    return ws


KEY_POLICY = 'holdout: data/holdout.csv.sealed\ntarget: label\nkey: "${MLGATE_HOLDOUT_KEY}"\n'


def test_an_encrypted_holdout_round_trips_into_a_private_file(tmp_path):
    key = new_key()
    ws = sealed_workspace(tmp_path, key)
    assert CSV not in (ws / "data" / "holdout.csv.sealed").read_bytes()
    where = locate(policy(KEY_POLICY), ws, env={"MLGATE_HOLDOUT_KEY": key})
    assert where.sealed and where.label == "data/holdout.csv.sealed"
    assert where.path.name == "holdout.csv" and where.path.read_bytes() == CSV
    assert ws not in where.path.parents
    _private(where)
    where.discard()
    assert not where.path.exists()


def test_a_multi_chunk_holdout_round_trips(tmp_path, monkeypatch):
    import mlgate.gates.holdout.sealing

    monkeypatch.setattr(mlgate.gates.holdout.sealing, "CHUNK_BYTES", 7)
    body = b"".join(b"%d,%d\n" % (i, i % 2) for i in range(100))
    key = new_key()
    ws = sealed_workspace(tmp_path, key, b"x,label\n" + body)
    assert locate(policy(KEY_POLICY), ws, env={"MLGATE_HOLDOUT_KEY": key}).path.read_bytes() == b"x,label\n" + body


def test_the_plain_file_is_given_as_is_with_data(tmp_path):
    (tmp_path / "local.csv").write_bytes(CSV)
    where = locate(policy(KEY_POLICY), tmp_path, env={}, data_override=tmp_path / "local.csv")
    assert not where.sealed and where.path == tmp_path / "local.csv"


def test_a_wrong_key_names_the_file_not_the_key(tmp_path, monkeypatch):
    import tempfile

    ws = sealed_workspace(tmp_path, new_key())
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    wrong = new_key()
    with pytest.raises(InputError) as exc:
        locate(policy(KEY_POLICY), ws, env={"MLGATE_HOLDOUT_KEY": wrong})
    assert str(exc.value) == ("data/holdout.csv.sealed: cannot decrypt with the key in ${MLGATE_HOLDOUT_KEY} "
                              "(data.key) (the wrong key, or the file was changed)")
    assert wrong not in str(exc.value)
    assert not list((tmp_path / "tmp").iterdir()), "no partial plaintext, no private directory left behind"


def test_a_malformed_key_is_not_quoted(tmp_path):
    ws = sealed_workspace(tmp_path, new_key())
    with pytest.raises(InputError) as exc:
        locate(policy(KEY_POLICY), ws, env={"MLGATE_HOLDOUT_KEY": TOKEN})
    assert str(exc.value) == ("${MLGATE_HOLDOUT_KEY} (data.key): not a key made by `mlgate seal --new-key` "
                              "(32 url-safe base64-encoded bytes)")


def test_a_missing_key_is_told_where_it_can_be_read(tmp_path):
    ws = sealed_workspace(tmp_path, new_key())
    with pytest.raises(InputError) as exc:
        locate(policy(KEY_POLICY), ws, env={})
    assert str(exc.value) == f"data.key: environment variable MLGATE_HOLDOUT_KEY is not set; {JUDGE_ONLY}; " \
                             "a pull request's build job never has it"


def _chunks(path: Path) -> tuple[bytes, list[bytes]]:
    head, *lines = path.read_bytes().split(b"\n")[:-1]
    return head + b"\n", [line + b"\n" for line in lines]


@pytest.mark.parametrize("tamper, message", [
    (lambda head, c: head + b"".join(c[:-1]), r"the sealed file is truncated \(chunk \d+ is missing\)"),
    (lambda head, c: head + c[1] + c[0] + b"".join(c[2:]), r"the sealed file is damaged \(chunk 0 is out of order\)"),
    (lambda head, c: head + b"".join(c) + c[0], r"the sealed file is damaged \(data after its last chunk\)"),
    (lambda head, c: head + c[0][:10] + c[0][11:] + b"".join(c[1:]), r"cannot decrypt .*the file was changed"),
    (lambda head, c: CSV, r"not a file sealed by `mlgate seal` \(data\.key is set\)"),
], ids=["dropped-last-chunk", "reordered", "appended", "flipped-byte", "plaintext"])
def test_a_tampered_sealed_file_is_refused(tamper, message, tmp_path, monkeypatch):
    """A pull request cannot read the holdout, but could try to drop or reorder its rows."""
    import mlgate.gates.holdout.sealing

    monkeypatch.setattr(mlgate.gates.holdout.sealing, "CHUNK_BYTES", 4)
    key = new_key()
    ws = sealed_workspace(tmp_path, key)
    sealed = ws / "data" / "holdout.csv.sealed"
    head, chunks = _chunks(sealed)
    assert len(chunks) > 3
    sealed.write_bytes(tamper(head, chunks))
    with pytest.raises(DataError, match=r"^data/holdout\.csv\.sealed: " + message):
        locate(policy(KEY_POLICY), ws, env={"MLGATE_HOLDOUT_KEY": key})


# ----------------------------------------------------------------------------- the seal command


def test_seal_prints_a_new_key_only_when_asked(run_cli, tmp_path):
    (tmp_path / "plain.csv").write_bytes(CSV)
    (tmp_path / "data").mkdir()
    r = run_cli("seal", tmp_path / "plain.csv", "--out", tmp_path / "data" / "holdout.csv.sealed", "--new-key")
    assert r.code == 0, r.err
    key = r.out.strip()
    assert r.out == key + "\n" and len(key) == 44 and key not in r.err
    assert f"data.sha256: {hashlib.sha256(CSV).hexdigest()}" in r.err
    where = locate(policy(KEY_POLICY), tmp_path, env={"MLGATE_HOLDOUT_KEY": key})
    assert where.path.read_bytes() == CSV


def test_seal_with_a_key_from_the_environment_never_prints_it(run_cli, tmp_path, monkeypatch):
    key = new_key()
    monkeypatch.setenv("MY_KEY", key)
    (tmp_path / "plain.csv").write_bytes(CSV)
    r = run_cli("seal", tmp_path / "plain.csv", "--out", tmp_path / "h.csv.sealed", "--key-env", "MY_KEY")
    assert r.code == 0 and r.out == "" and key not in r.err
    (tmp_path / "data").mkdir()
    (tmp_path / "h.csv.sealed").rename(tmp_path / "data" / "holdout.csv.sealed")
    assert locate(policy(KEY_POLICY), tmp_path, env={"MLGATE_HOLDOUT_KEY": key}).path.read_bytes() == CSV


def test_seal_without_a_key_exits_2(run_cli, tmp_path, monkeypatch):
    monkeypatch.delenv("MLGATE_HOLDOUT_KEY", raising=False)
    (tmp_path / "plain.csv").write_bytes(CSV)
    r = run_cli("seal", tmp_path / "plain.csv", "--out", tmp_path / "h.sealed")
    assert r.code == 2 and "--key-env: environment variable MLGATE_HOLDOUT_KEY is not set; pass --new-key" in r.err
    assert not (tmp_path / "h.sealed").exists()


def test_seal_refuses_to_overwrite_its_source(run_cli, tmp_path):
    (tmp_path / "plain.csv").write_bytes(CSV)
    r = run_cli("seal", tmp_path / "plain.csv", "--out", tmp_path / "plain.csv", "--new-key")
    assert r.code == 2 and (tmp_path / "plain.csv").read_bytes() == CSV and r.out == ""


# ----------------------------------------------------------------------------- never printed


def test_no_secret_is_printed_on_any_error_path(cancer_workspace, sealed_server, run_cli, tmp_path, monkeypatch):
    """`mlgate promote` reads the holdout through locate_holdout before anything else: provoke
    every failure with distinctive secrets in the environment and look for them in all output."""
    key = new_key()
    ws = cancer_workspace.root
    plain = ws / "data" / "holdout.csv"
    seal_file(plain, ws / "data" / "holdout.csv.sealed", key)
    from workspaces import CANCER_POLICY

    sealed_file = CANCER_POLICY.replace("holdout: data/holdout.csv", 'holdout: data/holdout.csv.sealed\n  key: "${MLGATE_HOLDOUT_KEY}"')
    body = plain.read_bytes()
    sealed_server.files["/holdout.csv"] = body
    sealed_url = CANCER_POLICY.replace("holdout: data/holdout.csv", f"holdout: {sealed_server.url}/holdout.csv\n"
                                       f"  sha256: {hashlib.sha256(body).hexdigest()}\n"
                                       '  headers: {Authorization: "Bearer ${MLGATE_HOLDOUT_TOKEN}"}')
    cases = [
        (sealed_file, {"MLGATE_HOLDOUT_KEY": new_key()}, "cannot decrypt"),  # wrong key
        (sealed_file, {"MLGATE_HOLDOUT_KEY": TOKEN}, "not a key made by"),  # malformed key
        (sealed_file, {"MLGATE_HOLDOUT_KEY": ""}, "is not set"),  # missing
        (sealed_url, {"MLGATE_HOLDOUT_TOKEN": TOKEN + "-x"}, "answered HTTP 401"),  # wrong credential
        (sealed_url, {"MLGATE_HOLDOUT_TOKEN": TOKEN + "\nX: y"}, "cannot carry"),  # injection attempt
        (sealed_url, {"MLGATE_HOLDOUT_TOKEN": ""}, "is not set"),
    ]
    for text, env, expected in cases:
        cancer_workspace.policy(text)
        for name in ("MLGATE_HOLDOUT_KEY", "MLGATE_HOLDOUT_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        for debug in ((), ("--debug",)):
            r = run_cli("promote", "--workspace", ws, "--out", tmp_path / "o", *debug)
            assert r.code == 2 and expected in r.err, (expected, r.err)
            for secret in [v for v in env.values() if v] + [TOKEN, key]:
                assert secret not in r.out + r.err, (expected, debug)
