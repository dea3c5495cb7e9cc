"""Per-recognizer tests in the style of Presidio's own (parametrized, with no-match rows): each match is
checked with its score, which decides which recognizer wins a span and how sure a finding is.

Key-shaped test values are generated from a fixed seed instead of being written out,
so the repository holds no literal that a push-protection secret scanner would block.
"""

from __future__ import annotations

import random
import string

import pytest

from analyzers.recognizers import (
    REGISTRY,
    AnthropicKeyRecognizer,
    AwsKeyRecognizer,
    BearerTokenRecognizer,
    CnMobileRecognizer,
    CnResidentIdRecognizer,
    GenericSecretRecognizer,
    GitHubTokenRecognizer,
    GoogleApiKeyRecognizer,
    HuggingFaceTokenRecognizer,
    JwtRecognizer,
    OfflineEmailRecognizer,
    OpenAIKeyRecognizer,
    PrivateKeyRecognizer,
    SkCompatibleKeyRecognizer,
    SlackTokenRecognizer,
    VendorEndpointRecognizer,
    build_recognizers,
    load_registry,
    vendor_for_endpoint,
)
from analyzers.recognizers._secret_utils import looks_like_placeholder, shannon_entropy
from analyzers.recognizers.cn_resident_id_recognizer import resident_id_checksum_ok

_RNG = random.Random(20240611)
B62 = string.ascii_letters + string.digits
B64URL = B62 + "-_"
HEX = "0123456789abcdef"


def rand(n: int, alphabet: str = B62) -> str:
    return "".join(_RNG.choice(alphabet) for _ in range(n))


OPENAI_PROJ = "sk-proj-" + rand(156, B64URL)
OPENAI_PROJ_48 = "sk-proj-" + rand(48)
OPENAI_SVC = "sk-svcacct-" + rand(100, B64URL)
OPENAI_LEGACY = "sk-" + rand(20) + "T3BlbkFJ" + rand(20)
DEEPSEEK = "sk-" + rand(32, HEX)
MOONSHOT = "sk-" + rand(48)
ANTHROPIC = "sk-ant-api03-" + rand(93, B64URL) + "AA"
GOOGLE = "AIza" + rand(35, B64URL)
AWS_ID = "AKIA" + rand(16, string.ascii_uppercase + "234567")
AWS_SECRET = rand(40, B62 + "/+")
GH_CLASSIC = "ghp_" + rand(36)
GH_FINE = "github_pat_" + rand(22) + "_" + rand(59)
HF = "hf_" + rand(34, string.ascii_letters)
SLACK = f"xoxb-{rand(12, string.digits)}-{rand(13, string.digits)}-{rand(24)}"
JWT = f"eyJ{rand(30, B64URL)}.eyJ{rand(60, B64URL)}.{rand(43, B64URL)}"
GENERIC = rand(40)
_PEM_RNG = random.Random(4096)  # its own generator: the values above and the rows below stay as they were
PEM_BODY = "\n".join("".join(_PEM_RNG.choice(B62 + "+/") for _ in range(64)) for _ in range(3))
PEM = f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----"


def _id_with_check(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]


def matches(recognizer, text: str) -> list[tuple[str, float]]:
    """(matched text, score) of every result."""
    results = recognizer.analyze(text, recognizer.supported_entities)
    return sorted((text[r.start : r.end], r.score) for r in results)


# --------------------------------------------------------------------------- secrets


@pytest.mark.parametrize(
    "text, expected",
    [
        (f"export OPENAI_API_KEY={OPENAI_PROJ}", [(OPENAI_PROJ, 0.9)]),
        (f"key: {OPENAI_PROJ_48}.", [(OPENAI_PROJ_48, 0.9)]),
        (f'"{OPENAI_SVC}"', [(OPENAI_SVC, 0.9)]),
        (f"old one {OPENAI_LEGACY} still works", [(OPENAI_LEGACY, 0.95)]),  # the marker: surer
        (f"我的key是{OPENAI_PROJ}，别外传", [(OPENAI_PROJ, 0.9)]),
        # no match
        ("set it to sk-... in the env", []),
        ("sk-xxxx", []),
        ("sk-your-key-here", []),
        ("sk-proj-" + "x" * 48, []),
        ("sk-proj-YOUR_PROJECT_API_KEY_GOES_HERE_PLEASE_1234", []),
        ("sk-proj-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH", []),
        ("pip install scikit-learn sk-learn", []),
        ("task-" + rand(48), []),
        ("x" + OPENAI_PROJ, []),
        (DEEPSEEK, []),  # bare sk-<hex>: vendor unknown, not OpenAI
        (ANTHROPIC, []),
    ],
)
def test_openai_key(text, expected):
    assert matches(OpenAIKeyRecognizer(), text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        (f"DEEPSEEK_API_KEY={DEEPSEEK}", [(DEEPSEEK, 0.6)]),
        (f"kimi: {MOONSHOT}", [(MOONSHOT, 0.6)]),
        (f"通义的key是{DEEPSEEK}", [(DEEPSEEK, 0.6)]),
        (OPENAI_LEGACY, [(OPENAI_LEGACY, 0.6)]),  # also OpenAI's shape; the OpenAI recognizer outscores it (0.95)
        # no match
        ("sk-" + "0" * 32, []),
        ("sk-1234567890abcdef1234567890abcdef", []),
        ("sk-" + rand(31), []),  # too short
        ("sk-" + rand(70), []),  # too long
        (OPENAI_PROJ, []),
        (ANTHROPIC, []),
        ("disk-" + rand(40), []),
    ],
)
def test_sk_compatible_key(text, expected):
    assert matches(SkCompatibleKeyRecognizer(), text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        (f"ANTHROPIC_API_KEY={ANTHROPIC}", [(ANTHROPIC, 0.95)]),
        (f"Claude 的密钥：{ANTHROPIC}。", [(ANTHROPIC, 0.95)]),
        # no match
        ("sk-ant-api03-your-key-here", []),
        ("sk-ant-api03-" + "X" * 95, []),
        ("sk-ant-...", []),
        ("sk-ant-api03-" + rand(20), []),
    ],
)
def test_anthropic_key(text, expected):
    assert matches(AnthropicKeyRecognizer(), text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        (f"?key={GOOGLE}&alt=json", [(GOOGLE, 0.9)]),
        (f"GEMINI_API_KEY='{GOOGLE}'", [(GOOGLE, 0.9)]),
        (f"用这个{GOOGLE}调用gemini", [(GOOGLE, 0.9)]),
        # no match
        ("AIza" + rand(34), []),
        ("AIza" + rand(36), []),
        ("AIzaSyXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", []),
        ("aiza" + rand(35), []),
    ],
)
def test_google_key(text, expected):
    assert matches(GoogleApiKeyRecognizer(), text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        (f"aws_access_key_id = {AWS_ID}", [(AWS_ID, 0.9)]),
        (f"aws_secret_access_key = {AWS_SECRET}", [(AWS_SECRET, 0.85)]),
        (f'AWS_SECRET_ACCESS_KEY="{AWS_SECRET}"', [(AWS_SECRET, 0.85)]),
        # no match
        ("AKIAIOSFODNN7EXAMPLE", []),  # the AWS docs example
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", []),
        ("akia" + AWS_ID[4:], []),
        (AWS_ID[:-1], []),
        (AWS_SECRET, []),  # 40 base64 chars without the variable name
        ("mask = 0xFFFFFFFFFFFFFFFF", []),
    ],
)
def test_aws_key(text, expected):
    assert matches(AwsKeyRecognizer(), text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        (f"GITHUB_TOKEN={GH_CLASSIC}", [(GH_CLASSIC, 0.95)]),
        (f"pat: {GH_FINE}", [(GH_FINE, 0.95)]),
        # no match
        ("ghp_" + "x" * 36, []),
        ("ghp_yourtokenhere", []),
        ("ghp_" + rand(35), []),
        ("github_pat_<your token>", []),
    ],
)
def test_github_token(text, expected):
    assert matches(GitHubTokenRecognizer(), text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        (f"HF_TOKEN={HF}", [(HF, 0.85)]),
        (f"huggingface-cli login --token {HF}", [(HF, 0.85)]),
        # no match
        ("from huggingface_hub import hf_hub_download", []),
        ("hf_" + "x" * 34, []),
        ("hf_YOUR_TOKEN", []),
        ("hf_" + rand(20), []),
    ],
)
def test_huggingface_token(text, expected):
    assert matches(HuggingFaceTokenRecognizer(), text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        (f"SLACK_BOT_TOKEN={SLACK}", [(SLACK, 0.9)]),
        # no match
        ("xoxb-your-token", []),
        ("xoxb-123456789012-" + "x" * 24, []),
        ("xoxz-123456789012-" + rand(24), []),
    ],
)
def test_slack_token(text, expected):
    assert matches(SlackTokenRecognizer(), text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        (f"-H 'Authorization: Bearer {JWT}'", [(JWT, 0.55)]),
        (f"authorization: bearer {GENERIC}.", [(GENERIC, 0.55)]),
        (f"Bearer {OPENAI_PROJ}", [(OPENAI_PROJ, 0.55)]),
        # no match
        ("Authorization: Bearer <YOUR_TOKEN>", []),
        ("Bearer ${OPENAI_API_KEY}", []),
        ("bearer xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", []),
        ("the bearer of bad news", []),
        ("Bearer " + "abcDEF" * 5, []),  # no digit, low entropy
    ],
)
def test_bearer_token(text, expected):
    assert matches(BearerTokenRecognizer(), text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        (f"session={JWT}; Path=/", [(JWT, 0.9)]),
        (f"jwt是{JWT}", [(JWT, 0.9)]),
        # no match
        ("eyJhbGciOiJIUzI1NiJ9", []),  # a header alone
        (JWT.replace(".eyJ", ".abc", 1), []),  # the payload is no JSON
        ("eyJxxxxxxxxxxxx.eyJxxxxxxxxxxxx.xxxxxxxxxxxx", []),  # placeholder
        ("x" + JWT, []),
    ],
)
def test_jwt(text, expected):
    assert matches(JwtRecognizer(), text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        (f"deploy key:\n{PEM}\nthanks", [(PEM, 0.99)]),
        # cut short by the chat: masked from the header through its base64 lines
        (f"{PEM.split(chr(10) + '-----END')[0]}", [(PEM.split(chr(10) + "-----END")[0], 0.99)]),
        # no match
        ("-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A\n-----END PUBLIC KEY-----", []),
        ("paste your private key between -----BEGIN and -----END lines", []),
    ],
)
def test_private_key(text, expected):
    assert matches(PrivateKeyRecognizer(), text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        (f'api_key = "{GENERIC}"', [(GENERIC, 0.5)]),
        (f"DASHSCOPE_API_KEY={GENERIC}", [(GENERIC, 0.5)]),
        (f"client_secret: '{GENERIC}'", [(GENERIC, 0.5)]),
        (f"密钥：{GENERIC}", [(GENERIC, 0.5)]),
        (f"token是{GENERIC}，用完删掉", [(GENERIC, 0.5)]),
        # no match
        ("api_key=os.environ['OPENAI_API_KEY']", []),
        ("token = YOUR_TOKEN_HERE", []),
        ("password: hunter2", []),
        ("api_key = settings.OpenAIApiKeyValue", []),
        ("bitmask=0b10101010101010101010", []),
        ("token_mask = 0xFFFF0000FFFF0000", []),
        ("api_key=<redacted>", []),
        (f"key {GENERIC}", []),  # no assignment: not claimed by the generic recognizer
        ("monkey=" + GENERIC, []),
    ],
)
def test_generic_secret(text, expected):
    assert matches(GenericSecretRecognizer(), text) == expected


@pytest.mark.parametrize(
    "body, placeholder",
    [
        (rand(48), False),
        (rand(32, HEX), False),
        ("your-key-here", True),
        ("x" * 40, True),
        ("0123456789" * 4, True),
        ("abcdefghijklmnopqrstuvwxyz", True),
        ("thisisaverylongidentifierfoo", True),  # one character class
        ("A1" * 12, True),  # low entropy
    ],
)
def test_placeholder_filter(body, placeholder):
    assert looks_like_placeholder(body) is placeholder


def test_entropy_bounds():
    assert shannon_entropy("") == 0.0
    assert shannon_entropy("aaaa") == 0.0
    assert shannon_entropy("ab") == pytest.approx(1.0)


# --------------------------------------------------------------------------- endpoints


@pytest.mark.parametrize(
    "text, expected, vendor",
    [
        (
            "POST https://api.openai.com/v1/chat/completions",
            "https://api.openai.com/v1/chat/completions",
            "openai",
        ),
        ("base_url=api.openai.com.", "api.openai.com", "openai"),
        (
            "https://myres-eastus.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-02-01",
            "https://myres-eastus.openai.azure.com/openai/deployments/gpt-4o/chat/completions",
            "azure-openai",
        ),
        ("https://api.anthropic.com/v1/messages", "https://api.anthropic.com/v1/messages", "anthropic"),
        (
            f"https://generativelanguage.googleapis.com/v1beta/models/gemini-1.5-pro:generateContent?key={GOOGLE}",
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-1.5-pro:generateContent",
            "google-gemini",
        ),
        (
            "https://us-central1-aiplatform.googleapis.com/v1/projects/p1/locations/us-central1",
            "https://us-central1-aiplatform.googleapis.com/v1/projects/p1/locations/us-central1",
            "google-vertex",
        ),
        ("接口是https://api.deepseek.com/v1，谢谢", "https://api.deepseek.com/v1", "deepseek"),
        (
            "https://dashscope.aliyuncs.com/compatible-mode/v1",
            "https://dashscope.aliyuncs.com/compatible-mode/v1",
            "alibaba-dashscope",
        ),
        (
            "https://aip.baidubce.com/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/completions",
            "https://aip.baidubce.com/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/completions",
            "baidu-qianfan",
        ),
        ("qianfan.baidubce.com/v2", "qianfan.baidubce.com/v2", "baidu-qianfan"),
        ("用 https://api.moonshot.cn/v1 就行", "https://api.moonshot.cn/v1", "moonshot"),
        ("https://open.bigmodel.cn/api/paas/v4/", "https://open.bigmodel.cn/api/paas/v4/", "zhipu"),
        ("API.MISTRAL.AI:443/v1", "API.MISTRAL.AI:443/v1", "mistral"),
        ("https://api.cohere.ai/v1/chat", "https://api.cohere.ai/v1/chat", "cohere"),
        ("https://api.groq.com/openai/v1", "https://api.groq.com/openai/v1", "groq"),
        (
            "https://openrouter.ai/api/v1/chat/completions",
            "https://openrouter.ai/api/v1/chat/completions",
            "openrouter",
        ),
        # no match
        ("see openai.com for pricing", None, None),
        ("https://platform.openai.com/docs", None, None),
        ("https://openrouter.ai/models", None, None),
        ("api.openai.com.evil.net", None, None),
        ("notapi.deepseek.com", None, None),
        ("https://api.openai.company/v1", None, None),
    ],
)
def test_vendor_endpoint(text, expected, vendor):
    found = matches(VendorEndpointRecognizer(), text)
    assert found == ([(expected, 0.9)] if expected else [])
    if expected:
        assert vendor_for_endpoint(expected) == vendor


# --------------------------------------------------------------------------- PRC PII


@pytest.mark.parametrize(
    "text, expected",
    [
        ("13812345678", [("13812345678", 0.5)]),
        ("电话13812345678谢谢", [("13812345678", 0.5)]),
        ("+86 138 1234 5678", [("+86 138 1234 5678", 0.5)]),
        ("+8613812345678", [("+8613812345678", 0.5)]),
        ("call 199-8765-4321 pls", [("199-8765-4321", 0.5)]),
        # no match
        ("12812345678", []),
        ("138123456789", []),
        ("ts=1712345678901", []),
        ("13800000000", []),
        ("order 20240113812345678", []),
        ("x13812345678", []),
        ("0x13812345678", []),
    ],
)
def test_cn_mobile(text, expected):
    assert matches(CnMobileRecognizer(), text) == expected


VALID_ID = "11010519491231002X"
VALID_ID_2 = _id_with_check("44030619990101123")


@pytest.mark.parametrize(
    "text, expected",
    [
        (f"身份证号{VALID_ID}请核对", [(VALID_ID, 0.6)]),
        (f"id: {VALID_ID.lower()}", [(VALID_ID.lower(), 0.6)]),
        (f"ID {VALID_ID_2}", [(VALID_ID_2, 0.6)]),
        # no match
        (VALID_ID[:-1] + "1", []),  # bad check character
        (_id_with_check("99010119900307123"), []),  # unknown province code
        (_id_with_check("11010519900230123"), []),  # 30 February
        (VALID_ID_2 + "5", []),  # 19 digits
        ("110105194912310", []),  # old 15-digit ids are out of scope
    ],
)
def test_cn_resident_id(text, expected):
    assert matches(CnResidentIdRecognizer(), text) == expected


def test_resident_id_checksum():
    assert resident_id_checksum_ok(VALID_ID)
    assert not resident_id_checksum_ok(VALID_ID[:-1] + "0")
    assert not resident_id_checksum_ok("short")


# --------------------------------------------------------------------------- built-ins


@pytest.mark.parametrize(
    "ascii_only, text, expected",
    [
        (False, "mail bob.smith@acme.co.uk today", [("bob.smith@acme.co.uk", 1.0)]),
        (True, "邮箱zhang.san@corp.cn，谢谢", [("zhang.san@corp.cn", 1.0)]),
        (True, "mail bob.smith@acme.co.uk today", [("bob.smith@acme.co.uk", 1.0)]),
        # no match: unknown public suffix (validated against the bundled PSL snapshot)
        (False, "bob@build.invalidtld", []),
        (True, "bob@localhost", []),
    ],
)
def test_offline_email(ascii_only, text, expected):
    assert matches(OfflineEmailRecognizer(ascii_only=ascii_only), text) == expected


@pytest.mark.parametrize("language", ["en", "zh"])
def test_build_recognizers_languages(language):
    recognizers = build_recognizers(language)
    assert {r.supported_language for r in recognizers} == {language}
    entities = {e for r in recognizers for e in r.supported_entities}
    assert {
        "EMAIL_ADDRESS",
        "PHONE_NUMBER",
        "CREDIT_CARD",
        "IP_ADDRESS",
        "API_KEY_OPENAI",
        "VENDOR_ENDPOINT",
    } <= entities
    # no recognizer shares a Pattern object (Presidio caches the compiled regex on it)
    patterns = [id(p) for r in recognizers for p in getattr(r, "patterns", [])]
    assert len(patterns) == len(set(patterns))


@pytest.mark.parametrize(
    "text, entity, expected",
    [
        ("卡号4111111111111111请付款", "CREDIT_CARD", [("4111111111111111", 1.0)]),  # Luhn passes: certain
        ("服务器10.1.2.3挂了", "IP_ADDRESS", [("10.1.2.3", 0.6)]),
        ("卡号4111111111111112请付款", "CREDIT_CARD", []),  # Luhn fails
    ],
)
def test_builtins_zh_ascii_boundaries(text, entity, expected):
    rec = next(r for r in build_recognizers("zh") if entity in r.supported_entities)
    assert matches(rec, text) == expected


# --------------------------------------------------------------------------- registry.yaml


def test_the_registry_names_every_recognizer_of_this_package():
    import analyzers.recognizers as package

    defined = {obj for obj in vars(package).values() if isinstance(obj, type)
               and obj.__module__.startswith("analyzers.recognizers.") and obj.__module__.endswith("_recognizer")}
    assert defined == {r.cls for r in REGISTRY if r.cls.__module__.startswith("analyzers.recognizers.")}
    assert all(r.kind == r.cls.KIND for r in REGISTRY if r.cls in defined)


@pytest.mark.parametrize("line, error", [
    ("{name: OpenAIKeyRecognizer, type: custom, entity: API_KEY_OPENAI, kind: pii, languages: [en]}",
     "class says KIND = 'secret'"),
    ("{name: NoSuchRecognizer, type: predefined, entity: X, kind: pii, languages: [en]}", "no predefined"),
    ("{name: IpRecognizer, type: predefined, entity: IP_ADDRESS, kind: secret, languages: [en]}",
     "must be a SecretPatternRecognizer"),
    ("{name: IpRecognizer, type: predefined, entity: IP_ADDRESS, kind: pii}", "needs exactly the keys"),
])
def test_a_registry_entry_that_disagrees_with_its_class_is_refused(tmp_path, line, error):
    path = tmp_path / "registry.yaml"
    path.write_text(f"recognizers:\n  - {line}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=error):
        load_registry(path)
