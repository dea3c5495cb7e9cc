"""Nothing leaves with a secret in it: every kind of key the recognizers know, planted in every field a
reader fills (message text, edits, author names, ids and e-mails, conversation names, thread subjects,
attachment names) of messages that are hits, neighbours of hits and neither, in three formats; then every
output file is searched for the raw values. Some keys look like placeholders ("…0123456789…"), which the
recognizers prune as documentation: the gate masks them by their shape all the same."""

from __future__ import annotations

import json
import random
import string
from pathlib import Path

import pytest

from analyzers.entities import EntityFinder
from analyzers.secret_gate import find_secrets, mask_secrets, masked
from pipelines.scan import run
from tests.helpers.slack import write_slack

_rng = random.Random(7)


def _random(n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(_rng.choice(alphabet) for _ in range(n))


SECRETS = {
    "API_KEY_OPENAI": "sk-proj-" + _random(64),
    "API_KEY_ANTHROPIC": "sk-ant-api03-" + _random(80) + "-" + _random(6),
    "API_KEY_AWS": "AKIA" + _random(16, string.ascii_uppercase + string.digits),
    "API_KEY_GITHUB": "ghp_" + _random(36),
    "API_KEY_SLACK": "xoxb-123456789012-1234567890123-" + _random(24),
    "API_KEY_GOOGLE": "AIza" + _random(35),
    "API_KEY_HUGGINGFACE": "hf_" + _random(34),
    "BEARER_TOKEN": _random(40),  # said after "Bearer "
    "JWT": "eyJhbGciOiJIUzI1NiJ9." + "eyJ" + _random(30) + "." + _random(43, string.ascii_letters + "-_"),
    "PRIVATE_KEY": "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA" + _random(48) + "\n" + _random(48)
                   + "\n-----END RSA PRIVATE KEY-----",
}
# Shaped like a key but failing the recognizers' placeholder test (an ascending run): masked anyway.
PLACEHOLDER_LOOKING = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdEFGH"


def said(kind: str) -> str:
    value = SECRETS[kind]
    return f"Authorization: Bearer {value}" if kind == "BEARER_TOKEN" else value


def test_every_kind_has_its_shape():
    for kind in SECRETS:
        assert [k for k, _, _ in find_secrets(f"here: {said(kind)} thanks")] == [kind], kind
        assert SECRETS[kind] not in mask_secrets(f"here: {said(kind)} thanks")


def test_placeholder_looking_keys_are_masked_and_listed():
    text = f"the batch job key: {PLACEHOLDER_LOOKING}"
    entities = EntityFinder().find(text)
    assert [(e["type"], e["kind"]) for e in entities] == [("API_KEY_OPENAI", "secret")]
    assert mask_secrets(text) == "the batch job key: <API_KEY_OPENAI>"


def test_the_gate_walks_whole_documents():
    doc = {"a": [{"b": said("API_KEY_AWS")}, 3, None], "c": f"x {said('JWT')}", "d": 1.5}
    out = masked(doc)
    assert out == {"a": [{"b": "<API_KEY_AWS>"}, 3, None], "c": "x <JWT>", "d": 1.5}


def _kinds(start: int) -> list[str]:
    names = sorted(SECRETS)
    return [names[(start + k) % len(names)] for k in range(len(names))]


def _slack(root: Path) -> None:
    k = _kinds(0)
    channel = "ml-data"
    channels = [{"id": "C1", "name": channel, "purpose": {"value": f"keys go here {said(k[0])}"}}]
    users = [
        {"id": "U1", "name": "alice", "real_name": "Alice Chen",
         "profile": {"email": "alice@example.com", "real_name": "Alice Chen"}},
        {"id": "U2", "name": "bob", "real_name": f"Bob {said('API_KEY_HUGGINGFACE')}",
         "profile": {"email": f"{SECRETS['API_KEY_GITHUB']}@example.com"}},
    ]
    t = 1741170000
    messages = [
        {"user": "U1", "text": "we need to desensitize the GPT-4 outputs before they go into the training set, "
                               "so nobody can tell they came from OpenAI", "ts": f"{t}.000100"},
        {"user": "U2", "text": f"the OpenAI key for the desensitization batch job: {said('API_KEY_OPENAI')}",
         "ts": f"{t + 60}.000200", "edited": {"user": "U2", "ts": f"{t + 90}.000000"}},
        {"user": "U1", "text": f"ok, scrub the source tags and keep the vendor out of the data card. "
                               f"backup key {PLACEHOLDER_LOOKING}", "ts": f"{t + 120}.000300",
         "files": [{"id": "F1", "name": f"creds-{SECRETS['API_KEY_AWS']}.txt", "mimetype": "text/plain"}]},
        {"user": "U2", "text": f"also {said('API_KEY_ANTHROPIC')} and {said('BEARER_TOKEN')}",
         "ts": f"{t + 180}.000400", "thread_ts": f"{t + 120}.000300"},
        {"user": "U1", "text": f"lunch at noon? {said('JWT')}", "ts": f"{t + 7200}.000500"},
        {"user": "U2", "text": f"deploy notes:\n{said('PRIVATE_KEY')}", "ts": f"{t + 9000}.000600"},
        {"user": "U1", "text": f"slack bot {said('API_KEY_SLACK')} google {said('API_KEY_GOOGLE')}",
         "ts": "not-a-time"},  # a dead letter: its raw record must not leak either
    ]
    write_slack(root, {f"{channel}/2025-03-05": messages}, users=users, channels=channels)


def _telegram(root: Path) -> None:
    root.mkdir(parents=True)
    t = 1714564860
    texts = [
        "we paraphrase the Claude outputs so the detector can't tell, then call it our own data",
        f"key for the paraphrase job: {said('API_KEY_ANTHROPIC')}",
        f"and relabel the source field as in-house. aws {said('API_KEY_AWS')}",
        f"unrelated: {said('API_KEY_GOOGLE')} {said('JWT')}",
    ]
    messages = [{"id": i + 1, "type": "message", "date": "2024-05-01T14:01:00", "date_unixtime": str(t + 60 * i),
                 "from": f"Carol {said('API_KEY_SLACK')}" if i == 1 else "Dan",
                 "from_id": f"user_{SECRETS['API_KEY_HUGGINGFACE']}" if i == 2 else f"user{i}", "text": text}
                for i, text in enumerate(texts)]
    messages[3]["file"] = "files/x.txt"
    messages[3]["file_name"] = f"{SECRETS['API_KEY_GITHUB']}.txt"
    (root / "result.json").write_text(json.dumps(
        {"name": f"ML {SECRETS['API_KEY_OPENAI']}", "type": "private_supergroup", "id": 1001, "messages": messages}))


def _mbox(root: Path) -> None:
    root.mkdir(parents=True)
    mails = [
        ("<m1@example.com>", f"Erin <{SECRETS['API_KEY_GITHUB']}@example.com>", f"GPT-4 data {said('API_KEY_AWS')}",
         "we will strip the provenance from the GPT-4 outputs and say it is our own human-labelled data"),
        ("<m2@example.com>", f"Frank {said('API_KEY_HUGGINGFACE')} <frank@example.com>",
         f"RE: GPT-4 data {said('API_KEY_AWS')}", f"fine, here is the OpenAI key {said('API_KEY_OPENAI')}"),
        ("<m3@example.com>", "Gina <gina@example.com>", "Menu", f"pizza? {said('PRIVATE_KEY')}"),
    ]
    body = ""
    for i, (mid, sender, subject, text) in enumerate(mails):
        body += (f"From x@example.com Mon Apr 18 14:20:57 2022\nMessage-ID: {mid}\n"
                 f"Date: Mon, 25 Sep 2000 0{3 + i}:39:00 -0700\nFrom: {sender}\nTo: t@example.com\n"
                 f"Subject: {subject}\nContent-Type: multipart/mixed; boundary=\"XX\"\n\n--XX\n"
                 f"Content-Type: text/plain; charset=utf-8\n\n{text}\n--XX\nContent-Type: text/plain; "
                 f"name=\"{SECRETS['API_KEY_SLACK']}.txt\"\nContent-Disposition: attachment; "
                 f"filename=\"{SECRETS['API_KEY_SLACK']}.txt\"\n\nhi\n--XX--\n\n")
    (root / "inbox.mbox").write_text(body)


@pytest.mark.parametrize("make", [_slack, _telegram, _mbox], ids=["slack", "telegram", "mbox"])
def test_no_output_file_holds_a_raw_secret(make, tmp_path, capsys):
    export, out = tmp_path / "export", tmp_path / "out"
    make(export)
    assert run(["--input", str(export), "--out", str(out), "--no-index", "--quiet"]) == 0
    printed = capsys.readouterr()
    hits = [json.loads(line) for line in (out / "hits.jsonl").read_text().splitlines()]
    assert hits, "the planted concealment must be found, or the test proves nothing about hits"
    files = [p for p in out.rglob("*") if p.is_file()]
    assert any(p.suffix == ".html" for p in files) and (out / "manifest.json").is_file()
    raw = [*SECRETS.values(), PLACEHOLDER_LOOKING]
    for path in files:
        content = path.read_text(encoding="utf-8", errors="replace")
        leaked = [v[:24] for v in raw if v in content or json.dumps(v)[1:-1] in content]
        assert not leaked, (path.relative_to(out), leaked)
    for stream in (printed.out, printed.err):
        assert not [v for v in raw if v in stream]
