"""A huge line-stream file read in byte ranges (pipelines/ingest/split.py) gives what a whole read gives.

Generated mailboxes, Mattermost exports and WhatsApp chats with what makes splitting hard (ids repeated far
apart, threads and replies across cuts, a declared Content-Length holding `From ` lines, dead letters, text
before the first record, two phones' date layouts) are cut into many small ranges: every record is read
exactly once, in the same order, equal to the whole read's, its pointer where the file has it. Where a range
cannot vouch for the next one's start the member is read whole. Last, a scan on two worker processes with
ranges gives the whole read's hits, cases, errors and manifest.
"""

from __future__ import annotations

import email.utils
import json
import random
import zipfile
from pathlib import Path

import pytest

from pipelines.archive import Archive
from pipelines.ingest import detect, split
from pipelines.ingest.base import DeadLetter
from pipelines.ingest.whatsapp import HEADER, clean
from pipelines.scan import run

T0 = 1_714_557_600


def write_mbox(path: Path, mails: int, seed: int = 1) -> Path:
    rnd = random.Random(seed)
    chunks, roots = [], []
    for i in range(mails):
        when = T0 + i * 61
        sender = f"user{rnd.randrange(40)}@corp.example"
        headers = [f"From {sender} {email.utils.formatdate(when)[:-6]}", f"From: User {i % 40} <{sender}>",
                   f"To: user{rnd.randrange(40)}@corp.example", f"Date: {email.utils.formatdate(when)}"]
        if i % 13 != 5:  # some mails carry no Message-ID: their ids come from their content
            mid = f"<m{i % 500 if i % 17 == 0 else i}@corp.example>"  # ids repeated hundreds of mails apart
            headers.append(f"Message-ID: {mid}")
        if roots and i % 3 == 0:
            root, subject = roots[rnd.randrange(len(roots))]
            headers += [f"Subject: Re: {subject}", f"In-Reply-To: {root}", f"References: {root}"]
        elif roots and i % 7 == 0:
            headers.append(f"Subject: Re: {roots[rnd.randrange(len(roots))][1]}")  # threads by subject alone
        else:
            subject = f"topic {i} about the eval run"
            headers.append(f"Subject: {subject}")
            roots.append((f"<m{i}@corp.example>", subject))
        body = f"mail {i}: we should hide that the data came from the OpenAI API\n"
        if i % 29 == 0:
            body += "\n>From the archive: quoted, not a separator\nFrom here on a line that starts so\n"
        if i % 31 == 0:  # a declared length whose body holds a `From ` line the line rule would cut at
            inner = "see below\nFrom x@y Mon Jan  1 00:00:00 2024\nSubject: not a mail of its own\n\nend\n"
            headers.append(f"Content-Length: {len(inner.encode())}")
            body = inner
        if i % 37 == 0:
            headers = [headers[0], "X-Nothing: at all"]  # no mail headers: a dead letter
        if i % 41 == 0:
            headers = [h for h in headers if not h.startswith("Date:")]  # no date: a dead letter
        chunks.append(("\n".join(headers) + "\n\n" + body + "\n").encode())
    path.write_bytes(b"".join(chunks))
    return path


def write_mattermost(path: Path, posts: int, seed: int = 2) -> Path:
    rnd = random.Random(seed)
    lines = [{"type": "version", "version": 1}, {"type": "team", "team": {"name": "t"}},
             {"type": "channel", "channel": {"team": "t", "name": "ml", "display_name": "ML team", "type": "O"}},
             {"type": "channel", "channel": {"team": "t", "name": "pv", "display_name": "Private", "type": "P"}},
             *({"type": "user", "user": {"username": f"u{i}", "first_name": f"First{i}", "email": f"u{i}@x.org"}}
               for i in range(20)),
             {"type": "bot", "bot": {"username": "ci", "display_name": "CI bot"}}]
    text = [json.dumps(line) for line in lines]
    for i in range(posts):
        if i % 53 == 0:
            text.append("{broken json")
        if i % 59 == 0:
            text.append("")
        if i % 61 == 0:
            text.append("[1, 2]")
        post = {"team": "t", "channel": rnd.choice(["ml", "pv"]), "user": rnd.choice(["u1", "u2", "u3", "ci"]),
                "create_at": (T0 + i * 30) * 1000, "message": f"post {i} scrub the gpt-4 outputs before the audit"}
        if i % 5 == 0:
            post["replies"] = [{"user": "u4", "create_at": (T0 + i * 30 + 5) * 1000, "message": f"ok {i}"}, "bad"]
        if i % 9 == 0:
            text.append(json.dumps({"type": "direct_post", "direct_post": {
                "channel_members": ["u1", "u2"], "user": "u2", "create_at": (T0 + i * 30) * 1000,
                "message": f"dm {i}"}}))
        else:
            text.append(json.dumps({"type": "post", "post": post}))
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    return path


def write_whatsapp(path: Path, messages: int, seed: int = 3) -> Path:
    rnd = random.Random(seed)
    lines = ["exported by a script", ""]
    for i in range(messages):
        day, month, hour, minute = 1 + (i // 200) % 28, 1 + (i // 5600) % 12, (i // 60) % 24, i % 60
        who = rnd.choice(["Ann", "Bob", "+49 151 23456789"])
        said = "same words" if i % 23 == 0 else f"message {i} keep the openai outputs out of the report"
        if i % 47 == 0:
            said = f"IMG-2024{month:02d}{day:02d}-WA0001.jpg (file attached)"
        if i % 300 < 150:  # phone one: Android, day first
            lines.append(f"{day:02d}/{month:02d}/2024, {hour:02d}:{minute:02d} - {who}: {said}")
        else:  # phone two: iOS, month first, seconds
            lines.append(f"[{month}/{day}/24, {hour % 12 + 1}:{minute:02d}:07 PM] {who}: {said}")
        if i % 11 == 0:
            lines.append("a line that goes on")
        if i % 97 == 0:
            lines.append("31/02/2024, 10:00 - Bob: a date that does not exist")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


WRITERS = {"mbox": (write_mbox, "mail.mbox", 1500), "mattermost": (write_mattermost, "export.jsonl", 3000),
           "whatsapp": (write_whatsapp, "WhatsApp Chat with Ann.txt", 4000)}


def export(tmp_path: Path, kind: str, in_zip: bool = False) -> Path:
    write, name, count = WRITERS[kind]
    path = write(tmp_path / name, count)
    if not in_zip:
        return path
    target = tmp_path / f"{kind}.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(path, name)
    path.unlink()
    return target


def whole_and_split(path: Path, split_bytes: int, scratch: Path):
    archive = Archive(path)
    reader = detect(archive)
    context, _ = reader.context(archive)
    (member,) = reader.units(archive)
    with archive.open(member) as fh:
        whole = list(reader.read(fh, member, context))
    streams, jobs, extras = split.plan(archive, reader, context, reader.streams(archive), split_bytes)
    assert streams == [], "the member should have been split"
    ranges = [job for job in jobs if isinstance(job, split.Range)]
    summaries = [split.read_range(archive, reader, context, extras[member], job, str(scratch)) for job in ranges]
    settled = split.settled(reader, member, context, extras[member], summaries, str(scratch))
    return archive, member, whole, ranges, summaries, settled


def as_text(record) -> str:
    return json.dumps(record, sort_keys=True) if isinstance(record, dict) else repr(record)


def pointer(record) -> str:
    return record.pointer if isinstance(record, DeadLetter) else record["source"]["pointer"]


@pytest.mark.parametrize("in_zip", [False, True], ids=["file", "zip-member"])
@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_every_record_is_read_once_and_equals_the_whole_read(kind, in_zip, tmp_path):
    path = export(tmp_path, kind, in_zip)
    archive, member, whole, ranges, summaries, settled = whole_and_split(path, 20_000, tmp_path / "scratch")
    assert len(ranges) >= 10
    assert settled is not None, summaries
    got = list(settled)
    assert [as_text(r) for r in got] == [as_text(r) for r in whole]
    pointers = [pointer(r) for r in got if pointer(r)]
    assert len(pointers) == len(set(pointers)) or kind == "mattermost"  # a post and its replies share a line
    assert sum(isinstance(r, DeadLetter) for r in got) > 0
    assert len({r["conversation"]["id"] for r in got if isinstance(r, dict)}) > 1 or kind == "whatsapp"


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_pointers_name_where_the_record_starts_in_the_file(kind, tmp_path):
    path = export(tmp_path, kind)
    data = path.read_bytes()
    lines = data.split(b"\n")
    _, _, _, _, _, settled = whole_and_split(path, 15_000, tmp_path / "scratch")
    for record in settled:
        if not isinstance(record, dict):
            continue
        where = record["source"]["pointer"]
        if kind == "mbox":
            offset = int(where.removeprefix("offset:"))
            assert data[offset:offset + 5] == b"From "
            assert record["message"]["id"] in data[offset:offset + 2000].decode() or "noid" in record["message"][
                "id"] or record["message"]["id"].rsplit("-", 1)[0] in data[offset:offset + 2000].decode()
        elif kind == "whatsapp":
            line = lines[int(where.removeprefix("line:")) - 1].decode()
            assert HEADER.match(clean(line)) and (record["author"]["name"] in line or record["message"]["kind"] ==
                                                  "system"), (where, line)
        else:
            number, _, reply = where.removeprefix("line:").partition("/replies/")
            line = json.loads(lines[int(number) - 1])
            post = line[line["type"]]
            said = post["replies"][int(reply)]["message"] if reply else post["message"]
            assert said == record["message"]["text"], (where, line)


def test_a_declared_length_across_a_cut_has_the_mailbox_read_whole(tmp_path):
    """A mail whose Content-Length body holds what looks like the next mail: a cut there cannot be trusted."""
    inner = "".join(f"\n\nFrom someone@x Mon Jan  1 00:00:{i:02d} 2024\nSubject: inside {i}\n\nquoted\n"
                    for i in range(30))
    mails = [f"From a@x Mon Jan  1 00:00:00 2024\nFrom: a@x\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n"
             f"Message-ID: <big@x>\nSubject: big\nContent-Length: {len(inner.encode())}\n\n{inner}\n"]
    mails += [f"From b@x Mon Jan  1 00:01:00 2024\nFrom: b@x\nDate: Mon, 1 Jan 2024 00:01:{i % 60:02d} +0000\n"
              f"Message-ID: <n{i}@x>\nSubject: next {i}\n\nbody {i}\n\n" for i in range(200)]
    path = tmp_path / "box.mbox"
    path.write_text("".join(mails))
    archive, member, whole, ranges, summaries, settled = whole_and_split(path, 600, tmp_path / "scratch")
    assert any(not s["clean_end"] for s in summaries[:-1])
    assert settled is None  # the member is read whole instead
    assert sum(isinstance(r, dict) for r in whole) == 201


def test_a_mattermost_metadata_line_after_the_first_posts_has_the_export_read_whole(tmp_path):
    path = write_mattermost(tmp_path / "export.jsonl", 2000)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"type": "user", "user": {"username": "late", "first_name": "Late"}}) + "\n")
        for i in range(300):
            fh.write(json.dumps({"type": "post", "post": {"team": "t", "channel": "ml", "user": "late",
                                                          "create_at": (T0 + i) * 1000, "message": f"p{i}"}}) + "\n")
    _, _, _, _, summaries, settled = whole_and_split(path, 10_000, tmp_path / "scratch")
    assert any(s["learned"] for s in summaries[:-1])
    assert settled is None


def test_a_scan_on_two_workers_with_ranges_gives_the_whole_reads_outputs(tmp_path):
    path = write_mbox(tmp_path / "mail.mbox", 1200)
    outs = {}
    for name, options in (("whole", ["--split-bytes=0", "--direct_running_mode=in_memory"]),
                          ("ranges", ["--split-bytes=40000", "--direct_running_mode=multi_processing",
                                      "--direct_num_workers=2"])):
        outs[name] = tmp_path / name
        assert run(["--input", str(path), "--out", str(outs[name]), "--no-index", "--quiet", *options]) == 0
    for file in ("hits.jsonl", "cases.jsonl", "errors.jsonl"):
        assert (outs["ranges"] / file).read_bytes() == (outs["whole"] / file).read_bytes(), file
    manifests = {name: json.loads((out / "manifest.json").read_text()) for name, out in outs.items()}
    (split_member,) = manifests["ranges"]["members"]
    assert split_member.pop("ranges") >= 5  # it was read in ranges, not whole
    for key in ("counts", "members", "run", "input"):
        assert manifests["ranges"][key] == manifests["whole"][key], key
    assert manifests["whole"]["counts"]["hits"] > 0 and manifests["whole"]["counts"]["malformed"] > 0
    assert not list(outs["ranges"].glob(".work-*"))  # the spools went with the run's scratch
