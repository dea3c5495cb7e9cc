"""Elasticsearch, in three parts; this package's names are what the scan, the CLI and the tests use.

connection.py  where and how to connect (EsConfig), one-line failure causes, the run's retry policy and budget
admin.py       index templates behind versioned aliases, the redaction setting a prefix holds, `es migrate`
sink.py        the bulk sink (WriteToElasticsearch), the run record, what the index holds for a run
"""

from pipelines.sinks.elasticsearch.admin import (
    KINDS,
    REDACTION_META,
    MigrationError,
    RedactionConflict,
    claim_redaction,
    migrate,
    setup,
)
from pipelines.sinks.elasticsearch.connection import (
    ElasticsearchProblem,
    EsConfig,
    SettingError,
    backoff,
    error_reason,
    explained,
    retries_taken,
    split_credentials,
    take_retry,
    untrusted_certificate,
    with_retries,
)
from pipelines.sinks.elasticsearch.sink import (
    SOURCE_PREFIX,
    IndexDocuments,
    WriteToElasticsearch,
    bulk_index,
    count,
    dead_letter,
    index_run,
    rejected_by_kind,
)

__all__ = [
    "KINDS", "REDACTION_META", "SOURCE_PREFIX", "ElasticsearchProblem", "EsConfig", "IndexDocuments",
    "MigrationError", "RedactionConflict", "SettingError", "WriteToElasticsearch", "backoff", "bulk_index",
    "claim_redaction", "count", "dead_letter", "error_reason", "explained", "index_run", "migrate",
    "rejected_by_kind", "retries_taken", "setup", "split_credentials", "take_retry", "untrusted_certificate",
    "with_retries",
]
