"""Air-gapped Presidio entity finder: secrets, PII and LLM-vendor endpoints in chat messages.

No model download and no network, ever:

* the NLP engine wraps ``spacy.blank("en")`` / ``spacy.blank("zh")`` (tokenizer only, plus
  the English lookup lemmatizer from ``spacy-lookups-data`` when installed) instead of
  Presidio's default ``en_core_web_lg``, which ``SpacyNlpEngine.load`` would try to
  ``spacy.cli.download``;
* only pattern/rule recognizers are registered (a blank pipeline has no NER, so PERSON /
  LOCATION are out of scope);
* e-mail validation uses an offline ``tldextract`` extractor (bundled Public Suffix List
  snapshot), see ``analyzers.recognizers.offline_email_recognizer``.

Typical use (one finder per worker, e.g. in a Beam ``DoFn.setup``)::

    finder = EntityFinder()
    ents = finder.find("my key is sk-proj-…", language="en")
    safe = mask(text, ents)                      # secrets only
    safer = mask(text, ents, kinds=("secret", "pii"))
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections.abc import Iterable, Sequence
from typing import Any

import regex
import spacy
from phonenumbers.phonenumbermatcher import _PATTERN as PHONE_CANDIDATE
from presidio_analyzer import AnalyzerEngine, LemmaContextAwareEnhancer, PatternRecognizer, RecognizerRegistry
from presidio_analyzer.nlp_engine import NlpArtifacts, SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import IbanRecognizer, PhoneRecognizer
from spacy.language import Language
from spacy.tokens import Doc

from analyzers.nlp import english
from analyzers.recognizers import REGISTRY, build_recognizers
from analyzers.recognizers._base import PII, SECRET  # noqa: F401 (PII: re-exported for screening)
from analyzers.secret_gate import find_secrets

logger = logging.getLogger(__name__)

# What each entity type is (secret, pii or endpoint: see analyzers/recognizers/_base.py), from registry.yaml.
ENTITY_KINDS: dict[str, str] = {r.entity: r.kind for r in REGISTRY}

# On an exact tie (same score, same length) the specific type beats these catch-alls.
_CATCH_ALL_TYPES = frozenset({"API_KEY_GENERIC", "BEARER_TOKEN", "API_KEY_SK_COMPATIBLE", "PHONE_NUMBER"})


def _blank_pipeline(language: str) -> Language:
    """A tokenizer-only spaCy pipeline; nothing is downloaded.

    ``zh`` uses spaCy's default ``char`` segmenter (no jieba/pkuseg needed). English gets
    the lookup lemmatizer from ``spacy-lookups-data`` if present, so Presidio's context
    words ("keys" -> "key") work; it only reads tables bundled in that wheel.
    """
    if language == "en":
        try:
            return english()
        except Exception as exc:  # spacy-lookups-data missing: lemmas fall back to lower-case text
            logger.info("English lookup lemmatizer unavailable (%s); using lower-cased tokens", exc)
    return spacy.blank(language)


class _KeywordList(list):
    """``NlpArtifacts.keywords`` with O(1) membership.

    Presidio's context enhancer tests ``lemma in keywords`` for every token it walks past,
    for every result: quadratic on long entity-dense texts (worst with ``zh``'s
    one-token-per-character segmentation). Still a list, so nothing else changes.
    """

    def __init__(self, items: Iterable[str]):
        super().__init__(items)
        self._members = frozenset(self)

    def __contains__(self, item: object) -> bool:
        return item in self._members


class BlankSpacyNlpEngine(SpacyNlpEngine):
    """``SpacyNlpEngine`` over local blank pipelines (no model package, no NER).

    Tokens feed Presidio's context enhancer; lemmas fall back to the lower-cased token
    when the pipeline has no lemmatizer (Chinese), instead of spaCy's empty string.
    """

    engine_name = "spacy_blank"

    def __init__(self, languages: Iterable[str] = ("en", "zh")):
        self.languages = tuple(dict.fromkeys(languages))
        super().__init__(
            models=[{"lang_code": lang, "model_name": f"blank:{lang}"} for lang in self.languages]
        )

    def load(self) -> None:
        """Build the blank pipelines (no ``spacy.load``, no ``spacy.cli.download``)."""
        self.nlp = {lang: _blank_pipeline(lang) for lang in self.languages}

    def get_supported_entities(self) -> list[str]:
        """No NER, hence no NLP-based entities."""
        return []

    def _doc_to_nlp_artifact(self, doc: Doc, language: str) -> NlpArtifacts:
        artifacts = NlpArtifacts(
            entities=[],
            tokens=doc,
            tokens_indices=[token.idx for token in doc],
            lemmas=[token.lemma_ or token.lower_ for token in doc],
            nlp_engine=self,
            language=language,
            scores=[],
        )
        artifacts.keywords = _KeywordList(artifacts.keywords)
        return artifacts


class FastLemmaContextAwareEnhancer(LemmaContextAwareEnhancer):
    """Presidio's context enhancer with an O(log n) token lookup.

    The stock ``_find_index_of_match_token`` walks the whole ``Doc`` for every result,
    which is quadratic on long entity-dense messages (a 48 KB paste with 1,200 hits took
    ~20 s, almost all of it here). Token end offsets are non-decreasing, so the first
    token ending after ``start`` is found by bisection; the result is the same index.
    """

    @staticmethod
    def _find_index_of_match_token(word: str, start: int, tokens, tokens_indices: list[int]) -> int:
        n = len(tokens_indices)
        i = bisect.bisect_right(range(n), start, key=lambda k: tokens_indices[k] + len(tokens[k]))
        if i >= n:
            raise ValueError(
                f"Did not find word '{word}' in the list of tokens although it is expected to be found"
            )
        return i

    def _extract_surrounding_words(self, nlp_artifacts, word: str, start: int) -> list[str]:
        """The stock walk goes token by token from the entity until it has collected n keywords: through a
        long run of non-keywords (Chinese characters, "1.1.1..." dots) it walks the whole text for every
        entity, 112 s for one 40 KB message. The keyword positions are listed once per text and the n
        nearest on each side found by bisection: the same words, whatever lies between them."""
        if not nlp_artifacts.tokens:
            return [""]
        index = self._find_index_of_match_token(word, start, nlp_artifacts.tokens, nlp_artifacts.tokens_indices)
        lemmas, at = nlp_artifacts.lemmas, keyword_positions(nlp_artifacts)
        before = bisect.bisect_right(at, index)  # keywords at or before the entity's token: at[:before]
        after = bisect.bisect_left(at, index)  # at or after it: at[after:]
        chosen = at[max(0, before - self.context_prefix_count - 1):before] + \
            at[after:after + self.context_suffix_count + 1]
        return list({lemmas[i].lower() for i in chosen})


def keyword_positions(artifacts) -> list[int]:
    """Token indices whose lemma is one of the text's keywords, as Presidio's walk tests them; listed once."""
    positions = getattr(artifacts, "keyword_positions", None)
    if positions is None:
        keywords = artifacts.keywords
        positions = [i for i, lemma in enumerate(artifacts.lemmas) if lemma.lower() in keywords]
        artifacts.keyword_positions = positions
    return positions


# Presidio is given text in overlapping windows: no recognizer (a regex that backtracks, phonenumbers'
# matcher, the context step) ever sees more than WINDOW characters, so its cost grows with the text, not
# with its square. Personal data is short (an e-mail address is at most 254 characters, an IBAN 42 with
# spaces), so anything shorter than OVERLAP lies whole inside one window; secrets are also found by their
# shape on the whole text (analyzers/secret_gate.py), so a PEM block longer than a window is still masked.
WINDOW = 4_000
OVERLAP = 500


def windows(text: str, size: int = WINDOW, overlap: int = OVERLAP) -> list[tuple[int, str]]:
    """(offset, window) of `text`: windows of `size` characters, each starting `size - overlap` after the last."""
    if len(text) <= size:
        return [(0, text)]
    step = size - overlap
    return [(at, text[at:at + size]) for at in range(0, len(text) - overlap, step)]


PHONE_MIN_DIGITS = 4  # the shortest valid national number of any region phonenumbers knows (AT, DE, NU ...)
_DIGIT = regex.compile(r"\d")


class _Gate:
    """Whether any recognizer of one language could find anything in a text: a cheap, exact pre-check.

    A pattern recognizer returns nothing unless one of its regexes matches (compiled here with the
    flags Presidio compiles them with); phonenumbers only reports numbers inside a candidate of its own
    candidate pattern, and a valid number has at least PHONE_MIN_DIGITS digits. Most chat messages
    fail every check, and then Presidio, its spaCy document and its context step are skipped with
    the same result: nothing. A recognizer of any other kind makes the gate always open.
    """

    # Recognizers whose own analyze() reports only matches of their patterns (IbanRecognizer's re-runs
    # them to trim trailing words).
    PATTERN_ONLY = (PatternRecognizer.analyze, IbanRecognizer.analyze)

    def __init__(self, recognizers):
        self.patterns: list = []
        self.phone = self.always = False
        for rec in recognizers:
            if isinstance(rec, PhoneRecognizer):
                self.phone = True
            elif isinstance(rec, PatternRecognizer) and type(rec).analyze in self.PATTERN_ONLY:
                self.patterns += [regex.compile(p.regex, flags=rec.global_regex_flags) for p in rec.patterns]
            else:
                self.always = True

    def open(self, text: str) -> bool:
        if self.always or any(p.search(text) for p in self.patterns):
            return True
        return self.phone and any(len(_DIGIT.findall(c.group())) >= PHONE_MIN_DIGITS
                                  for c in PHONE_CANDIDATE.finditer(text))


class _LazyArtifacts:
    """Presidio's NLP artifacts (a spaCy document of the text), made only if something reads them: only
    the context step does, and only when a recognizer found something."""

    def __init__(self, engine: SpacyNlpEngine, text: str, language: str):
        self._make = (engine, text, language)
        self._real: NlpArtifacts | None = None

    def __bool__(self) -> bool:
        return True

    def __getattr__(self, name: str):
        if self._real is None:
            engine, text, language = self._make
            self._real = engine.process_text(text, language)
        return getattr(self._real, name)


def _resolve_overlaps(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Greedy, deterministic overlap removal: secrets first, then highest score, then longest, then specific type.

    A secret always wins: a Slack token whose digits pass the card check is a token, not a card, and
    masking only its "card" would leave the rest of it readable (or all of it, where cards are not masked).

    Kept spans are disjoint and kept sorted, so each candidate only needs checking against
    its two neighbours (O(n log n) overall; pasted logs can carry thousands of hits).
    """
    ranked = sorted(
        found,
        key=lambda e: (
            e["kind"] != SECRET,
            -e["score"],
            -(e["end"] - e["start"]),
            e["type"] in _CATCH_ALL_TYPES,
            e["type"],
            e["start"],
        ),
    )
    starts: list[int] = []
    kept: list[dict[str, Any]] = []
    for ent in ranked:
        pos = bisect.bisect_right(starts, ent["start"])
        if pos > 0 and kept[pos - 1]["end"] > ent["start"]:
            continue
        if pos < len(kept) and kept[pos]["start"] < ent["end"]:
            continue
        starts.insert(pos, ent["start"])
        kept.insert(pos, ent)
    return kept


class EntityFinder:
    """Find secrets, PII and vendor endpoints with Presidio, fully offline.

    Construction builds the analyzer once (~1 s, mostly importing spaCy); reuse the
    instance. ``find`` is safe to call repeatedly; the finder holds no per-call state.
    """

    ENTITY_KINDS = ENTITY_KINDS

    def __init__(self, languages: Sequence[str] = ("en", "zh"), score_threshold: float = 0.4):
        self.languages = tuple(dict.fromkeys(languages))
        if not self.languages:
            raise ValueError("at least one language is required")
        self.score_threshold = score_threshold
        self.nlp_engine = BlankSpacyNlpEngine(self.languages)
        self.nlp_engine.load()
        recognizers = [rec for lang in self.languages for rec in build_recognizers(lang)]
        registry = RecognizerRegistry(recognizers=recognizers, supported_languages=list(self.languages))
        self.analyzer = AnalyzerEngine(
            registry=registry,
            nlp_engine=self.nlp_engine,
            supported_languages=list(self.languages),
            default_score_threshold=score_threshold,
            context_aware_enhancer=FastLemmaContextAwareEnhancer(),
        )
        self._gates = {lang: _Gate(registry.get_recognizers(language=lang, all_fields=True))
                       for lang in self.languages}
        # Warm-up: compiles every regex and loads the PSL snapshot now, not on message #1.
        for lang in self.languages:
            self.find("warm-up a.b@example.com +1 212 555 0100 https://api.openai.com/v1", lang)

    def resolve_language(self, language: str | None) -> str:
        """Map a caller's language tag to a registered one: "en" stays "en"; anything else
        ("zh", "mixed", "zh-Hans", None, ...) uses the Chinese/mixed set when available."""
        if language in self.languages:
            return language
        if language != "en" and "zh" in self.languages:
            return "zh"
        return self.languages[0]

    def find(self, text: str, language: str = "en") -> list[dict[str, Any]]:
        """Entities in ``text``, sorted by start, overlaps resolved.

        Each entity is ``{"type", "kind", "score", "start", "end"}``; offsets index ``text``.
        """
        if not text or not text.strip():
            return []
        language = self.resolve_language(language)
        gate = self._gates[language]
        best: dict[tuple[str, int, int], dict[str, Any]] = {}
        for at, piece in windows(text):
            if not gate.open(piece):
                continue
            cut_left, cut_right = at > 0, at + len(piece) < len(text)
            for r in self.analyzer.analyze(
                text=piece, language=language, score_threshold=self.score_threshold,
                nlp_artifacts=_LazyArtifacts(self.nlp_engine, piece, language),
            ):
                # A finding that touches a cut may be the stump of a longer one; the neighbouring window
                # holds it whole (every finding shorter than the overlap lies inside one window).
                if (cut_left and r.start == 0) or (cut_right and r.end == len(piece)):
                    continue
                ent = {"type": r.entity_type, "kind": ENTITY_KINDS[r.entity_type], "score": round(float(r.score), 3),
                       "start": at + int(r.start), "end": at + int(r.end)}
                key = (ent["type"], ent["start"], ent["end"])
                if key not in best or best[key]["score"] < ent["score"]:  # seen by two windows: its best context
                    best[key] = ent
        found = list(best.values())
        # Whatever Presidio pruned as a placeholder, or saw only in part (a key block longer than a window),
        # still has a secret's shape: it is masked all the same, whole, and a secret outranks the personal
        # data its digits may look like.
        secrets = [f for f in found if f["kind"] == SECRET]
        found += [{"type": kind, "kind": SECRET, "score": 1.0, "start": start, "end": end}
                  for kind, start, end in find_secrets(text)
                  if not any(f["start"] <= start and end <= f["end"] for f in secrets)]
        return _resolve_overlaps(found)


_anonymizer = None
_anonymizer_lock = threading.Lock()


def _get_anonymizer():
    global _anonymizer
    if _anonymizer is None:
        with _anonymizer_lock:
            if _anonymizer is None:
                from presidio_anonymizer import AnonymizerEngine

                _anonymizer = AnonymizerEngine()
    return _anonymizer


def mask(text: str, entities: Iterable[dict[str, Any]], kinds: Iterable[str] = (SECRET,)) -> str:
    """Replace every entity whose kind is in ``kinds`` by ``<TYPE>`` (e.g. ``<API_KEY_OPENAI>``).

    Nothing of a masked value is kept (no prefix, no length hint). ``endpoint`` is
    accepted in ``kinds`` but callers should never mask evidence.
    """
    from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

    wanted = set(kinds)
    selected = [
        RecognizerResult(entity_type=e["type"], start=e["start"], end=e["end"], score=e["score"])
        for e in entities
        if e.get("kind", ENTITY_KINDS.get(e["type"])) in wanted
    ]
    if not selected:
        return text
    return (
        _get_anonymizer()
        .anonymize(
            text=text,
            analyzer_results=selected,
            operators={"DEFAULT": OperatorConfig("replace", {})},
            merge_entities_with_spaces=False,
        )
        .text
    )


def redact(
    text: str, entities: Iterable[dict[str, Any]], kinds: Iterable[str] = (SECRET,)
) -> tuple[str, list[dict[str, Any]]]:
    """Mask like `mask`, and return every entity with its span on the masked text.

    Masked entities point at their ``<TYPE>`` placeholder and carry ``masked: True``;
    the others keep their words, shifted by what was replaced before them.
    """
    wanted = set(kinds)
    entities = sorted(entities, key=lambda e: (e["start"], e["end"]))
    out: list[str] = []
    shifted: list[dict[str, Any]] = []
    pos = delta = 0
    for ent in entities:
        masked = ent.get("kind", ENTITY_KINDS.get(ent["type"])) in wanted
        if not masked:
            shifted.append({**ent, "start": ent["start"] + delta, "end": ent["end"] + delta, "masked": False})
            continue
        out.append(text[pos : ent["start"]])
        start = ent["start"] + delta
        placeholder = f"<{ent['type']}>"
        out.append(placeholder)
        delta += len(placeholder) - (ent["end"] - ent["start"])
        pos = ent["end"]
        shifted.append({**ent, "start": start, "end": start + len(placeholder), "masked": True})
    out.append(text[pos:])
    if pos == 0 and not any(e["masked"] for e in shifted):
        return text, shifted
    # presidio-anonymizer writes the text; the spans above must describe exactly that text.
    masked_text = mask(text, entities, wanted)
    if masked_text != "".join(out):
        raise ValueError("masked text and masked spans disagree")
    return masked_text, shifted
