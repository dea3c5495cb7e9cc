"""Format readers and the auto-detection that picks one."""

from __future__ import annotations

from pipelines.archive import Archive
from pipelines.ingest.base import Reader
from pipelines.ingest.discord import DiscordReader
from pipelines.ingest.gchat import GoogleChatReader
from pipelines.ingest.lark import LarkReader
from pipelines.ingest.mattermost import MattermostReader
from pipelines.ingest.mbox import MboxReader
from pipelines.ingest.slack import SlackReader
from pipelines.ingest.teams import TeamsReader
from pipelines.ingest.telegram import TelegramReader
from pipelines.ingest.whatsapp import WhatsAppReader

READERS: dict[str, type[Reader]] = {r.platform: r for r in (
    SlackReader, LarkReader, TeamsReader, MattermostReader, GoogleChatReader,
    TelegramReader, DiscordReader, WhatsAppReader, MboxReader,
)}


class UnknownFormat(ValueError):
    pass


def detect(archive: Archive, forced: str = "auto") -> Reader:
    """The reader whose `match` is most confident; one clear error when none is."""
    if forced != "auto":
        if forced not in READERS:
            raise UnknownFormat(f"unknown format {forced!r}; supported: {', '.join(sorted(READERS))}")
        reader = READERS[forced]()
        if not reader.units(archive):
            # Forced onto something it cannot read, a reader lists nothing: say so, never a run of 0 records.
            raise UnknownFormat(
                f"{archive.location}: --format {forced} finds nothing to read: no file here has the layout of a "
                f"{forced} export ({len(archive.members())} files seen{_refusals(archive)}). Try --format auto."
            )
        return reader
    scored = sorted(((cls.match(archive), name) for name, cls in READERS.items()), reverse=True)
    best_score, best = scored[0]
    if best_score <= 0:
        raise UnknownFormat(
            f"{archive.location}: not a recognised export; tried {', '.join(sorted(READERS))} "
            f"({len(archive.members())} files seen{_refusals(archive)}). Use --format to force one."
        )
    return READERS[best]()


def _refusals(archive: Archive) -> str:
    """What the archive refused, when that may be why nothing is left to read."""
    refused = archive.refused
    if not refused:
        return ""
    name, reason = refused[0]
    more = f" and {len(refused) - 1} more" if len(refused) > 1 else ""
    return f"; {len(refused)} refused, e.g. {name}: {reason}{more}"
