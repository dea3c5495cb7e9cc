"""Small Slack exports written by tests themselves, through the one Slack-export writer (builders/slack.py)."""

from __future__ import annotations

from pathlib import Path

from builders.slack import JsonStyle, SlackExport

COMPACT = JsonStyle(indent=None, newline=False)

USERS = [
    {"id": "U1", "name": "alice",
     "profile": {"real_name": "Alice Chen", "display_name": "alice", "email": "alice@example.com"}},
    {"id": "U2", "name": "bob", "profile": {"real_name": "Bob Diaz", "display_name": "bob"}},
    {"id": "U3", "name": "carol", "profile": {"real_name": "Carol Evans", "display_name": ""}},
    {"id": "B1", "name": "deploybot", "is_bot": True, "profile": {"real_name": "deploybot"}},
]
CHANNELS = [{"id": "C1", "name": "ml-platform", "members": ["U1", "U2", "U3"]},
            {"id": "C2", "name": "random", "members": ["U1", "U2"]}]


def msg(user: str, ts: float, text: str, **extra) -> dict:
    return {"type": "message", "user": user, "text": text, "ts": f"{ts:.6f}", **extra}


def write_slack(root: Path, days: dict[str, list | str], users=USERS, channels=CHANNELS) -> Path:
    """days: {"channel/2024-05-01": [messages] or raw text for a broken file}."""
    export = SlackExport(root, COMPACT)
    export.users(users)
    export.channels(channels)
    for name, content in days.items():
        channel, day = name.rsplit("/", 1)
        if isinstance(content, str):
            export.text(f"{name}.json", content)
        else:
            export.day(channel, day, content)
    return root


T0 = 1714557600.0  # 2024-05-01T10:00:00Z

CONCEALMENT_DAY = [
    msg("U1", T0, "we have 40k completions from gpt-4o for the fine-tune", thread_ts=f"{T0:.6f}", reply_count=3),
    msg("U2", T0 + 60, "we need to scrub anything that says OpenAI before the audit", thread_ts=f"{T0:.6f}",
        parent_user_id="U1"),
    msg("U3", T0 + 120, "use my personal key so it won't show up on the org bill", thread_ts=f"{T0:.6f}",
        parent_user_id="U1"),
    msg("U1", T0 + 180, "ok, let's take this offline", thread_ts=f"{T0:.6f}", parent_user_id="U1"),
    msg("U2", T0 + 3 * 3600, "lunch at noon?"),
]
