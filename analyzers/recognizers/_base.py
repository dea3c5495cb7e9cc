"""Base classes for this package's recognizers: patterns, context, entity type and kind as class data."""

from __future__ import annotations

from typing import ClassVar

import regex
from presidio_analyzer import Pattern, PatternRecognizer

from analyzers.recognizers._secret_utils import CASE_SENSITIVE_FLAGS, looks_like_placeholder

# What an entity type is (registry.yaml gives each recognizer's):
#   secret   -> always masked;
#   pii      -> masked when redaction is on;
#   endpoint -> never masked (it is the evidence).
SECRET, PII, ENDPOINT = "secret", "pii", "endpoint"
KINDS = (SECRET, PII, ENDPOINT)


def copy_patterns(patterns: list[Pattern]) -> list[Pattern]:
    """Fresh ``Pattern`` objects: Presidio caches the compiled regex *on the Pattern*, so
    instances that share class-level patterns but use different flags would recompile
    on every call."""
    return [Pattern(p.name, p.regex, p.score) for p in patterns]


class ClassPatternRecognizer(PatternRecognizer):
    """A pattern recognizer whose ``ENTITY``, ``KIND``, ``PATTERNS``, ``CONTEXT`` and regex ``FLAGS``
    are class data (case-sensitive unless a subclass says otherwise)."""

    ENTITY: ClassVar[str] = ""
    KIND: ClassVar[str] = ""
    PATTERNS: ClassVar[list[Pattern]] = []
    CONTEXT: ClassVar[list[str]] = []
    FLAGS: ClassVar[int] = CASE_SENSITIVE_FLAGS

    def __init__(
        self,
        patterns: list[Pattern] | None = None,
        context: list[str] | None = None,
        supported_language: str = "en",
        supported_entity: str | None = None,
        name: str | None = None,
    ):
        super().__init__(
            supported_entity=supported_entity or self.ENTITY,
            patterns=patterns if patterns else copy_patterns(self.PATTERNS),
            context=context if context else list(self.CONTEXT),
            supported_language=supported_language,
            global_regex_flags=self.FLAGS,
            name=name,
        )


class SecretPatternRecognizer(ClassPatternRecognizer):
    """A case-sensitive pattern recognizer whose matches are pruned when they look like placeholders.

    Subclasses set ``ENTITY``, ``PATTERNS``, ``CONTEXT`` and optionally ``PREFIX`` (a regex
    stripped from the match before the placeholder/entropy checks) and the thresholds.
    """

    KIND = SECRET
    PREFIX: ClassVar[str | None] = None
    MIN_BODY_LENGTH: ClassVar[int] = 16
    MIN_ENTROPY: ClassVar[float] = 3.0
    MIN_CLASSES: ClassVar[int] = 2
    REQUIRE_DIGIT: ClassVar[bool] = False
    _prefix_re: ClassVar[regex.Pattern | None] = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._prefix_re = regex.compile(cls.PREFIX) if cls.PREFIX else None

    def secret_body(self, pattern_text: str) -> str:
        """The random part of the match (vendor prefix removed)."""
        if self._prefix_re is None:
            return pattern_text
        return self._prefix_re.sub("", pattern_text, count=1)

    def invalidate_result(self, pattern_text: str) -> bool:
        """Drop placeholders such as ``sk-xxxx…``, ``sk-your-key-here`` or low-entropy strings."""
        return looks_like_placeholder(
            self.secret_body(pattern_text),
            min_length=self.MIN_BODY_LENGTH,
            min_entropy=self.MIN_ENTROPY,
            min_classes=self.MIN_CLASSES,
            require_digit=self.REQUIRE_DIGIT,
        )
