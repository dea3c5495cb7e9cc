"""Offline Presidio recognizers: secrets, vendor endpoints, PII (incl. PRC-specific).

Which of them run, for which language, and what each finds is data: registry.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import regex
import yaml
from presidio_analyzer import EntityRecognizer, predefined_recognizers
from presidio_analyzer.predefined_recognizers import IbanRecognizer, PhoneRecognizer

from analyzers.recognizers._base import KINDS, SECRET, ClassPatternRecognizer, SecretPatternRecognizer, copy_patterns
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

# Presidio's default phone regions plus Greater China for Chinese/mixed messages.
# (Numbers written with a "+<country code>" are found whatever the region list.)
PHONE_REGIONS_EN = PhoneRecognizer.DEFAULT_SUPPORTED_REGIONS
PHONE_REGIONS_ZH = ("CN", "HK", "TW", *PhoneRecognizer.DEFAULT_SUPPORTED_REGIONS)

_PRESIDIO_FLAGS = regex.DOTALL | regex.MULTILINE | regex.IGNORECASE

REGISTRY_FILE = Path(__file__).with_name("registry.yaml")
_ENTRY_KEYS = {"name", "type", "entity", "kind", "languages"}


@dataclass(frozen=True)
class Registered:
    """One line of registry.yaml: a recognizer class, the entity type it finds, that type's kind, its languages."""

    cls: type[EntityRecognizer]
    entity: str
    kind: str
    languages: tuple[str, ...]


def load_registry(path: Path = REGISTRY_FILE) -> tuple[Registered, ...]:
    """The registry's recognizers in order; ValueError naming the file and entry on the first problem."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    entries = doc.get("recognizers") if isinstance(doc, dict) and set(doc) == {"recognizers"} else None
    if not entries or not isinstance(entries, list):
        raise ValueError(f"{path.name}: needs one key, 'recognizers', a non-empty list")
    found: list[Registered] = []
    for i, raw in enumerate(entries, 1):
        where = f"{path.name} recognizer #{i}"
        if not isinstance(raw, dict) or set(raw) != _ENTRY_KEYS:
            raise ValueError(f"{where}: needs exactly the keys {sorted(_ENTRY_KEYS)}")
        where += f" ({raw['name']})"
        if raw["type"] == "custom":
            cls = globals().get(raw["name"])
            if not (isinstance(cls, type) and cls.__module__.startswith(f"{__name__}.")):
                raise ValueError(f"{where}: no recognizer of that name in {__name__}")
        elif raw["type"] == "predefined":
            cls = getattr(predefined_recognizers, raw["name"], None)
            if not (isinstance(cls, type) and issubclass(cls, EntityRecognizer)):
                raise ValueError(f"{where}: Presidio has no predefined recognizer of that name")
        else:
            raise ValueError(f"{where}: type must be custom or predefined")
        kind, languages = raw["kind"], raw["languages"]
        if kind not in KINDS:
            raise ValueError(f"{where}: kind must be one of {', '.join(KINDS)}")
        if raw["type"] == "custom" and getattr(cls, "KIND", None) != kind:
            raise ValueError(f"{where}: kind {kind}, but the class says KIND = {getattr(cls, 'KIND', None)!r}")
        if kind == SECRET and not issubclass(cls, SecretPatternRecognizer):
            raise ValueError(f"{where}: a secret's recognizer must be a SecretPatternRecognizer "
                             "(the masking gate reads its patterns)")
        if not languages or not isinstance(languages, list) or not all(isinstance(x, str) for x in languages):
            raise ValueError(f"{where}: languages must be a non-empty list")
        if any(f.entity == raw["entity"] for f in found):
            raise ValueError(f"{where}: entity {raw['entity']} is registered twice")
        found.append(Registered(cls, raw["entity"], kind, tuple(languages)))
    return tuple(found)


REGISTRY = load_registry()
# The masking gate tries these shapes, in this order, on every string that leaves (analyzers/secret_gate.py).
SECRET_RECOGNIZERS: tuple[type[SecretPatternRecognizer], ...] = tuple(r.cls for r in REGISTRY if r.kind == SECRET)


def build_recognizers(language: str) -> list[EntityRecognizer]:
    """The registered recognizers of ``language`` ("en", or "zh" for Chinese/mixed text).

    Only pattern/rule recognizers: nothing needs NER, a model or the network.
    """
    recognizers = []
    for entry in REGISTRY:
        if language not in entry.languages:
            continue
        rec = _build(entry.cls, language)
        if rec.supported_entities != [entry.entity]:
            raise ValueError(f"{REGISTRY_FILE.name}: {entry.cls.__name__} finds {rec.supported_entities}, "
                             f"not {entry.entity}")
        recognizers.append(rec)
    if not recognizers:
        raise ValueError(f"no recognizer is registered for language {language!r}")
    return recognizers


def _build(cls: type[EntityRecognizer], language: str) -> EntityRecognizer:
    """One recognizer for ``language``. For non-English text Presidio's built-in regexes run with
    ``regex.ASCII`` so that ``\\b``/``\\w`` treat CJK characters as separators ("邮箱a@b.com", "卡号4111…")."""
    cjk = language != "en"
    if cls is OfflineEmailRecognizer:
        return cls(supported_language=language, ascii_only=cjk)
    if cls is PhoneRecognizer:
        return cls(supported_language=language, supported_regions=PHONE_REGIONS_ZH if cjk else PHONE_REGIONS_EN)
    if cls is IbanRecognizer:
        return cls(patterns=copy_patterns(cls.PATTERNS), supported_language=language,
                   regex_flags=regex.DOTALL | regex.MULTILINE | (regex.ASCII if cjk else 0))
    if issubclass(cls, ClassPatternRecognizer):
        return cls(supported_language=language)
    # Presidio's other pattern recognizers (credit cards, IP addresses)
    rec = cls(patterns=copy_patterns(cls.PATTERNS), supported_language=language)
    rec.global_regex_flags = _PRESIDIO_FLAGS | (regex.ASCII if cjk else 0)
    return rec


__all__ = [
    "REGISTRY",
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
    "Registered",
    "SecretPatternRecognizer",
    "SkCompatibleKeyRecognizer",
    "SlackTokenRecognizer",
    "VendorEndpointRecognizer",
    "build_recognizers",
    "vendor_for_endpoint",
]
