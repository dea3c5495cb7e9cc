"""The nesting guard: every value deeper than the limit becomes null, nothing else changes, at any chunking."""

from __future__ import annotations

import io
import json
import random

import pytest

from pipelines.archive import Archive
from pipelines.ingest.base import DeadLetter
from pipelines.ingest.parsing import NestingGuard
from pipelines.ingest.slack import SlackReader
from pipelines.ingest.telegram import TelegramReader
from tests.helpers.slack import write_slack

TRICKY = ['a"b', "x\\", "\\\\", "[[{", "]}]", '\\"[', "换成 ]", ""]


class Trickle(io.RawIOBase):
    """Hands out a few bytes per read, so chunk edges fall inside strings, escapes and brackets."""

    def __init__(self, data: bytes, step: int):
        self._data, self._step = data, step

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        piece, self._data = self._data[: self._step], self._data[self._step:]
        return piece


def _value(rng: random.Random, depth: int):
    roll = rng.random()
    if depth > 12 or roll < 0.3:
        return rng.choice(TRICKY + [1, 2.5, None, True])
    if roll < 0.65:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(TRICKY) + str(i): _value(rng, depth + 1) for i in range(rng.randint(0, 3))}


def _capped(value, limit: int, depth: int = 0):
    if not isinstance(value, (list, dict)):
        return value
    if depth + 1 > limit:
        return None
    if isinstance(value, list):
        return [_capped(v, limit, depth + 1) for v in value]
    return {k: _capped(v, limit, depth + 1) for k, v in value.items()}


def _count_deep(value, limit: int, depth: int = 0) -> int:
    if not isinstance(value, (list, dict)):
        return 0
    if depth + 1 > limit:
        return 1
    children = value if isinstance(value, list) else value.values()
    return sum(_count_deep(v, limit, depth + 1) for v in children)


@pytest.mark.parametrize("seed", range(40))
def test_values_past_the_limit_become_null_and_nothing_else_changes(seed):
    rng = random.Random(seed)
    value = [_value(rng, 1) for _ in range(6)]
    raw = json.dumps(value, ensure_ascii=seed % 2 == 0).encode()
    limit = rng.randint(2, 6)
    guard = NestingGuard(Trickle(raw, rng.choice([1, 2, 3, 7, 64])), limit)
    assert json.loads(guard.read()) == _capped(value, limit)
    assert len(guard.dropped) == _count_deep(value, limit)
    assert all(raw[offset:offset + 1] in (b"[", b"{") and raw[offset + length - 1:offset + length] in (b"]", b"}")
               for offset, length in guard.dropped)


def test_json_within_the_limit_passes_byte_for_byte():
    raw = json.dumps([{"text": 'say "hi" \\ [x]', "blocks": [[[{"a": [1]}]]]}] * 500).encode()
    guard = NestingGuard(Trickle(raw, 5000), 7)  # the deepest list opens level 7
    assert guard.read() == raw and guard.dropped == []


def _read(reader, folder, member):
    archive = Archive(str(folder))
    context, _ = reader.context(archive)
    with archive.open(member) as stream:
        return list(reader.read(stream, member, context))


def test_a_telegram_message_nested_30000_deep_loses_only_its_deep_part(tmp_path):
    from benchmarks.hugefile import write_deep_telegram

    records = _read(TelegramReader(), write_deep_telegram(tmp_path / "tg", 30_000), "result.json")
    messages = [r for r in records if isinstance(r, dict)]
    letters = [r for r in records if isinstance(r, DeadLetter)]
    assert [m["message"]["id"] for m in messages] == ["1", "2", "3", "4"]
    assert [m["message"]["text"] for m in messages if m["message"]["id"] != "2"] == [
        f"message {i} about the eval run" for i in (0, 2, 3)]
    assert len(letters) == 1 and letters[0].pointer.startswith("byte ") and "deeper than 1000" in letters[0].reason


def test_a_slack_day_file_with_a_deep_value_keeps_every_message(tmp_path):
    deep = "[" * 5000 + "]" * 5000
    items = [f'{{"type": "message", "user": "U1", "ts": "17096328{i:02d}.000100", "text": "hello {i}"'
             + (f', "blocks": {deep}' if i == 1 else "") + "}" for i in range(4)]
    export = write_slack(tmp_path / "slack", {"general/2024-03-05": "[" + ",".join(items) + "]"},
                         users=[{"id": "U1", "name": "ann"}], channels=[{"id": "C1", "name": "general"}])
    records = _read(SlackReader(), export, "general/2024-03-05.json")
    assert [r["message"]["text"] for r in records if isinstance(r, dict)] == [f"hello {i}" for i in range(4)]
    assert [type(r) for r in records if not isinstance(r, dict)] == [DeadLetter]
