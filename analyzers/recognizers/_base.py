"""Base class for the secret recognizers (patterns + context as class data, placeholder pruning)."""

from __future__ import annotations

from typing import ClassVar

import regex
from presidio_analyzer import Pattern, PatternRecognizer

from analyzers.recognizers._secret_utils import CASE_SENSITIVE_FLAGS, looks_like_placeholder


def copy_patterns(patterns: list[Pattern]) -> list[Pattern]:
    """Fresh ``Pattern`` objects: Presidio caches the compiled regex *on the Pattern*, so
    instances that share class-level patterns but use different flags would recompile
    on every call."""
    return [Pattern(p.name, p.regex, p.score) for p in patterns]


class SecretPatternRecognizer(PatternRecognizer):
    """A case-sensitive pattern recognizer whose matches are pruned when they look like placeholders.

    Subclasses set ``ENTITY``, ``PATTERNS``, ``CONTEXT`` and optionally ``PREFIX`` (a regex
    stripped from the match before the placeholder/entropy checks) and the thresholds.
    """

    ENTITY: ClassVar[str] = ""
    PATTERNS: ClassVar[list[Pattern]] = []
    CONTEXT: ClassVar[list[str]] = []
    PREFIX: ClassVar[str | None] = None
    MIN_BODY_LENGTH: ClassVar[int] = 16
    MIN_ENTROPY: ClassVar[float] = 3.0
    MIN_CLASSES: ClassVar[int] = 2
    REQUIRE_DIGIT: ClassVar[bool] = False

    def __init__(
        self,
        patterns: list[Pattern] | None = None,
        context: list[str] | None = None,
        supported_language: str = "en",
        supported_entity: str | None = None,
        name: str | None = None,
    ):
        self._prefix_re = regex.compile(self.PREFIX) if self.PREFIX else None
        super().__init__(
            supported_entity=supported_entity or self.ENTITY,
            patterns=patterns if patterns else copy_patterns(self.PATTERNS),
            context=context if context else list(self.CONTEXT),
            supported_language=supported_language,
            global_regex_flags=CASE_SENSITIVE_FLAGS,
            name=name,
        )

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
