"""Context masked late (on hits only) is the context masked early, and unmasked context never leaves."""

import pytest

from analyzers.rules import load_ruleset
from analyzers.screening import Screener
from pipelines import documents
from pipelines.ingest.base import new_message

TEXTS = [
    "mail me at alice@example.com about lunch",
    "we have 40k completions from gpt-4o for the fine-tune",
    "call +1 415 555 0134 if the build breaks",
    "scrub anything that says OpenAI before the audit, my key is sk-proj-abcdefghijklmnop1234",
    "ok",
]


def batch() -> list[dict]:
    return [new_message(platform="slack", message_id=str(i), text=text, timestamp=1714557600.0 + i,
                        raw_timestamp=str(i), conversation={"id": "C1", "name": "ml", "type": "channel"},
                        author={"id": "U1", "name": "alice"}, source={"path": "ml/2024-05-01.json"})
            for i, text in enumerate(TEXTS)]


@pytest.fixture(scope="module")
def screener():
    return Screener(load_ruleset(None))


def test_masking_context_late_gives_what_masking_it_early_gives(screener):
    early = screener.screen(batch())
    late = screener.screen(batch(), defer_context=True)
    assert early and [c["doc"] for c in late] == [c["doc"] for c in early]
    assert any("language" in item for c in late for item in c["context"])
    cleaned: dict = {}
    assert [screener.clean_context(c["context"], cleaned) for c in late] == [c["context"] for c in early]
    assert "alice@example.com" not in str([c["context"] for c in early])


def test_hits_never_leave_with_unmasked_context():
    found = {"hit": {"id": "h"}, "context": [{"id": "1", "text": "alice@example.com", "language": "en"}]}
    with pytest.raises(ValueError, match="unmasked"):
        documents.hit(found, "run-x")
