"""AWS access key ids (``AKIA…``/``ASIA…``) and secret access keys next to their variable name."""

from __future__ import annotations

from presidio_analyzer import Pattern

from analyzers.recognizers._base import SecretPatternRecognizer
from analyzers.recognizers._secret_utils import TOKEN_LEFT


class AwsKeyRecognizer(SecretPatternRecognizer):
    """Recognize AWS credentials.

    * access key id: ``AKIA`` (long-term) or ``ASIA`` (STS) + 16 upper-case
      alphanumerics (base32 in practice);
    * secret access key: 40 base64 chars, only right after ``aws_secret_access_key =``
      (alone, 40 base64 chars are indistinguishable from any other blob).

    The documentation examples (``AKIAIOSFODNN7EXAMPLE``, ``wJalrXUtnFEMI/K7MDENG/...EXAMPLEKEY``)
    are pruned by the placeholder check.
    """

    ENTITY = "API_KEY_AWS"
    PATTERNS = [
        Pattern(
            "AWS access key id (high)",
            TOKEN_LEFT + r"(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])",
            0.9,
        ),
        Pattern(
            "AWS secret access key after its name (high)",
            r"(?<=(?i:aws)[_\-. ]?(?i:secret)[_\-. ]?(?i:access)?[_\-. ]?(?i:key)[\"']?\s*[:=]\s*[\"']?)"
            r"[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])",
            0.85,
        ),
    ]
    CONTEXT = ["aws", "amazon", "access", "key", "secret", "bedrock"]
    PREFIX = r"^(?:AKIA|ASIA)"
    MIN_ENTROPY = 2.8  # a 16-char base32 body tops out at 4 bits/char
