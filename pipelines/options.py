"""Pipeline options: what `chatforensics run` accepts beside Beam's own options."""

from __future__ import annotations

from apache_beam.options.pipeline_options import PipelineOptions

from analyzers.screening import PII_TYPES
from pipelines.ingest import READERS

FORMATS = ("auto", *sorted(READERS))


class ChatForensicsOptions(PipelineOptions):
    # --input and --out are checked by run(), not argparse: every view of the options
    # (TestPipeline, Beam internals) parses them, and most of those views don't carry them.

    @classmethod
    def _add_argparse_args(cls, parser):
        parser.add_argument("--input", default=None, help="export to scan: a ZIP, a folder or a file")
        parser.add_argument("--out", default=None, help="output folder (hits, cases, errors, manifest, reports)")
        parser.add_argument("--format", default="auto", choices=FORMATS, help="export format (default: detect)")
        parser.add_argument("--es-url", default=None,
                            help="Elasticsearch URL (or CHATFORENSICS_ES_URL); give credentials in "
                                 "CHATFORENSICS_ES_USERNAME/_PASSWORD or _API_KEY, not in the URL")
        parser.add_argument("--no-index", action="store_true", help="do not index into Elasticsearch")
        parser.add_argument("--rules", default=None, help="folder of rule packs (default: the shipped packs)")
        parser.add_argument("--redact", dest="redact", action="store_true", default=True,
                            help="mask PII in outputs (default)")
        parser.add_argument("--no-redact", dest="redact", action="store_false", help="keep PII (secrets stay masked)")
        parser.add_argument("--redact-kinds", default=None,
                            help=f"PII types to mask when redacting, comma-separated (default: all of "
                                 f"{', '.join(PII_TYPES)})")
        parser.add_argument("--window-gap", type=float, default=1800,
                            help="seconds of silence after which linked messages outside a thread no longer "
                                 "share a window")
        parser.add_argument("--batch-size", type=int, default=2000,
                            help="messages per pipeline element when a source file is large")
        parser.add_argument("--split-bytes", type=int, default=16 << 20,
                            help="a single mbox, Mattermost export or WhatsApp chat larger than this is read in "
                                 "ranges of about this many bytes by several workers (default 16 MiB; 0: never)")
        parser.add_argument("--pdf", action="store_true", help="also render each case report as PDF")
        parser.add_argument("--quiet", action="store_true",
                            help="no progress line (the one-line summary still ends the run)")
