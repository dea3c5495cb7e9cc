"""A small Slack export with everything a report must survive, and a scan of it.

The concealment thread carries injected markup (script, event handler, javascript: link,
template syntax), an e-mail address, a phone number, an OpenAI key and Chinese text.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from pipelines.scan import run
from tests.helpers.slack import CONCEALMENT_DAY, T0, msg, write_slack

_RNG = random.Random(6)
OPENAI_KEY = "sk-proj-" + "".join(_RNG.choice("abcdefghijkLMNOPQRST0123456789-_") for _ in range(156))
EMAIL = "carol.evans@example.org"
PHONE = "+1 212-555-0123"
CHINESE = "把聊天记录删除"
SCRIPT = "<script>document.title='PWNED'</script>"
IMG = "<img src=x onerror=\"document.body.setAttribute('data-pwned','yes')\">"
LINK = "[docs](javascript:document.title='LINKED')"
TEMPLATE = "{{ 7*7 }} {% if true %}JINJA{% endif %}"

TRICKY_DAY = [
    CONCEALMENT_DAY[0],
    msg("U2", T0 + 60, f"we need to scrub anything that says OpenAI before the audit {SCRIPT} {IMG} {LINK} {TEMPLATE}",
        thread_ts=f"{T0:.6f}", parent_user_id="U1"),
    msg("U3", T0 + 120, f"use my personal key so it won't show up on the org bill: {OPENAI_KEY} "
                        f"ping me at {EMAIL} or {PHONE}", thread_ts=f"{T0:.6f}", parent_user_id="U1"),
    msg("U1", T0 + 150, f"好的，审计前{CHINESE}，别留痕迹", thread_ts=f"{T0:.6f}", parent_user_id="U1"),
    *CONCEALMENT_DAY[3:],
    # said in the thread hours later: context of the exchange, with a pause before it
    msg("U3", T0 + 3 * 3600 + 30, "sounds good, see you there", thread_ts=f"{T0:.6f}", parent_user_id="U1"),
]


def write_tricky_export(root: Path) -> Path:
    return write_slack(root, {"ml-platform/2024-05-01": TRICKY_DAY})


def scan(export: Path, out: Path, *flags: str) -> Path:
    assert run(["--input", str(export), "--out", str(out), "--no-index", "--quiet", *flags]) == 0
    return out


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
