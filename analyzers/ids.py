"""Every id the tool derives, in one place: hashes of what identifies the thing.

The same input gives the same ids, so a re-run overwrites documents instead of adding new ones.
"""

from __future__ import annotations

import hashlib


def stable_id(*parts: str, length: int = 24) -> str:
    # "replace": a lone surrogate in a source text must not make an id impossible
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", errors="replace")).hexdigest()[:length]


def content_id(*parts: str) -> str:
    """A message id from content, for sources without ids (WhatsApp lines, mail without Message-ID)."""
    return stable_id(*parts, length=20)


def hit_id(platform: str, conversation_id: str, message_id: str) -> str:
    """The Elasticsearch _id of a hit: platform, conversation and message only."""
    return stable_id(platform, conversation_id, message_id)


def episode_id(platform: str, conversation_id: str, first_message_id: str) -> str:
    return stable_id(platform, conversation_id, first_message_id, length=16)


def case_id(platform: str, conversation_id: str, first_message_id: str) -> str:
    return "case-" + stable_id(platform, conversation_id, first_message_id, length=12)


def mail_thread_id(folder: str, root_message_id: str) -> str:
    """A mail thread's conversation id: its mailbox and its root mail. The mailbox is part of it because
    threads are read within one mailbox, so a mail filed in two mailboxes stays two hits."""
    return "thread-" + stable_id(folder, root_message_id, length=16)
