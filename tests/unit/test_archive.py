"""Hostile exports: climbing names, zip bombs, nested ZIPs, bad bytes, and fuzzed member contents."""

import io
import os
import struct
import time
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.archive import Archive, Limits, UnsafeMember
from pipelines.ingest.base import DeadLetter, Merged
from pipelines.ingest.discord import DiscordReader
from pipelines.ingest.mbox import MboxReader
from pipelines.ingest.slack import SlackReader
from pipelines.ingest.telegram import TelegramReader
from pipelines.ingest.whatsapp import WhatsAppReader
from tests.helpers.readers import EXPORTS, read_export, zip_folder
from tests.helpers.slack import CONCEALMENT_DAY, write_slack

CHAT = b"31/12/2023, 21:41 - A: hello\n"


def write_zip(path, members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), data, compress_type=compression)
    return path


def test_climbing_names_are_refused_and_never_opened(tmp_path):
    path = write_zip(tmp_path / "x.zip", {"../evil": b"x", "/etc/passwd": b"x", "..\\win": b"x", "C:/boot.ini": b"x",
                                           "a/../../b": b"x", "ok\\_chat.txt": CHAT})
    archive = Archive(path)
    assert list(archive.members()) == ["ok/_chat.txt"]  # a Windows-made name is normalised, not refused
    assert sorted(name for name, _ in archive.refused) == sorted(["../evil", "/etc/passwd", "..\\win", "C:/boot.ini",
                                                                 "a/../../b"])
    assert all("unsafe path" in reason for _, reason in archive.refused)
    assert archive.read_bytes("ok/_chat.txt") == CHAT
    with pytest.raises(UnsafeMember):
        archive.open("../evil")


def test_absurd_ratio_is_refused_other_members_read(tmp_path):
    path = write_zip(tmp_path / "bomb.zip", {"zeros.json": bytes(8 << 20), "_chat.txt": CHAT})
    archive = Archive(path)
    assert list(archive.members()) == ["_chat.txt"]
    assert archive.refused[0][0] == "zeros.json" and "zip bomb" in archive.refused[0][1]
    _, messages, _, _ = read_export(path)
    assert len(messages) == 1


def _patch_declared_size(path, name: bytes, size: int) -> None:
    """Lie about a member's uncompressed size in both the local header and the central directory."""
    data = bytearray(path.read_bytes())
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (start := data.find(signature, start)) != -1:
            name_at = 30 if signature == b"PK\x03\x04" else 46
            name_len = struct.unpack_from("<H", data, start + (26 if signature == b"PK\x03\x04" else 28))[0]
            if bytes(data[start + name_at:start + name_at + name_len]) == name:
                struct.pack_into("<I", data, start + size_at, size)
            start += 4
    path.write_bytes(bytes(data))


def test_member_inflating_past_its_declared_size_stops_with_a_clear_error(tmp_path):
    path = write_zip(tmp_path / "liar.zip", {"big/_chat.txt": CHAT * 5000, "_chat.txt": CHAT})
    _patch_declared_size(path, b"big/_chat.txt", 100)
    archive = Archive(path)
    assert archive.members()["big/_chat.txt"].size == 100
    with pytest.raises(UnsafeMember, match="inflates beyond its declared size"), archive.open("big/_chat.txt") as fh:
        fh.read()
    assert archive.read_bytes("_chat.txt") == CHAT


def test_member_caps_come_from_limits(tmp_path):
    path = write_zip(tmp_path / "caps.zip", {"a.txt": b"x" * 5000, "_chat.txt": CHAT})
    archive = Archive(path, Limits(max_member_bytes=1000))
    assert list(archive.members()) == ["_chat.txt"] and "per-member cap" in archive.refused[0][1]
    total = Archive(path, Limits(max_total_bytes=len(CHAT)))
    assert list(total.members()) == ["_chat.txt"] and "total" in total.refused[0][1]
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "big.txt").write_bytes(b"x" * 5000)
    folder = Archive(tmp_path / "folder", Limits(max_member_bytes=1000))
    assert folder.members() == {} and folder.refused == [("big.txt", "size 5000 exceeds the per-member cap")]


def test_nested_zip_members_are_offered_as_outer_bang_inner(tmp_path):
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("chat/_chat.txt", CHAT)
        zf.writestr("../escape.txt", b"x")
        zf.writestr("deeper.zip", b"PK\x05\x06" + bytes(18))
    path = write_zip(tmp_path / "outer.zip", {"exports/wa.zip": inner.getvalue(), "readme.md": b"hi"})
    archive = Archive(path)
    assert list(archive.members()) == ["exports/wa.zip!chat/_chat.txt", "readme.md"]
    assert dict(archive.refused) == {"exports/wa.zip!../escape.txt": "unsafe path (absolute or climbs out of the "
                                                                     "archive)",
                                     "exports/wa.zip!deeper.zip": "a ZIP nested two levels deep is not opened"}
    assert archive.read_bytes("exports/wa.zip!chat/_chat.txt") == CHAT
    _, messages, _, _ = read_export(path)
    assert messages[0]["source"]["path"] == "exports/wa.zip!chat/_chat.txt"


def test_nested_zip_over_the_memory_cap_is_refused(tmp_path):
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("_chat.txt", CHAT * 100)
    path = write_zip(tmp_path / "outer.zip", {"wa.zip": inner.getvalue(), "_chat.txt": CHAT}, zipfile.ZIP_STORED)
    archive = Archive(path, Limits(max_nested_bytes=1000))
    assert list(archive.members()) == ["_chat.txt"]
    assert archive.refused[0][0] == "wa.zip" and "in-memory cap" in archive.refused[0][1]
    broken = write_zip(tmp_path / "broken.zip", {"wa.zip": b"PK\x03\x04 not a zip", "_chat.txt": CHAT})
    archive = Archive(broken)
    assert list(archive.members()) == ["_chat.txt"] and "cannot be opened" in archive.refused[0][1]


def test_invalid_utf8_in_a_day_file_is_replaced_and_read(tmp_path):
    folder = write_slack(tmp_path / "slack", {"ml-platform/2024-05-01": CONCEALMENT_DAY})
    day = folder / "ml-platform" / "2024-05-01.json"
    day.write_bytes(day.read_bytes().replace(b"lunch at noon?", b"lunch at noon\xff\xfe?"))
    _, messages, _, dead = read_export(zip_folder(folder, tmp_path / "slack.zip"))
    assert dead == [] and len(messages) == 5
    assert messages[-1]["message"]["text"] == "lunch at noon\ufffd\ufffd?"


def test_symlinks_in_a_folder_are_refused(tmp_path):
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "_chat.txt").write_bytes(CHAT)
    (tmp_path / "export" / "link.txt").symlink_to("/etc/hostname")
    archive = Archive(tmp_path / "export")
    assert list(archive.members()) == ["_chat.txt"] and archive.refused[0][0] == "link.txt"


def test_a_symlinked_folder_is_refused_and_reported_not_skipped_unseen(tmp_path):
    """os.walk lists a linked folder and never enters it: a whole channel vanished without a word."""
    elsewhere = tmp_path / "elsewhere" / "secret-channel"
    elsewhere.mkdir(parents=True)
    (elsewhere / "2025-03-05.json").write_text("[]")
    export = tmp_path / "export"
    (export / "general").mkdir(parents=True)
    (export / "general" / "2025-03-05.json").write_text("[]")
    (export / "secret-channel").symlink_to(elsewhere, target_is_directory=True)
    archive = Archive(export)
    assert list(archive.members()) == ["general/2025-03-05.json"]
    assert archive.refused == [("secret-channel", "symbolic link to a folder not followed (it may point outside "
                                                  "the export)")]


def test_a_run_reports_every_refusal_even_when_nothing_is_left_to_read(tmp_path):
    """A ZIP nested two deep, or an export that is only a linked folder: the error line says why."""
    from pipelines.ingest import UnknownFormat, detect

    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("channels.json", "[]")
        z.writestr("general/2025-03-05.json", "[]")
    middle = tmp_path / "middle.zip"
    with zipfile.ZipFile(middle, "w") as z:
        z.write(inner, "inner.zip")
    outer = tmp_path / "outer.zip"
    with zipfile.ZipFile(outer, "w") as z:
        z.write(middle, "middle.zip")
    with pytest.raises(UnknownFormat, match="0 files seen; 1 refused, e.g. middle.zip!inner.zip: a ZIP nested two "
                                            "levels deep is not opened"):
        detect(Archive(outer))
    folder = tmp_path / "linked"
    folder.mkdir()
    (folder / "general").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (tmp_path / "elsewhere").mkdir()
    with pytest.raises(UnknownFormat, match="1 refused, e.g. general: symbolic link to a folder not followed"):
        detect(Archive(folder))


def test_special_files_in_a_folder_are_refused_not_read(tmp_path):
    """A FIFO would hang the run (reading it waits for a writer); it is reported, the rest is read."""
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "_chat.txt").write_bytes(CHAT)
    os.mkfifo(tmp_path / "export" / "pipe.txt")
    archive = Archive(tmp_path / "export")
    assert list(archive.members()) == ["_chat.txt"]
    assert archive.refused == [("pipe.txt", "not a regular file (a FIFO, socket or device)")]


SAMPLES = {
    TelegramReader: ("result.json", (EXPORTS / "telegram" / "single" / "result.json").read_bytes()[:1500]),
    DiscordReader: ("c.json", (EXPORTS / "discord" / "server" / "Acme - ml-platform - audit prep [800].json")
                    .read_bytes()),
    WhatsAppReader: ("_chat.txt", (EXPORTS / "whatsapp" / "android" / "WhatsApp Chat with Project X.txt")
                     .read_bytes()),
    MboxReader: ("inbox", (EXPORTS / "email" / "mbox" / "inbox").read_bytes()[:1600]),
    SlackReader: ("general/2024-05-01.json",
                  b'[{"type": "message", "user": "U1", "text": "hi", "ts": "1714557600.0"}]'),
}
SLACK_CONTEXT = {"users": {}, "conversations": {}, "root": ""}


@st.composite
def mutated(draw):
    reader = draw(st.sampled_from(sorted(SAMPLES, key=lambda r: r.platform)))
    name, data = SAMPLES[reader]
    data = bytearray(data)
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        action = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        if action == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif action == "delete":
            del data[at:at + draw(st.integers(1, 16))]
        else:
            del data[at:]
    return reader, name, bytes(data)


@settings(max_examples=60, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_readers_never_raise_on_mutated_input(case):
    reader_class, name, data = case
    context = SLACK_CONTEXT if reader_class is SlackReader else {"archive_name": "fuzz"}
    started = time.monotonic()
    records = list(reader_class().read(io.BytesIO(data), name, context))
    assert time.monotonic() - started < 2
    assert all(isinstance(r, dict | Merged | DeadLetter) for r in records)


def test_a_duplicate_member_name_is_refused_not_silently_merged(tmp_path):
    import warnings
    import zipfile

    from pipelines.archive import Archive

    target = tmp_path / "dup.zip"
    with warnings.catch_warnings(), zipfile.ZipFile(target, "w") as zf:
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name, which is the point
        zf.writestr("general/2024-05-01.json", "[]")
        zf.writestr("general/./2024-05-01.json", "[1]")
    archive = Archive(target)
    assert list(archive.members()) == ["general/2024-05-01.json"]
    assert archive.refused == [("general/2024-05-01.json", "duplicate member path (one of them is refused)")]
