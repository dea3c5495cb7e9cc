"""Issue 17 (hardening), masking gaps: every field that leaves passes the one masking gate.

Planted in the fields that used to be skipped (attachment names, conversation ids, source and member paths,
thread ids, replies, editors) and in the shapes that used to slip (a Slack token whose digits pass the card
check, keys glued to "-" or "_", AWS key ids without a digit, Slack tokens with "test" in them, JWTs in
text, context and names), under every redaction setting; then every output file is searched for the raw
values. Ids that join must still join once masked."""

from __future__ import annotations

import json
import random
import string
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.testing import test_pipeline
from apache_beam.testing.util import assert_that, equal_to

from analyzers.entities import EntityFinder
from analyzers.secret_gate import MaskingGate
from pipelines.composites import MaskDocuments
from pipelines.scan import run
from pipelines.sinks import elasticsearch as es_sink
from tests.helpers.slack import write_slack

_rng = random.Random(17)


def _random(n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(_rng.choice(alphabet) for _ in range(n))


JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5"
       "MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
GITHUB = "ghp_" + _random(36)
AWS = "AKIA" + _random(16, string.ascii_uppercase + string.digits)
AWS_LETTERS = "AKIA" + _random(16, string.ascii_uppercase)  # no digit at all
SLACK_CARD = "xoxb-4222222222222-1234567890123-" + _random(24)  # 4222222222222 passes the card check
SLACK_TEST = "xoxb-123456789012-1234567890123-test" + _random(20)
SECRETS = {"jwt": JWT, "github": GITHUB, "aws": AWS, "aws_letters": AWS_LETTERS, "slack_card": SLACK_CARD,
           "slack_card_tail": SLACK_CARD.rsplit("-", 1)[1], "slack_test": SLACK_TEST}
MAIL, PHONE = "wei.zhang@example.com", "+49 151 23456789"
PII = {"mail": MAIL, "phone": PHONE, "phone_digits": "151 23456789"}
PLAN = "we need to hide that the data came from GPT-4 outputs, scrub the vendor name before the audit"


def _slack(root: Path) -> None:
    t = 1741170000
    # a channel folder (and so every source path) named with an address
    write_slack(root, {f"ml-{MAIL}/2025-03-05": [
        {"user": "U1", "text": f"{PLAN} session {JWT}", "ts": f"{t}.000100",
         "files": [{"name": f"notes-{MAIL}-{PHONE}.txt"}, {"name": f"creds-{SLACK_CARD}.txt"}]},
        {"user": "U2", "ts": f"{t + 60}.000200", "thread_ts": f"{t}.000100",
         "text": f"{PLAN}. GH_TOKEN-{GITHUB} aws_{AWS} and {AWS_LETTERS}, slack {SLACK_CARD} {SLACK_TEST}",
         "edited": {"user": MAIL, "ts": f"{t + 90}.000000"}},
        {"user": "U1", "text": f"context line with {JWT} and {SLACK_CARD}", "ts": f"{t + 120}.000300",
         "thread_ts": f"{t}.000100"},
    ]}, users=[{"id": "U1", "name": f"alice {JWT}"}, {"id": "U2", "name": "bob"}],
        channels=[{"id": f"C-{MAIL}", "name": f"ml-{MAIL}"}])


def _whatsapp(root: Path) -> None:
    """An unsaved contact: the chat, the sender and the editor are the phone number."""
    root.mkdir(parents=True)
    (root / f"WhatsApp Chat with {PHONE}.txt").write_text(
        f"[05/03/2025, 09:00:00] {PHONE}: {PLAN} <This message was edited>\n"
        f"[05/03/2025, 09:01:00] Bob: {PLAN}, {SLACK_CARD}\n"
        f"[05/03/2025, 09:02:00] Bob: IMG-{MAIL}.jpg (file attached)\n")


def _mbox(root: Path) -> None:
    """Message-IDs are address-shaped: message ids, thread ids and replies are masked, and still join."""
    root.mkdir(parents=True)
    mails = [("<root-7@wei.example.com>", "", f"Wei <{MAIL}>", PLAN),
             ("<reply-8@wei.example.com>", "<root-7@wei.example.com>", "Bob <bob@example.com>",
              f"fine, {SLACK_CARD}, and scrub the vendor name before the audit")]
    (root / f"{MAIL}.mbox").write_text("".join(
        f"From x@example.com Mon Apr 18 14:20:57 2022\nMessage-ID: {mid}\n"
        + (f"In-Reply-To: {parent}\nReferences: {parent}\n" if parent else "")
        + f"Date: Mon, 25 Sep 2000 0{3 + i}:39:00 -0700\nFrom: {sender}\nTo: t@example.com\nSubject: GPT-4 data\n"
          f"Content-Type: text/plain; charset=utf-8\n\n{text}\n\n"
        for i, (mid, parent, sender, text) in enumerate(mails)))


def _scan(make, tmp_path: Path, *options: str) -> Path:
    export, out = tmp_path / "export", tmp_path / "out"
    make(export)
    assert run(["--input", str(export), "--out", str(out), "--no-index", "--quiet", *options]) == 0
    assert (out / "hits.jsonl").read_text().strip(), "the planted concealment must be a hit"
    return out


def _leaks(out: Path, planted: dict[str, str]) -> dict[str, list[str]]:
    found = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        content = path.read_text(encoding="utf-8", errors="replace")
        leaked = [name for name, value in planted.items() if value in content or json.dumps(value)[1:-1] in content]
        if leaked:
            found[str(path.relative_to(out))] = leaked
    return found


@pytest.mark.parametrize("make", [_slack, _whatsapp, _mbox], ids=["slack", "whatsapp", "mbox"])
def test_no_field_keeps_personal_data_or_a_secret(make, tmp_path):
    out = _scan(make, tmp_path)
    assert _leaks(out, {**SECRETS, **PII}) == {}


@pytest.mark.parametrize("options", [("--no-redact",), ("--redact-kinds", "CREDIT_CARD")], ids=["no-redact", "cards"])
def test_secrets_are_masked_whatever_the_redaction(options, tmp_path):
    """Masking the "card" inside a Slack token used to leave the rest of the token readable."""
    out = _scan(_slack, tmp_path, *options)
    assert _leaks(out, SECRETS) == {}
    hits = [json.loads(line) for line in (out / "hits.jsonl").read_text().splitlines()]
    texts = [h["message"]["text"] for h in hits] + [c["text"] for h in hits for c in h["context"]]
    assert any("slack <API_KEY_SLACK>" in t for t in texts)


def test_masked_ids_still_join(tmp_path):
    out = _scan(_mbox, tmp_path)
    hits = {h["message"]["id"]: h for h in map(json.loads, (out / "hits.jsonl").read_text().splitlines())}
    cases = [json.loads(line) for line in (out / "cases.jsonl").read_text().splitlines()]
    manifest = json.loads((out / "manifest.json").read_text())
    assert all(i.startswith("<<EMAIL_ADDRESS>>#") for i in hits)
    root = next(h for h in hits.values() if not h["reply_to"])
    reply = next(h for h in hits.values() if h["reply_to"])
    assert reply["reply_to"] == root["message"]["id"] == root["thread"]["id"] == reply["thread"]["id"]
    assert {c["id"] for c in reply["context"]} <= set(hits)
    assert {i for c in cases for i in c["hits"]} == set(hits)
    assert cases[0]["conversation"]["id"] == root["conversation"]["id"]
    # The chain of custody still leads from a hit to its member file's hash.
    members = {m["path"]: m["sha256"] for m in manifest["members"]}
    assert root["source"]["path"] in members and root["source"]["path"].startswith("<EMAIL_ADDRESS>")


def test_every_listed_field_is_masked_and_deterministic(tmp_path):
    out = _scan(_whatsapp, tmp_path)
    hits = [json.loads(line) for line in (out / "hits.jsonl").read_text().splitlines()]
    first = hits[0]
    masked_phone = first["author"]["id"]
    assert masked_phone.startswith("<PHONE_NUMBER>#")
    assert first["conversation"]["id"] == first["conversation"]["name"] == masked_phone
    assert first["message"]["edits"][0]["by"] == masked_phone
    assert first["source"]["path"].startswith("WhatsApp Chat with <PHONE_NUMBER>.txt#")
    attached = [a["name"] for h in hits for a in h["attachments"] if a.get("name")]
    assert all(name.startswith("IMG-<EMAIL_ADDRESS>.jpg#") for name in attached)


def test_secrets_outrank_the_personal_data_their_digits_look_like():
    finder = EntityFinder()
    text = f"here: {SLACK_CARD} (rotate it)"  # no context word lifts the token's score to the card's
    found = [(e["type"], text[e["start"]:e["end"]]) for e in finder.find(text)]
    assert found == [("API_KEY_SLACK", SLACK_CARD)]


@pytest.mark.parametrize("said, kind", [
    (f"GH_TOKEN-{GITHUB}", "API_KEY_GITHUB"), (f"aws_{AWS}", "API_KEY_AWS"), (AWS_LETTERS, "API_KEY_AWS"),
    (SLACK_TEST, "API_KEY_SLACK"), (f"session={JWT};", "JWT"), (JWT, "JWT"),
    (f"{GITHUB[:12]}\u200b{GITHUB[12:]}", "API_KEY_GITHUB"),
], ids=["dash", "underscore", "aws-letters", "slack-test", "jwt-cookie", "jwt-alone", "zero-width-inside"])
def test_shapes_that_used_to_slip_are_found_and_masked(said, kind):
    finder = EntityFinder()
    text = f"here: {said} thanks"
    assert [e["type"] for e in finder.find(text) if e["kind"] == "secret"] == [kind]
    gate = MaskingGate(finder, frozenset({kind}))
    assert f"<{kind}>" in gate.text(text, "en")[0] and f"<{kind}>" in gate.label(text)


def test_an_elasticsearch_rejection_quoting_a_value_passes_the_gate():
    """The node quotes the field value it could not parse; the dead letter's reason goes through the gate."""
    reason = ("rejected by Elasticsearch (400): {\"type\": \"document_parsing_exception\", \"reason\": \"failed "
              f"to parse field [message.position] of type [long]. Preview of field's value: '{MAIL} {PHONE} "
              f"{SLACK_CARD}'\"}}")
    dead = es_sink.dead_letter("chatforensics-hits", "h-1", reason)
    with test_pipeline.TestPipeline() as p:
        gated = p | beam.Create([dead]) | MaskDocuments(None, ("EMAIL_ADDRESS", "PHONE_NUMBER"))
        assert_that(gated | beam.Map(lambda d: [v for v in (MAIL, PHONE, SLACK_CARD) if v in d["reason"]]
                                     + [d["source"], d["stage"]]),
                    equal_to([[dead["source"], "index"]]))
