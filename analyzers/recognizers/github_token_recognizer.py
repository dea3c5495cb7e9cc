"""GitHub tokens: classic (``ghp_``, ``gho_``, ``ghu_``, ``ghs_``, ``ghr_``) and fine-grained PATs."""

from __future__ import annotations

from presidio_analyzer import Pattern

from analyzers.recognizers._base import SecretPatternRecognizer
from analyzers.recognizers._secret_utils import TOKEN_LEFT, TOKEN_RIGHT


class GitHubTokenRecognizer(SecretPatternRecognizer):
    """Recognize GitHub tokens.

    * ``gh[pousr]_`` + 36 base62 characters (40 in all);
    * ``github_pat_`` + 22 base62 + ``_`` + 59 base62 (93 in all), with a looser fallback.
    """

    ENTITY = "API_KEY_GITHUB"
    PATTERNS = [
        Pattern(
            "GitHub classic token (very high)", TOKEN_LEFT + r"gh[pousr]_[A-Za-z0-9]{36}" + TOKEN_RIGHT, 0.95
        ),
        Pattern(
            "GitHub fine-grained PAT (very high)",
            TOKEN_LEFT + r"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}" + TOKEN_RIGHT,
            0.95,
        ),
        Pattern(
            "GitHub fine-grained PAT, loose (high)",
            TOKEN_LEFT + r"github_pat_[A-Za-z0-9_]{40,}" + TOKEN_RIGHT,
            0.8,
        ),
    ]
    CONTEXT = ["github", "token", "pat", "git"]
    PREFIX = r"^(?:gh[pousr]_|github_pat_)"
