"""EntityFinder / mask: end-to-end over the offline Presidio engine."""

from __future__ import annotations

import json
import os
import random
import socket
import string
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from analyzers.entities import (
    ENTITY_KINDS,
    EntityFinder,
    FastLemmaContextAwareEnhancer,
    _resolve_overlaps,
    mask,
)

ROOT = Path(__file__).resolve().parents[2]

_RNG = random.Random(7)
B62 = string.ascii_letters + string.digits
OPENAI_KEY = "sk-proj-" + "".join(_RNG.choice(B62 + "-_") for _ in range(156))
ANTHROPIC_KEY = "sk-ant-api03-" + "".join(_RNG.choice(B62 + "-_") for _ in range(93)) + "AA"
GOOGLE_KEY = "AIza" + "".join(_RNG.choice(B62 + "-_") for _ in range(35))
GENERIC_VALUE = "".join(_RNG.choice(B62) for _ in range(40))


@pytest.fixture(scope="module")
def finder() -> EntityFinder:
    return EntityFinder()


def spans(text: str, entities: list[dict]) -> list[tuple[str, str, str]]:
    return [(e["type"], e["kind"], text[e["start"] : e["end"]]) for e in entities]


def test_english_message(finder):
    text = f"Use OPENAI_API_KEY={OPENAI_KEY} or mail bob.smith@acme.co.uk / +1 212-555-0123."
    found = finder.find(text, "en")
    assert spans(text, found) == [
        ("API_KEY_OPENAI", "secret", OPENAI_KEY),
        ("EMAIL_ADDRESS", "pii", "bob.smith@acme.co.uk"),
        ("PHONE_NUMBER", "pii", "+1 212-555-0123"),
    ]
    for ent in found:
        assert set(ent) == {"type", "kind", "score", "start", "end"}
        assert 0.4 <= ent["score"] <= 1.0 and ent["score"] == round(ent["score"], 3)


def test_chinese_message_with_key_phone_email_endpoint(finder):
    text = (
        f"老板别说出去，我用的是DeepSeek，接口https://api.deepseek.com/v1，密钥是{OPENAI_KEY}，"
        "有问题打我电话13812345678或发邮件到zhang.san@corp.cn。"
    )
    assert spans(text, finder.find(text, "zh")) == [
        ("VENDOR_ENDPOINT", "endpoint", "https://api.deepseek.com/v1"),
        ("API_KEY_OPENAI", "secret", OPENAI_KEY),
        ("CN_MOBILE_NUMBER", "pii", "13812345678"),
        ("EMAIL_ADDRESS", "pii", "zhang.san@corp.cn"),
    ]


def test_prc_resident_id(finder):
    text = "身份证号11010519491231002X，另一个11010519491231002 1 不是"
    assert spans(text, finder.find(text, "zh")) == [("CN_RESIDENT_ID", "pii", "11010519491231002X")]


@pytest.mark.parametrize("language", ["mixed", "zh-Hans", "ja", None])
def test_non_english_languages_use_the_zh_set(finder, language):
    text = f"帮我看看 this config: ANTHROPIC_API_KEY={ANTHROPIC_KEY} 谢谢"
    assert finder.find(text, language) == finder.find(text, "zh")
    assert [e["type"] for e in finder.find(text, language)] == ["API_KEY_ANTHROPIC"]


def test_english_only_finder_accepts_any_language():
    en_only = EntityFinder(languages=("en",))
    text = f"key={GOOGLE_KEY}"
    assert en_only.resolve_language("zh") == "en"
    assert [e["type"] for e in en_only.find(text, "zh")] == ["API_KEY_GOOGLE"]


@pytest.mark.parametrize(
    "text, expected_type",
    [
        # specific vendor recognizers beat the generic assignment / bearer ones on the same span
        (f"OPENAI_API_KEY={OPENAI_KEY}", "API_KEY_OPENAI"),
        (f"Authorization: Bearer {ANTHROPIC_KEY}", "API_KEY_ANTHROPIC"),
        (f"api_key: {GOOGLE_KEY}", "API_KEY_GOOGLE"),
        (f"api_key: {GENERIC_VALUE}", "API_KEY_GENERIC"),
        (f"Authorization: Bearer {GENERIC_VALUE}", "BEARER_TOKEN"),
    ],
)
def test_overlaps_resolved_to_one_entity(finder, text, expected_type):
    found = finder.find(text, "en")
    assert [e["type"] for e in found] == [expected_type]
    assert all(a["end"] <= b["start"] for a, b in zip(found, found[1:], strict=False))


def test_query_string_key_is_separate_from_endpoint(finder):
    url = "https://generativelanguage.googleapis.com/v1beta/models/gemini-pro:generateContent"
    text = f"curl '{url}?key={GOOGLE_KEY}'"
    assert spans(text, finder.find(text, "en")) == [
        ("VENDOR_ENDPOINT", "endpoint", url),
        ("API_KEY_GOOGLE", "secret", GOOGLE_KEY),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "Let's sync on the roadmap after lunch, ok?",
        "set OPENAI_API_KEY=sk-... and pip install scikit-learn; sk-learn is a typo; task-42 done",
        "the key is sk-your-key-here, replace sk-xxxx with yours",
        "flags = 0b1010101010101010, mask = 0xFFFF0000FFFF0000",
        "see openai.com and platform.openai.com/docs",
        "今天下午三点开会，请大家准时参加。",
    ],
)
def test_nothing_found(finder, text):
    assert finder.find(text, "en") == []
    assert finder.find(text, "zh") == []


def test_find_is_deterministic(finder):
    text = f"ping bob@acme.com, key {OPENAI_KEY}, host api.openai.com, tel 13812345678"
    first = finder.find(text, "zh")
    assert all(finder.find(text, "zh") == first for _ in range(5))
    assert first == sorted(first, key=lambda e: e["start"])


def _ent(type_, score, start, end):
    return {"type": type_, "kind": ENTITY_KINDS[type_], "score": score, "start": start, "end": end}


def test_resolve_overlaps_prefers_score_then_length_then_specific_type():
    found = [
        _ent("API_KEY_GENERIC", 0.5, 10, 50),
        _ent("API_KEY_OPENAI", 0.9, 10, 50),
        _ent("PHONE_NUMBER", 0.4, 20, 31),  # inside the key
        _ent("EMAIL_ADDRESS", 1.0, 60, 70),
        _ent("IP_ADDRESS", 0.6, 65, 75),  # crosses the e-mail's end
        _ent("CN_MOBILE_NUMBER", 0.5, 80, 91),
        _ent("PHONE_NUMBER", 0.5, 80, 91),  # same span and score: specific type wins
        _ent("BEARER_TOKEN", 0.55, 0, 5),
    ]
    assert [(e["type"], e["start"]) for e in _resolve_overlaps(found)] == [
        ("BEARER_TOKEN", 0),
        ("API_KEY_OPENAI", 10),
        ("EMAIL_ADDRESS", 60),
        ("CN_MOBILE_NUMBER", 80),
    ]
    assert _resolve_overlaps(list(reversed(found))) == _resolve_overlaps(found)


def test_fast_token_lookup_matches_presidio(finder):
    from presidio_analyzer import LemmaContextAwareEnhancer

    for lang, text in (
        ("en", "hello   world, call 555-1234 now!!  ok"),
        ("zh", "我的电话13812345678 ok 邮箱a@b.com"),
    ):
        doc = finder.nlp_engine.nlp[lang](text)
        idx = [t.idx for t in doc]
        for start in range(len(text) + 1):
            outcomes = []
            for impl in (LemmaContextAwareEnhancer, FastLemmaContextAwareEnhancer):
                try:
                    outcomes.append(impl._find_index_of_match_token("w", start, doc, idx))
                except ValueError:
                    outcomes.append("not found")
            assert outcomes[0] == outcomes[1], (lang, start)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_long_entity_dense_paste_stays_fast(finder, language):
    import time

    text = "你好，电话13812345678，邮箱a@b.com。 " * 1000  # ~30 KB, 2,000 entities
    began = time.perf_counter()
    found = finder.find(text, language)
    assert len(found) == 2000
    assert time.perf_counter() - began < 10  # was ~20 s with Presidio's quadratic context lookup


def test_every_entity_type_has_a_kind(finder):
    assert set(ENTITY_KINDS.values()) == {"secret", "pii", "endpoint"}
    for lang in finder.languages:
        assert set(finder.analyzer.get_supported_entities(lang)) <= ENTITY_KINDS.keys()
    assert all(t.startswith(("API_KEY_", "BEARER_")) or t in ("JWT", "PRIVATE_KEY")
               for t, k in ENTITY_KINDS.items() if k == "secret")


def test_mask_secrets_only_by_default(finder):
    text = f"key={OPENAI_KEY} endpoint https://api.openai.com/v1 mail bob@acme.com"
    ents = finder.find(text, "en")
    assert mask(text, ents) == "key=<API_KEY_OPENAI> endpoint https://api.openai.com/v1 mail bob@acme.com"
    assert mask(text, ents, kinds=("secret", "pii")) == (
        "key=<API_KEY_OPENAI> endpoint https://api.openai.com/v1 mail <EMAIL_ADDRESS>"
    )
    assert mask(text, ents, kinds=()) == text


def test_mask_chinese_and_adjacent_entities(finder):
    text = f"密钥：{ANTHROPIC_KEY}，手机13812345678 13912345678"
    ents = finder.find(text, "zh")
    assert mask(text, ents, kinds=("secret", "pii")) == (
        "密钥：<API_KEY_ANTHROPIC>，手机<CN_MOBILE_NUMBER> <CN_MOBILE_NUMBER>"
    )
    assert ANTHROPIC_KEY[13:40] not in mask(text, ents)


def test_find_makes_no_network_calls(finder, monkeypatch):
    def deny(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", deny)
    monkeypatch.setattr(socket.socket, "connect_ex", deny)
    monkeypatch.setattr(socket, "getaddrinfo", deny)
    monkeypatch.setattr(socket, "create_connection", deny)
    text = "mail a.b@uni.ac.uk or zhang@corp.com.cn, +44 20 7946 0958"
    assert [e["type"] for e in finder.find(text, "en")] == ["EMAIL_ADDRESS", "EMAIL_ADDRESS", "PHONE_NUMBER"]


_AIRGAP_SCRIPT = textwrap.dedent(
    """
    import json, os, socket

    attempts = []

    def deny(*args, **kwargs):
        attempts.append(repr(args[:2]))
        raise OSError("network disabled by test")

    socket.socket.connect = lambda self, *a, **k: deny(*a)
    socket.socket.connect_ex = lambda self, *a, **k: deny(*a)
    socket.getaddrinfo = deny
    socket.create_connection = deny

    from analyzers.entities import EntityFinder, mask

    finder = EntityFinder()
    found = finder.find("mail bob@acme.co.uk now", "en")
    found += finder.find("邮箱zhang@corp.cn，电话13812345678", "zh")
    ours = list(attempts)
    cache = os.environ["TLDEXTRACT_CACHE"]
    cache_files = [f for _, _, fs in os.walk(cache) for f in fs] if os.path.isdir(cache) else []

    # Canary: the stock tldextract extractor (what Presidio's EmailRecognizer calls) tries to fetch
    # the Public Suffix List. Proves the socket trap above would have caught us.
    import tldextract
    tldextract.extract("bob@acme.co.uk")

    print(json.dumps({"ours": ours, "types": [e["type"] for e in found], "cache_files": cache_files,
                      "canary_attempts": len(attempts) - len(ours)}))
    """
)


def test_construction_and_find_are_air_gapped(tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TLDEXTRACT_CACHE": str(tmp_path / "tldextract-cache"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
    }
    proc = subprocess.run(
        [sys.executable, "-c", _AIRGAP_SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["ours"] == []
    assert report["cache_files"] == []  # nothing written to the tldextract disk cache either
    assert report["types"] == ["EMAIL_ADDRESS", "EMAIL_ADDRESS", "CN_MOBILE_NUMBER"]
    assert report["canary_attempts"] > 0


def _open_gates(finder: EntityFinder):
    """The same finder with its pre-check always open: Presidio on every text, as before the gate."""
    class Open:
        def open(self, text):
            return True

    saved = finder._gates
    finder._gates = {lang: Open() for lang in saved}
    return saved


GATE_TEXTS = [
    "has anyone compared ChatGPT with our internal search?",
    "ping me at ana.lee@example.com or +44 20 7946 0958",
    "retry batch 4821 at 10:30, PR #1234",
    "the key is sk-proj-abcdefghijklmnopqrstuvwxyz0123456789ABCD",
    "host 10.2.3.4 and fe80::1ff:fe23:4567:890a are down",
    "IBAN DE89 3704 0044 0532 0130 00 for the invoice",
    "card 4111 1111 1111 1111 expires 12/26",
    "调用 https://api.openai.com/v1/chat 的 token=abcdEFGH1234567890abcdEFGH",
    "身份证 11010519491231002X 手机 13800138000",
    "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
    "call 1-800-FLOWERS or 030 1234",
]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_gate_before_presidio_changes_no_finding(finder, language):
    """The pre-check only skips Presidio where none of its recognizers could find anything: with it closed
    or open, every text gives the same entities (random texts of digits, '@', key prefixes and words too)."""
    rng = random.Random(11)
    parts = ["sk-", "@", ".com", "+1 ", "0", "7", "4111", "AKIA", "ghp_", "hf_", "xoxb-", "eyJ", " ", "-", ":",
             "key=", "api.openai.com", "的", "13800138000", "DE89", "token ", "Bearer "]
    texts = GATE_TEXTS + ["".join(rng.choice(parts + list(B62)) for _ in range(rng.randint(5, 60)))
                          for _ in range(300)]
    gated = [finder.find(t, language) for t in texts]
    saved = _open_gates(finder)
    try:
        assert [finder.find(t, language) for t in texts] == gated
    finally:
        finder._gates = saved


def test_the_gate_is_closed_for_plain_chat_and_open_for_every_entity_shape(finder):
    gate = finder._gates["en"]
    assert not gate.open("has anyone compared ChatGPT with our internal search? lunch at 12")
    assert all(gate.open(t) for t in GATE_TEXTS[1:])


def test_the_phone_gate_floor_is_the_shortest_valid_number_phonenumbers_knows():
    """PHONE_MIN_DIGITS is a constant (loading every region's metadata at import costs start-up); a
    phonenumbers update that knows a shorter valid number must lower it, or the gate would skip real ones."""
    from phonenumbers import PhoneMetadata
    from phonenumbers.phonenumberutil import COUNTRY_CODES_FOR_NON_GEO_REGIONS, SUPPORTED_REGIONS

    from analyzers.entities import PHONE_MIN_DIGITS

    metadata = [PhoneMetadata.metadata_for_region(r) for r in SUPPORTED_REGIONS] + [
        PhoneMetadata.metadata_for_nongeo_region(cc) for cc in COUNTRY_CODES_FOR_NON_GEO_REGIONS]
    shortest = min(n for md in metadata for n in md.general_desc.possible_length if n > 0)
    assert shortest == PHONE_MIN_DIGITS


def test_fast_context_words_are_presidios(finder):
    """The keyword index gives the words Presidio's token-by-token walk gives, on every token of texts where
    keywords are dense, sparse and absent for long stretches (the 112 s case)."""
    from presidio_analyzer import LemmaContextAwareEnhancer

    from analyzers.entities import _LazyArtifacts

    stock, fast = LemmaContextAwareEnhancer(), FastLemmaContextAwareEnhancer()
    for lang, text in (
        ("en", "call me at 555-1234 or my phone +1 212 555 0100, the key is here, thanks a lot"),
        ("zh", "你好" * 40 + "电话 key 1.1.1.1 " + "好" * 30 + " token 13812345678 完"),
        ("zh", "1." * 200),
    ):
        artifacts = _LazyArtifacts(finder.nlp_engine, text, lang)
        for start in range(0, len(text), 3):
            assert sorted(fast._extract_surrounding_words(artifacts, "w", start)) == sorted(
                stock._extract_surrounding_words(artifacts, "w", start)), (lang, start)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_windows_miss_nothing_at_their_cuts(finder, language):
    """A long text is read in overlapping windows; what lies across a cut is found once, whole, as in a short text."""
    from analyzers.entities import OVERLAP, WINDOW

    planted = ["wei.zhang@example.com", "+49 151 23456789", "4111 1111 1111 1111", "13812345678"]
    for cut in (WINDOW, 2 * WINDOW - OVERLAP):
        for shift in range(-30, 10, 7):
            for value in planted:
                at = cut + shift
                text = "x " * (at // 2) + "a" * (at % 2) + f" {value} " + "y " * 3000
                found = [(e["type"], text[e["start"]:e["end"]]) for e in finder.find(text, language)]
                alone = [(e["type"], v) for e in finder.find(f"x {value} y", language)
                         for v in [f"x {value} y"[e["start"]:e["end"]]]]
                assert found == alone, (language, cut, shift, value, found)


def test_a_secret_longer_than_a_window_is_masked_whole(finder):
    from analyzers.entities import WINDOW

    body = "\n".join("".join(_RNG.choice(B62 + "+/") for _ in range(64)) for _ in range(2 * WINDOW // 64))
    block = f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----"
    text = "x " * (WINDOW // 3) + block + " done"
    found = finder.find(text)
    assert [(e["type"], text[e["start"]:e["end"]]) for e in found] == [("PRIVATE_KEY", block)]
    assert mask(text, found) == "x " * (WINDOW // 3) + "<PRIVATE_KEY> done"
