"""The composite transforms of the scan, each with one job.

ReadExport        member files -> message batches with positions and episodes (+ dead letters, + per-file stats)
ScoreMessages     message batches -> candidates keyed by conversation (the funnel; their context left unmasked)
DetectCases       candidates of a conversation -> hits and cases: Assess (analyzers.cases), MaskContext (the
                  one step that masks context, on hits only), Assemble (the documents, pipelines/documents.py)

An element is a source file or a batch of its messages, never a single message:
Beam's per-element cost would otherwise dwarf the prefilter's.
"""

from __future__ import annotations

import logging
from typing import Any

import apache_beam as beam
from apache_beam.utils import shared

from analyzers.cases import detect_conversation, references_pattern
from analyzers.episodes import Disentangler
from analyzers.rules import RuleSet, load_ruleset
from analyzers.scoring import profile_of
from analyzers.screening import Screener
from analyzers.secret_gate import MaskingGate, mask_secrets, masked
from pipelines import documents
from pipelines.archive import Archive, HashingReader
from pipelines.ingest import split
from pipelines.ingest.base import DeadLetter, Merged, Reader
from pipelines.progress import Tally

log = logging.getLogger(__name__)
ERRORS, STATS, CASES = "errors", "stats", "cases"


class _ReadStream(beam.DoFn):
    """One stream of member files (a conversation's day files, or a file on its own) read in order.

    The stream is read whole by one worker so that every message gets its position in its
    conversation and its episode (the exchange it belongs to) from the messages before it; only
    a few dozen messages per conversation are held at a time.
    """

    def __init__(self, archive: Archive, reader: Reader, context: Any, archive_sha256: str, batch_size: int,
                 progress: str | None = None):
        self.archive, self.reader, self.context = archive, reader, context
        self.archive_sha256, self.batch_size, self.progress = archive_sha256, batch_size, progress

    def setup(self):
        self.tally = Tally.of(self.progress)

    def finish_bundle(self):
        self.tally.flush()

    def process(self, stream: tuple[str, ...]):
        episodes = Disentangler()
        batch: list[dict] = []
        for member in stream:
            for item in self._read(member):
                if isinstance(item, beam.pvalue.TaggedOutput):
                    yield item
                    continue
                batch.append(episodes.add(item))
                if len(batch) >= self.batch_size:
                    yield from self._emit(batch)
                    batch = []
        yield from self._emit(batch)

    def _emit(self, batch: list[dict]):
        if batch:
            self.tally.add(messages=len(batch))
            yield batch

    def _read(self, member: str):
        """Messages of one member, then its stats; dead letters as tagged outputs along the way."""
        stats = _stats(member, self.reader.platform)
        hashing, hashed = None, False
        try:
            with self.archive.open(member) as raw:
                hashing = HashingReader(raw)
                yield from self._account(self.reader.read(hashing, member, self.context), stats)
                hashing.drain()
                hashed = True
        except Exception as exc:  # noqa: BLE001 - a broken or hostile file must not stop the run
            yield self._unreadable(member, exc, stats)
        if hashed:
            stats["sha256"], stats["bytes"] = hashing.hexdigest(), hashing.bytes
        else:
            stats["sha256"], stats["bytes"] = self._rehash(member)
        self.tally.add(files=1, bytes=stats.get("bytes", 0))
        yield beam.pvalue.TaggedOutput(STATS, stats)

    def _account(self, records, stats: dict):
        """Each record counted; messages with their custody, dead letters as tagged outputs."""
        custody = {"archive_sha256": self.archive_sha256}
        for record in records:
            stats["records"] += 1
            if isinstance(record, DeadLetter):
                stats["malformed"] += 1
                yield beam.pvalue.TaggedOutput(ERRORS, record.as_dict(self.reader.platform, self.archive_sha256))
            elif isinstance(record, Merged):
                stats["merged"] += 1
            else:
                stats["messages"] += 1
                record["source"].update(custody)
                yield record

    def _unreadable(self, member: str, exc: Exception, stats: dict):
        log.warning("%s: %s", mask_secrets(member), mask_secrets(str(exc)))
        stats["records"] += 1
        stats["malformed"] += 1
        return beam.pvalue.TaggedOutput(ERRORS, DeadLetter(
            member, "", f"file could not be read: {type(exc).__name__}: {exc}",
        ).as_dict(self.reader.platform, self.archive_sha256))

    def _rehash(self, member: str) -> tuple[str | None, int]:
        """The parser gave up half-way: hash the whole member afresh; None when it cannot be read at all."""
        try:
            return self.archive.member_sha256(member), self.archive.members()[member].size
        except Exception:  # noqa: BLE001 - e.g. a zip bomb stopped; the reason is already in errors
            return None, 0


def _stats(member: str, parser: str) -> dict:
    return {"path": member, "parser": parser, "records": 0, "messages": 0, "merged": 0, "malformed": 0}


class _ReadRange(beam.DoFn):
    """One byte range of a huge member into its spool (pipelines/ingest/split.py), or the member's hash."""

    def __init__(self, archive: Archive, reader: Reader, context: Any, extras: dict, scratch: str,
                 progress: str | None = None):
        self.archive, self.reader, self.context = archive, reader, context
        self.extras, self.scratch, self.progress = extras, scratch, progress

    def setup(self):
        self.tally = Tally.of(self.progress)

    def finish_bundle(self):
        self.tally.flush()

    def process(self, job):
        if isinstance(job, split.HashJob):
            try:
                sha256, size = split.member_hash(self.archive, job.member)
            except Exception as exc:  # noqa: BLE001 - the member is then read whole, which says why
                yield job.member, {"hash": None, "failed": f"{type(exc).__name__}: {exc}"}
                return
            yield job.member, {"hash": sha256, "bytes": size}
            return
        summary = split.read_range(self.archive, self.reader, self.context, self.extras[job.member], job,
                                   self.scratch)
        self.tally.add(bytes=job.end - job.start)
        yield job.member, summary


class _SettleSplit(_ReadStream):
    """A split member's ranges settled in file order into batches with positions and episodes, as `_ReadStream`
    makes them from a whole read (the same records, counts and hash); read whole when the ranges disagree."""

    def __init__(self, archive: Archive, reader: Reader, context: Any, extras: dict, scratch: str,
                 archive_sha256: str, batch_size: int, progress: str | None = None):
        super().__init__(archive, reader, context, archive_sha256, batch_size, progress)
        self.extras, self.scratch = extras, scratch

    def process(self, element):
        member, summaries = element
        summaries = list(summaries)
        hashed = next((s for s in summaries if "hash" in s), {})
        ranges = [s for s in summaries if "hash" not in s]
        records = split.settled(self.reader, member, self.context, self.extras[member], ranges, self.scratch) if (
            hashed.get("hash")) else None
        if records is None:
            # A range failed, or one ends where the next does not begin (a declared Content-Length across a cut,
            # a metadata line after the first posts): exact only read whole, in one piece.
            log.warning("%s: read whole, not in ranges: %s", mask_secrets(member), mask_secrets(_why_whole(summaries)))
            yield from super().process((member,))
            return
        stats = _stats(member, self.reader.platform)
        episodes = Disentangler()
        batch: list[dict] = []
        written = 0
        try:
            for item in self._account(records, stats):
                if isinstance(item, beam.pvalue.TaggedOutput):
                    yield item
                    continue
                batch.append(episodes.add(item))
                if len(batch) >= self.batch_size:
                    yield from self._spooled(member, written, batch)
                    written, batch = written + 1, []
        except Exception as exc:  # noqa: BLE001 - as a whole read that breaks off: what came before is kept
            yield self._unreadable(member, exc, stats)
        yield from self._spooled(member, written, batch)
        stats["sha256"], stats["bytes"] = hashed["hash"], hashed["bytes"]
        stats["ranges"] = len(ranges)  # read in this many byte ranges (a whole read says nothing)
        self.tally.add(files=1)
        yield beam.pvalue.TaggedOutput(STATS, stats)

    def _spooled(self, member: str, number: int, batch: list[dict]):
        """A batch as its spool file's name: the batches cross a shuffle to be screened by every worker."""
        for docs in self._emit(batch):
            yield split.write_batch(self.scratch, member, number, docs)


def _why_whole(summaries: list[dict]) -> str:
    failed = [s for s in summaries if s.get("failed")]
    if failed:
        return f"reading {'its hash' if 'hash' in failed[0] else 'a range'} failed ({failed[0]['failed']})"
    return "a range ends where the next one cannot begin"


class _LoadBatch(beam.DoFn):
    """A spooled batch (its file name) back into its messages; a batch read whole passes as it is."""

    def process(self, element):
        yield split.read_batch(element) if isinstance(element, str) else element


class _Outputs(dict):
    """The tagged outputs of ReadExport when it reads some members in ranges: `.batches` and `[ERRORS]`,
    `[STATS]`, as a ParDo's."""

    @property
    def batches(self):
        return self["batches"]


class ReadExport(beam.PTransform):
    """Member paths to batches of normalised messages in conversation order, each with its position and
    episode, plus dead letters and per-file stats.

    With a `scratch` location every worker reaches and `split_bytes`, a member larger than that which its reader
    can split (an mbox, a Mattermost export, a WhatsApp chat) is read in byte ranges by several workers and
    settled in order (pipelines/ingest/split.py); its batches are then spread again, so that screening them is
    not left to the one worker that settled it."""

    def __init__(self, archive: Archive, reader: Reader, context: Any, archive_sha256: str, batch_size: int,
                 progress: str | None = None, scratch: str | None = None, split_bytes: int = 0):
        super().__init__()
        self.archive, self.reader, self.context = archive, reader, context
        self.archive_sha256, self.batch_size, self.progress = archive_sha256, batch_size, progress
        self.scratch, self.split_bytes = scratch, split_bytes

    def expand(self, pbegin):
        streams = self.reader.streams(self.archive)
        jobs: list = []
        if self.scratch is not None and self.split_bytes > 0:
            streams, jobs, extras = split.plan(self.archive, self.reader, self.context, streams, self.split_bytes)
        whole = (
            pbegin
            | "ListStreams" >> beam.Create(streams)
            | "Spread" >> beam.Reshuffle()
            | "Parse" >> beam.ParDo(
                _ReadStream(self.archive, self.reader, self.context, self.archive_sha256, self.batch_size,
                            self.progress)
            ).with_outputs(ERRORS, STATS, main="batches")
        )
        if not jobs:
            return whole
        ranged = (
            pbegin
            | "ListRanges" >> beam.Create(jobs)
            | "SpreadRanges" >> beam.Reshuffle()
            | "ReadRanges" >> beam.ParDo(_ReadRange(self.archive, self.reader, self.context, extras, self.scratch,
                                                    self.progress))
            | "ByFile" >> beam.GroupByKey()
            | "Settle" >> beam.ParDo(
                _SettleSplit(self.archive, self.reader, self.context, extras, self.scratch, self.archive_sha256,
                             self.batch_size, self.progress)
            ).with_outputs(ERRORS, STATS, main="batches")
        )
        return _Outputs({
            "batches": (whole.batches, ranged.batches | "SpreadSettled" >> beam.Reshuffle()
                        | "LoadSettled" >> beam.ParDo(_LoadBatch())) | "AllBatches" >> beam.Flatten(),
            ERRORS: (whole[ERRORS], ranged[ERRORS]) | "AllReadErrors" >> beam.Flatten(),
            STATS: (whole[STATS], ranged[STATS]) | "AllStats" >> beam.Flatten(),
        })


def conversation_key(doc: dict) -> str:
    return f"{doc['platform']}\x1f{doc['conversation']['id']}"


_SCREENERS = shared.Shared()  # one per process, so screening and context masking share one Screener


def _screener(rules_dir: str | None, redact) -> Screener:
    """spaCy, Presidio and the automaton, built once per worker process and shared by its threads."""
    def build():
        return _Holder(Screener(load_ruleset(rules_dir), redact_pii=redact))

    return _SCREENERS.acquire(build, tag=f"screener:{rules_dir}:{redact}").value


class _Screen(beam.DoFn):
    def __init__(self, rules_dir: str | None, redact: bool, progress: str | None = None):
        self.rules_dir, self.redact, self.progress = rules_dir, redact, progress

    def setup(self):
        self.screener = _screener(self.rules_dir, self.redact)
        self.tally = Tally.of(self.progress)

    def finish_bundle(self):
        self.tally.flush()

    def process(self, batch: list[dict]):
        candidates = self.screener.screen(batch, defer_context=True)
        self.tally.add(candidates=len(candidates))
        by_conversation: dict[str, list[dict]] = {}  # one element per conversation of the batch, not per candidate
        for candidate in candidates:
            by_conversation.setdefault(conversation_key(candidate["doc"]), []).append(candidate)
        yield from by_conversation.items()


def masking_gate(rules_dir: str | None, redact) -> MaskingGate:
    """The run's masking gate (the Screener's, shared by the process), for documents that never met the
    Screener: dead letters and the run record."""
    return _screener(rules_dir, redact).gate


class _MaskDocument(beam.DoFn):
    def __init__(self, rules_dir: str | None, redact):
        self.rules_dir, self.redact = rules_dir, redact

    def setup(self):
        self.gate = masking_gate(self.rules_dir, self.redact)

    def process(self, doc: dict):
        yield masked(self.gate.document(doc))


class MaskDocuments(beam.PTransform):
    """Documents that never met the Screener (dead letters) through the whole masking gate: every field by
    what it is (analyzers/secret_gate.py), then secrets by their shape."""

    def __init__(self, rules_dir: str | None, redact):
        super().__init__()
        self.rules_dir, self.redact = rules_dir, redact

    def expand(self, docs):
        return docs | "Gate" >> beam.ParDo(_MaskDocument(self.rules_dir, self.redact))


class _Holder:
    """shared.Shared needs a weak-referenceable object."""

    def __init__(self, value):
        self.value = value


class ScoreMessages(beam.PTransform):
    """Batches in, (conversation key, [candidate, ...]) out: only messages the rules noticed, a list per
    conversation of each batch (Beam's cost is per element, and a busy channel has many candidates).

    A candidate's context (its neighbours) leaves unmasked: most candidates never become hits, Presidio is the
    costly step, and DetectCases masks the context of hits in its MaskContext step."""

    def __init__(self, rules_dir: str | None, redact: bool, progress: str | None = None,
                 defer_context: bool = True):
        """defer_context: what scan.py still passes while its split is under way (issue 16); context is
        always left to MaskContext, so True is the only value."""
        if not defer_context:
            raise ValueError("ScoreMessages leaves context unmasked for DetectCases' MaskContext step")
        super().__init__()
        self.rules_dir, self.redact, self.progress = rules_dir, redact, progress

    def expand(self, batches):
        return batches | "Screen" >> beam.ParDo(_Screen(self.rules_dir, self.redact, self.progress))


class _Assess(beam.DoFn):
    """A conversation's candidates -> (hits, cases) as analyzers.cases finds them, hits' context unmasked;
    nothing for a conversation without hits."""

    def __init__(self, ruleset: RuleSet, gap: float, progress: str | None = None):
        self.ruleset_version, self.profile = ruleset.version, profile_of(ruleset)
        self.refers = references_pattern(ruleset.references)
        self.gap, self.progress = gap, progress

    def setup(self):
        self.tally = Tally.of(self.progress)

    def finish_bundle(self):
        self.tally.flush()

    def process(self, element):
        _, chunks = element
        candidates = [candidate for chunk in chunks for candidate in chunk]
        hits, cases = detect_conversation(sorted(candidates, key=_arrival), self.ruleset_version, self.profile,
                                          self.gap, self.refers)
        self.tally.add(hits=len(hits))
        if hits:
            yield hits, cases


class _MaskContext(beam.DoFn):
    """The one step that masks context, on hits only (only theirs leaves): a message that is the context
    of several hits of the conversation is masked once."""

    def __init__(self, rules_dir: str | None, redact):
        self.rules_dir, self.redact = rules_dir, redact

    def setup(self):
        self.screener = _screener(self.rules_dir, self.redact)

    def process(self, found: tuple[list[dict], list[dict]]):
        hits, cases = found
        cleaned: dict = {}
        yield [{**hit, "context": self.screener.clean_context(hit["context"], cleaned)} for hit in hits], cases


class _Assemble(beam.DoFn):
    """Found hits and cases -> their documents (pipelines/documents.py); hits main, cases tagged."""

    def __init__(self, run_id: str, ruleset_version: str, summarize):
        self.run_id, self.ruleset_version, self.summarize = run_id, ruleset_version, summarize

    def process(self, found: tuple[list[dict], list[dict]]):
        hits, cases = found
        by_case: dict[str, list[dict]] = {}
        for found_hit in hits:
            hit = documents.hit(found_hit, self.run_id)
            by_case.setdefault(hit["case"]["id"], []).append(hit)
            yield hit
        for case in cases:
            yield beam.pvalue.TaggedOutput(CASES, documents.case(case, by_case[case["case"]["id"]], self.run_id,
                                                                 self.ruleset_version, self.summarize))


def _arrival(candidate: dict) -> tuple:
    """One order for a conversation's candidates whatever order the runner's shuffle delivers them in."""
    doc = candidate["doc"]
    return doc["timestamp"]["epoch"], doc["message"]["id"], doc["source"]["path"], doc["source"]["pointer"]


class DetectCases(beam.PTransform):
    """Candidate lists keyed by conversation in; hits (main) and cases (tagged) out, as documents."""

    def __init__(self, ruleset: RuleSet, run_id: str, gap: float, summarize,
                 progress: str | None = None, *, mask_context: tuple):
        """mask_context: (rules_dir, redact) of the run's masking gate, for the MaskContext step."""
        super().__init__()
        self.ruleset, self.run_id, self.gap, self.summarize, self.progress = ruleset, run_id, gap, summarize, progress
        self.mask_context = mask_context

    def expand(self, keyed_candidates):
        return (
            keyed_candidates
            | "ByConversation" >> beam.GroupByKey()
            | "Assess" >> beam.ParDo(_Assess(self.ruleset, self.gap, self.progress))
            | "MaskContext" >> beam.ParDo(_MaskContext(*self.mask_context))
            | "Assemble" >> beam.ParDo(_Assemble(self.run_id, self.ruleset.version, self.summarize)
                                       ).with_outputs(CASES, main="hits")
        )
