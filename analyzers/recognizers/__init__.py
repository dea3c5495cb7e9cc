"""Offline Presidio recognizers: secrets, vendor endpoints, PII (incl. PRC-specific)."""

from __future__ import annotations

import regex
from presidio_analyzer import EntityRecognizer
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    IbanRecognizer,
    IpRecognizer,
    PhoneRecognizer,
)

from analyzers.recognizers._base import SecretPatternRecognizer, copy_patterns
from analyzers.recognizers.anthropic_key_recognizer import AnthropicKeyRecognizer
from analyzers.recognizers.aws_key_recognizer import AwsKeyRecognizer
from analyzers.recognizers.bearer_token_recognizer import BearerTokenRecognizer
from analyzers.recognizers.cn_mobile_recognizer import CnMobileRecognizer
from analyzers.recognizers.cn_resident_id_recognizer import CnResidentIdRecognizer
from analyzers.recognizers.generic_secret_recognizer import GenericSecretRecognizer
from analyzers.recognizers.github_token_recognizer import GitHubTokenRecognizer
from analyzers.recognizers.google_key_recognizer import GoogleApiKeyRecognizer
from analyzers.recognizers.huggingface_token_recognizer import HuggingFaceTokenRecognizer
from analyzers.recognizers.jwt_recognizer import JwtRecognizer
from analyzers.recognizers.offline_email_recognizer import OfflineEmailRecognizer
from analyzers.recognizers.openai_key_recognizer import OpenAIKeyRecognizer
from analyzers.recognizers.private_key_recognizer import PrivateKeyRecognizer
from analyzers.recognizers.sk_compatible_key_recognizer import SkCompatibleKeyRecognizer
from analyzers.recognizers.slack_token_recognizer import SlackTokenRecognizer
from analyzers.recognizers.vendor_endpoint_recognizer import (
    VENDOR_HOSTS,
    VendorEndpointRecognizer,
    vendor_for_endpoint,
)

SECRET_RECOGNIZERS: tuple[type[SecretPatternRecognizer], ...] = (
    OpenAIKeyRecognizer,
    SkCompatibleKeyRecognizer,
    AnthropicKeyRecognizer,
    GoogleApiKeyRecognizer,
    AwsKeyRecognizer,
    GitHubTokenRecognizer,
    HuggingFaceTokenRecognizer,
    SlackTokenRecognizer,
    BearerTokenRecognizer,
    JwtRecognizer,
    PrivateKeyRecognizer,
    GenericSecretRecognizer,
)

# Presidio's default phone regions plus Greater China for Chinese/mixed messages.
# (Numbers written with a "+<country code>" are found whatever the region list.)
PHONE_REGIONS_EN = PhoneRecognizer.DEFAULT_SUPPORTED_REGIONS
PHONE_REGIONS_ZH = ("CN", "HK", "TW", *PhoneRecognizer.DEFAULT_SUPPORTED_REGIONS)

_PRESIDIO_FLAGS = regex.DOTALL | regex.MULTILINE | regex.IGNORECASE


def build_recognizers(language: str) -> list[EntityRecognizer]:
    """All recognizers for ``language`` ("en", or "zh" for Chinese/mixed text).

    Only pattern/rule recognizers: nothing needs NER, a model or the network. For
    non-English text Presidio's built-in regexes run with ``regex.ASCII`` so that
    ``\\b``/``\\w`` treat CJK characters as separators ("邮箱a@b.com", "卡号4111…").
    """
    cjk = language != "en"
    builtin_flags = _PRESIDIO_FLAGS | (regex.ASCII if cjk else 0)

    credit_card = CreditCardRecognizer(
        patterns=copy_patterns(CreditCardRecognizer.PATTERNS), supported_language=language
    )
    ip = IpRecognizer(patterns=copy_patterns(IpRecognizer.PATTERNS), supported_language=language)
    for rec in (credit_card, ip):
        rec.global_regex_flags = builtin_flags
    iban = IbanRecognizer(
        patterns=copy_patterns(IbanRecognizer.PATTERNS),
        supported_language=language,
        regex_flags=regex.DOTALL | regex.MULTILINE | (regex.ASCII if cjk else 0),
    )

    recognizers: list[EntityRecognizer] = [
        OfflineEmailRecognizer(supported_language=language, ascii_only=cjk),
        PhoneRecognizer(
            supported_language=language,
            supported_regions=PHONE_REGIONS_ZH if cjk else PHONE_REGIONS_EN,
        ),
        credit_card,
        ip,
        iban,
        CnMobileRecognizer(supported_language=language),
        CnResidentIdRecognizer(supported_language=language),
        VendorEndpointRecognizer(supported_language=language),
    ]
    recognizers.extend(cls(supported_language=language) for cls in SECRET_RECOGNIZERS)
    return recognizers


__all__ = [
    "SECRET_RECOGNIZERS",
    "VENDOR_HOSTS",
    "AnthropicKeyRecognizer",
    "AwsKeyRecognizer",
    "BearerTokenRecognizer",
    "CnMobileRecognizer",
    "CnResidentIdRecognizer",
    "GenericSecretRecognizer",
    "GitHubTokenRecognizer",
    "GoogleApiKeyRecognizer",
    "HuggingFaceTokenRecognizer",
    "JwtRecognizer",
    "OfflineEmailRecognizer",
    "OpenAIKeyRecognizer",
    "PrivateKeyRecognizer",
    "SecretPatternRecognizer",
    "SkCompatibleKeyRecognizer",
    "SlackTokenRecognizer",
    "VendorEndpointRecognizer",
    "build_recognizers",
    "vendor_for_endpoint",
]
