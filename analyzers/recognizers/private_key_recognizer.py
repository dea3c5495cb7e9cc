"""PEM private key blocks (RSA, EC, OpenSSH, PKCS#8, encrypted), header to footer."""

from __future__ import annotations

from presidio_analyzer import Pattern

from analyzers.recognizers._base import SecretPatternRecognizer


class PrivateKeyRecognizer(SecretPatternRecognizer):
    """Recognize a whole ``-----BEGIN … PRIVATE KEY-----`` block; a block cut short by the chat (no footer)
    is masked from its header through its base64 lines, since any part of a key is too much."""

    ENTITY = "PRIVATE_KEY"
    PATTERNS = [
        Pattern(
            "PEM private key block (very high)",
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"
            r"(?:[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----"
            r"|(?:\s*(?:Proc-Type|DEK-Info):[^\n]*)*(?:\s*[A-Za-z0-9+/=]{16,})*)",
            0.99,
        ),
    ]
    CONTEXT = ["key", "pem", "ssh", "rsa"]

    def invalidate_result(self, pattern_text: str) -> bool:
        return False  # the header says what it is; there are no placeholder private keys worth keeping
