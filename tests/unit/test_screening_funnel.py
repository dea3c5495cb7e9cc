"""The funnel: what becomes a candidate, what pays for Presidio, and what masked placeholders may say."""

import pytest

from analyzers.matcher import Matcher
from analyzers.rules import load_ruleset
from analyzers.screening import Screener
from pipelines.ingest.base import new_message

KEY = "sk-proj-Ab3dE5gH7jK9mN1pQ3rS5tU7vW9xY1zA3bC5dE7fG9hJ1kL3"


class CountingFinder:
    """An EntityFinder stand-in that records which texts were sent to it (Presidio is the costly step)."""

    IDENTITIES = ("U1", "alice", "ml")  # author id and name, conversation name: masked once per worker

    def __init__(self):
        self.seen: list[str] = []

    def find(self, text, language):
        if text not in self.IDENTITIES:
            self.seen.append(text)
        start = text.find(KEY)
        return [{"type": "API_KEY_OPENAI", "score": 1.0, "start": start, "end": start + len(KEY)}] if start >= 0 else []


def messages(*texts: str) -> list[dict]:
    return [new_message(platform="slack", message_id=str(i), text=text, timestamp=1714557600.0 + i,
                        raw_timestamp=str(i), conversation={"id": "C1", "name": "ml", "type": "channel"},
                        author={"id": "U1", "name": "alice"}, source={"path": "ml/2024-05-01.json"})
                for i, text in enumerate(texts)]


@pytest.fixture(scope="module")
def ruleset():
    return load_ruleset(None)


@pytest.fixture()
def screener(ruleset):
    return Screener(ruleset, finder=CountingFinder())


@pytest.mark.parametrize("text", [
    "deployed :white_check_mark: thanks",  # 'mark' inside an emoji shortcode
    "we must never hide it from anyone",  # hiding cancelled by a negation
    "I'll call you after lunch",  # an anchor that wakes no pattern
])
def test_emoji_negated_hiding_and_idle_anchors_are_not_candidates(screener, text):
    assert screener.screen(messages(text)) == []
    assert screener.finder.seen == []


@pytest.mark.parametrize("text", ["the incident postmortem is on Friday, cc alice@example.com",
                                  "周五给她准备个生日惊喜"])
def test_context_terms_alone_give_a_bare_legitimacy_signal_without_presidio(screener, text):
    [signal] = screener.screen(messages(text))
    assert {m["category"] for m in signal["matches"]} == {"LEGITIMACY"}
    assert signal["doc"]["message"]["text"] == "" and signal["context"] == [] and signal["entities"] == []
    assert screener.finder.seen == []


def test_a_scoring_term_makes_a_candidate_and_its_context_terms_still_count(screener):
    [candidate] = screener.screen(messages("legal signed off, we scrub the source tags from the gpt-4o outputs"))
    categories = {m["category"] for m in candidate["matches"]}
    assert {"LEGITIMACY", "CONCEALMENT", "THIRD_PARTY_API"} <= categories
    assert len(screener.finder.seen) == 1


def test_masked_placeholders_are_invisible_to_the_rules(screener):
    [candidate] = screener.screen(messages(f"the export still has {KEY} in it, scrub the logs"))
    assert KEY not in candidate["doc"]["message"]["text"]
    assert "<API_KEY_OPENAI>" in candidate["doc"]["message"]["text"]
    assert {m["rule"] for m in candidate["matches"]} == {"conceal.sanitize_source"}


def test_a_message_whose_only_signal_was_its_secret_is_dropped(screener):
    assert screener.screen(messages(f"token for the staging box: {KEY}")) == []


def test_the_matcher_drops_matches_inside_hidden_spans(ruleset):
    matcher = Matcher(ruleset)
    text = "paste <API_KEY_OPENAI> here and scrub the source"
    hidden = [(6, 22)]
    assert "api.vendor_openai" in {m.rule for m in matcher.match(text)}
    assert "api.vendor_openai" not in {m.rule for m in matcher.match(text, hidden=hidden)}
    assert "conceal.sanitize_source" in {m.rule for m in matcher.match(text, hidden=hidden)}


def test_an_address_used_as_author_or_conversation_name_is_masked_but_people_stay_apart(ruleset):
    class AddressFinder:
        def find(self, text, language):
            at = text.find("@")
            return [{"type": "EMAIL_ADDRESS", "score": 1.0, "start": 0, "end": len(text)}] if at > 0 else []

    screener = Screener(ruleset, finder=AddressFinder())
    batch = messages("we scrub the source tags from the gpt-4o outputs", "ok, scrub the openai tags")
    batch[0]["author"] = {"id": "a@corp.example", "name": "a@corp.example", "email": "a@corp.example"}
    batch[1]["author"] = {"id": "b@corp.example", "name": "b@corp.example", "email": None}
    batch[0]["conversation"]["name"] = "DM: a@corp.example, b@corp.example"
    docs = [c["doc"] for c in screener.screen(batch)]
    assert all("corp.example" not in repr(doc["author"]) + doc["conversation"]["name"] for doc in docs)
    assert docs[0]["author"]["name"].startswith("<EMAIL_ADDRESS>#")
    assert docs[0]["author"]["name"] != docs[1]["author"]["name"]
