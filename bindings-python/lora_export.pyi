"""Streaming export of reviewed LLM training conversations to JSONL, JSON,
CSV and Markdown, and the database-backed export service.

A thin binding of the Rust core: every export is streamed in batches with
the GIL released while Rust works; errors are `LoraExportError` subclasses.
"""

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, Protocol, TypedDict, Union, final, type_check_only

from typing_extensions import NotRequired, TypeAlias, deprecated

__all__ = [
    "__version__",
    "export",
    "export_dataset",
    "iter_export",
    "to_string",
    "preview",
    "validate_output",
    "validate_request",
    "ExportSummary",
    "DatasetSummary",
    "ExportIterator",
    "ExportClient",
    "LoraExportError",
    "ValidationError",
    "MalformedRecordError",
    "TooManySkippedError",
    "NoConversationsError",
    "LoraExportWarning",
    "UnknownFormatError",
    "RejectedError",
    "InvalidTransitionError",
    "UnauthorizedError",
    "ForbiddenError",
    "NotFoundError",
    "GoneError",
    "TooEarlyError",
    "ExportFailedError",
    "NotRetryableError",
    "AdminRequiredError",
    "RateLimitedError",
    "ConfigError",
    "DatabaseError",
    "IoError",
    "CsvError",
    "JsonError",
    "UnknownUserError",
    "InvalidTokenError",
    "PoolerUnsupportedError",
    "RangeNotSatisfiableError",
    "Session",
    "ServiceUnavailableError",
    "NotMigratedError",
    "StorageError",
    "DatabaseTlsError",
    "ExportTooLargeError",
    "StorageQuotaExceededError",
    "QueueFullError",
]

__version__: str

_Format: TypeAlias = Literal["jsonl", "json", "csv", "markdown", "parquet"]
_Flavor: TypeAlias = Literal[
    "openai",
    "openai-dpo",
    "trl",
    "together",
    "fireworks",
    "bedrock-nova",
    "anthropic",
    "sharegpt",
]
_StrPath: TypeAlias = Union[str, os.PathLike[str]]

@type_check_only
class _BinaryWriter(Protocol):
    def write(self, data: bytes, /) -> Any: ...

@type_check_only
class _ArrowStream(Protocol):
    """pyarrow Tables and RecordBatchReaders, polars DataFrames."""

    def __arrow_c_stream__(self, requested_schema: Any = ..., /) -> object: ...

@type_check_only
class _DataFrame(Protocol):
    """A pandas DataFrame (read by its columns, a batch of rows at a time)."""

    @property
    def columns(self) -> Any: ...
    @property
    def iloc(self) -> Any: ...

@type_check_only
class _Dataset(Protocol):
    """A Hugging Face `datasets.Dataset` (read through its Arrow table)."""

    @property
    def num_rows(self) -> int: ...
    def with_format(self, type: str, /) -> Any: ...

@type_check_only
class Turn(TypedDict, total=False):
    """One turn of a record: `role` and `content` are required."""

    role: Literal["system", "user", "assistant"]
    content: str
    tokenCount: int | None
    token_count: int | None

_Status: TypeAlias = Literal["draft", "generated", "pending_review", "approved", "rejected", "needs_revision", "failed"]
_Tier: TypeAlias = Literal["template", "scenario", "edge_case"]

@type_check_only
class Record(TypedDict, total=False):
    """A conversation record: only `conversation_id` (or `conversationId`)
    and `turns` (or `messages`) are required; see the README's
    record table for the defaults. camelCase and snake_case keys alike."""

    conversation_id: str
    conversationId: str
    id: str
    turns: Sequence[Turn]
    messages: Sequence[Turn]
    title: str
    status: _Status
    qualityScore: float
    quality_score: float
    tier: _Tier
    category: Sequence[str] | None
    persona: str | None
    emotion: str | None
    topic: str | None
    createdAt: str | datetime
    created_at: str | datetime
    updatedAt: str | datetime
    updated_at: str | datetime

_Conversations: TypeAlias = Union[
    _StrPath, bytes, bytearray, _ArrowStream, _DataFrame, _Dataset, Iterable[Record], Iterable[Mapping[str, Any]]
]
"""A DataFrame, an Arrow stream, a Dataset, an iterable of records (camelCase or snake_case keys), a path to canonical JSONL, or JSONL bytes."""

_Scope: TypeAlias = Literal["selected", "filtered", "all", "all_data"]

@type_check_only
class ExportConfig(TypedDict, total=False):
    """The export config (the API's camelCase keys); every key is optional here
    (`scope` and `format` have the binding's defaults). Unknown keys raise
    `ValidationError`."""

    scope: _Scope
    format: _Format
    includeMetadata: bool
    includeQualityScores: bool
    includeTimestamps: bool
    includeApprovalHistory: bool
    includeParentReferences: bool
    includeFullContent: bool
    jsonlFlavor: _Flavor
    systemPrompt: str | None
    csvFormulaGuard: bool

@type_check_only
class QualityRange(TypedDict):
    min: float
    max: float

_DateRange = TypedDict("_DateRange", {"from": Union[str, None], "to": Union[str, None]}, total=False)

@type_check_only
class FilterConfig(TypedDict, total=False):
    """Filters of scope "filtered"; all present conditions must hold."""

    tierTypes: Sequence[_Tier]
    statuses: Sequence[_Status]
    qualityRange: QualityRange
    dateRange: _DateRange
    categories: Sequence[str]
    personas: Sequence[str]
    emotions: Sequence[str]
    topics: Sequence[str]
    searchQuery: str
    parentId: str
_Destination: TypeAlias = Union[_StrPath, _BinaryWriter]
"""A path (created or truncated) or a binary file object."""
_Progress: TypeAlias = Union[bool, None, Callable[[int, Union[int, None]], object]]
"""True: a tqdm bar (a line on stderr without tqdm); a callable gets (records_done, total_or_None)."""
_Instant: TypeAlias = Union[datetime, str]
"""A timezone-aware datetime or RFC 3339 text."""

@type_check_only
class Location(TypedDict, total=False):
    line: int
    record: int
    field: str

@type_check_only
class Issue(TypedDict):
    path: str
    code: str
    message: str

@type_check_only
class SkippedRecord(TypedDict):
    location: Location
    conversation_id: NotRequired[str]
    reason: str

@type_check_only
class Finding(TypedDict):
    location: Location
    code: str
    message: str

@type_check_only
class ValidationReport(TypedDict):
    valid: bool
    records: int
    errors: list[Finding]
    warnings: list[Finding]

@type_check_only
class ExportSummaryDict(TypedDict):
    format: str
    conversations: int
    turns: int
    truncated_turns: int
    bytes: int
    sha256: str
    excluded: int
    skipped: list[SkippedRecord]
    skipped_total: int
    skipped_by_reason: dict[str, int]
    not_approved: int
    duplicate_ids: int
    missing_ids: list[str]
    tier_distribution: dict[str, int]
    warnings: list[str]
    dropped_fields: NotRequired[dict[str, int]]
    ignored_fields: NotRequired[dict[str, int]]

@final
class ExportSummary:
    """What an export did; `to_dict()` gives the core's serialised summary."""

    @property
    def format(self) -> str: ...
    @property
    def conversations(self) -> int: ...
    @property
    def turns(self) -> int: ...
    @property
    def truncated_turns(self) -> int: ...
    @property
    def bytes(self) -> int: ...
    @property
    def sha256(self) -> str: ...
    @property
    def excluded(self) -> int: ...
    @property
    def skipped(self) -> list[SkippedRecord]: ...
    @property
    def skipped_total(self) -> int: ...
    @property
    def skipped_by_reason(self) -> dict[str, int]: ...
    @property
    def not_approved(self) -> int: ...
    @property
    def duplicate_ids(self) -> int: ...
    @property
    def missing_ids(self) -> list[str]: ...
    @property
    def tier_distribution(self) -> dict[str, int]: ...
    @property
    def warnings(self) -> list[str]: ...
    @property
    def dropped_fields(self) -> dict[str, int]: ...
    @property
    def ignored_fields(self) -> dict[str, int]: ...
    @property
    def tier_label(self) -> str: ...
    def to_dict(self) -> ExportSummaryDict: ...

@final
class ExportIterator:
    """`bytes` chunks of an export; `summary` is set once exhausted."""

    def __iter__(self) -> ExportIterator: ...
    def __next__(self) -> bytes: ...
    @property
    def summary(self) -> ExportSummary | None: ...

def export(
    conversations: _Conversations,
    dest: _Destination,
    *,
    format: _Format | None = None,
    config: ExportConfig | None = None,
    filters: FilterConfig | None = None,
    ids: Iterable[str] | None = None,
    progress: _Progress = None,
    export_date: _Instant | None = None,
    strict: bool = False,
    metadata_dest: _Destination | None = None,
    dedupe: bool = False,
    max_skipped_share: float | None = None,
    too_many_skipped: Literal["raise", "warn"] = "raise",
    keep_skipped: int = 1000,
    allow_empty: bool = False,
    sync: bool = True,
    compression: Literal["none", "gzip", "zstd"] | None = None,
    columns: Mapping[str, str] | None = None,
    keep_columns: bool | Iterable[str] | None = None,
) -> ExportSummary:
    """Exports `conversations` into `dest` and returns the summary (see `help()` for every argument).

    A path `dest` is written beside itself and renamed into place on success;
    a `.gz`/`.zst`/... path is refused unless `compression` writes that
    compression (`summary.bytes` and `sha256` are then of the compressed file). The default scope takes every
    conversation given; `summary.not_approved` says how many are not approved.
    `columns` maps your column names to the record's fields (`{"dialog": "messages"}`);
    `keep_columns` (`True` or names) carries other columns into the metadata's
    `user_fields`; the rest are counted in `summary.ignored_fields` and warned about.
    """

@type_check_only
class DatasetFile(TypedDict):
    name: str
    conversations: int
    bytes: int
    sha256: str

@type_check_only
class DatasetSplit(TypedDict):
    name: str
    conversations: int
    bytes: int
    tiers: dict[str, int]  # conversations per tier
    files: list[DatasetFile]
    skipped_total: int  # its skipped rows (given splits: all of its input's)
    skipped: list[SkippedRecord]  # the first 100, located within the split's input
    leaks: int  # conversations repeating one of another split

@type_check_only
class DatasetSummaryDict(TypedDict):
    splits: list[DatasetSplit]
    duplicates_dropped: int
    duplicates_kept: int
    seed: int
    split_by: Literal["hash", "given"]
    leaks: int
    card: DatasetFile
    export: ExportSummaryDict

@type_check_only
class TokenSummary(TypedDict):
    tokenizer: str
    conversations: int
    total: int
    max: int
    p50: int
    p95: int
    over_max_tokens: int
    chat_template: NotRequired[str]

@final
class DatasetSummary:
    """What `export_dataset` did; `summary["key"]` and `to_dict()` give the core's serialised summary."""

    @property
    def splits(self) -> list[DatasetSplit]: ...
    @property
    def conversations(self) -> int: ...
    @property
    def duplicates_dropped(self) -> int: ...
    @property
    def duplicates_kept(self) -> int: ...
    @property
    def seed(self) -> int: ...
    @property
    def split_by(self) -> Literal["hash", "given"]: ...
    @property
    def leaks(self) -> int: ...
    @property
    def card(self) -> DatasetFile: ...
    @property
    def tokens(self) -> TokenSummary | None: ...
    @property
    def export(self) -> ExportSummary: ...
    def to_dict(self) -> DatasetSummaryDict: ...
    def __getitem__(self, key: str, /) -> Any: ...

def export_dataset(
    conversations: _Conversations | Mapping[str, _Conversations],
    dest_dir: str | os.PathLike[str],
    *,
    format: _Format | None = None,
    config: ExportConfig | None = None,
    filters: FilterConfig | None = None,
    ids: Iterable[str] | None = None,
    split: str | Mapping[str, float] | None = None,
    seed: int = 0,
    dedupe: bool = False,
    max_records_per_shard: int | None = None,
    max_bytes_per_shard: int | None = None,
    compression: Literal["gzip", "zstd"] | None = None,
    tokenizer: str | os.PathLike[str] | None = None,
    max_tokens: int | None = None,
    chat_template: str | os.PathLike[str] | None = None,
    export_date: _Instant | None = None,
    progress: _Progress = None,
    overwrite: bool = False,
    columns: Mapping[str, str] | None = None,
    keep_columns: bool | Iterable[str] | None = None,
) -> DatasetSummary:
    """Exports `conversations` as a Hugging Face dataset directory (splits, shards, card).

    The split is decided by a seeded hash of each conversation id; `dedupe`
    leaves out repeated ids and turns; `datasets.load_dataset(dest_dir)` loads it.
    A mapping of split names to inputs (a `datasets.DatasetDict`) keeps its
    splits as given; a conversation repeating one of an earlier split is a
    leak, counted and warned about.
    """

def iter_export(
    conversations: _Conversations,
    *,
    format: _Format | None = None,
    config: ExportConfig | None = None,
    filters: FilterConfig | None = None,
    ids: Iterable[str] | None = None,
    progress: _Progress = None,
    export_date: _Instant | None = None,
    strict: bool = False,
    metadata_dest: _Destination | None = None,
    dedupe: bool = False,
    max_skipped_share: float | None = None,
    too_many_skipped: Literal["raise", "warn"] = "raise",
    keep_skipped: int = 1000,
    allow_empty: bool = False,
    columns: Mapping[str, str] | None = None,
    keep_columns: bool | Iterable[str] | None = None,
) -> ExportIterator:
    """Like `export`, yielding the output as `bytes` chunks."""

def to_string(
    conversations: _Conversations,
    *,
    format: _Format | None = None,
    config: ExportConfig | None = None,
    filters: FilterConfig | None = None,
    ids: Iterable[str] | None = None,
    progress: _Progress = None,
    export_date: _Instant | None = None,
    strict: bool = False,
    metadata_dest: _Destination | None = None,
    dedupe: bool = False,
    max_skipped_share: float | None = None,
    too_many_skipped: Literal["raise", "warn"] = "raise",
    keep_skipped: int = 1000,
    allow_empty: bool = False,
    columns: Mapping[str, str] | None = None,
    keep_columns: bool | Iterable[str] | None = None,
) -> str:
    """Like `export`, returning the whole output as text (for small sets); Parquet raises ValueError."""

def preview(
    conversations: _Conversations,
    *,
    format: _Format | None = None,
    config: ExportConfig | None = None,
    n: int = 3,
    columns: Mapping[str, str] | None = None,
    keep_columns: bool | Iterable[str] | None = None,
) -> str:
    """The first `n` conversations rendered as the export would (no scope applied)."""

def validate_output(format: _Format, data_or_path: bytes | bytearray | _StrPath, *, flavor: _Flavor = "openai") -> ValidationReport:
    """Checks an exported file (a path) or exported bytes."""

def validate_request(body: Mapping[str, Any] | str | bytes) -> list[Issue]:
    """Every problem of an export request body; empty when it is valid."""

@type_check_only
class CompletedOutcome(TypedDict):
    status: Literal["completed"]
    http_status: Literal[201]
    export_id: str
    file_name: str
    file_size: int
    sha256: str
    expires_at: str
    conversation_count: int
    summary: ExportSummaryDict
    files: NotRequired[list[ExportFile]]  # a dataset export's files

@type_check_only
class ExportFile(TypedDict):
    name: str  # what download(..., file=name) takes, and its path in the zip
    object: str
    split: NotRequired[str]  # absent for the README.md card
    conversations: int
    bytes: int
    sha256: str

@type_check_only
class QueuedOutcome(TypedDict):
    status: Literal["queued"]
    http_status: Literal[202]
    export_id: str

_ExportStatus: TypeAlias = Literal["queued", "processing", "completed", "failed", "expired"]

@type_check_only
class StatusView(TypedDict):
    export_id: str
    status: _ExportStatus
    progress: NotRequired[int]
    conversation_count: int
    file_size: NotRequired[int]
    file_url: NotRequired[str]
    file_name: NotRequired[str]
    error_message: NotRequired[str]
    expires_at: NotRequired[str]
    files: NotRequired[list[ExportFile]]
    warning: NotRequired[str]

@type_check_only
class DownloadInfo(TypedDict):
    export_id: str
    file_name: str
    content_type: str
    content_disposition: str
    size: int | None  # None for a dataset export's zip
    sha256: str | None

@type_check_only
class HistoryItem(TypedDict):
    id: str
    export_id: str
    user_id: str
    timestamp: str
    format: _Format
    config: dict[str, Any]
    conversation_count: int
    file_size: int | None
    status: _ExportStatus
    file_url: str | None
    expires_at: str | None
    error_message: str | None
    created_at: str
    updated_at: str
    file_sha256: str | None
    download_count: int
    last_downloaded_at: str | None
    file_name: str | None
    downloadable: bool
    files: NotRequired[list[ExportFile]]

@type_check_only
class HistoryPage(TypedDict):
    items: list[HistoryItem]
    total: int
    page: int
    limit: int
    totalPages: int
    hasNext: bool
    hasPrev: bool

_HistoryQuery = TypedDict(
    "_HistoryQuery",
    {"format": _Format, "status": _ExportStatus, "from": _Instant, "to": _Instant, "page": int | str, "limit": int | str},
    total=False,
)

@type_check_only
class DeleteReport(TypedDict):
    export_id: str
    status: _ExportStatus
    cancelled: bool
    file_deleted: bool

@type_check_only
class WorkerReport(TypedDict):
    claimed: int
    completed: int
    retried: int
    failed: int
    stopped: int
    errors: int
    last_error: str | None

@type_check_only
class CleanupFailure(TypedDict):
    export_id: str
    error: str

@type_check_only
class CleanupReport(TypedDict):
    marked_expired: int
    files_deleted: int
    staged_files_deleted: int
    failures: list[CleanupFailure]

@type_check_only
class PurgeReport(TypedDict):
    logs_deleted: int
    audit_events_deleted: int

@type_check_only
class ScheduledRun(TypedDict):
    task: Literal["expire_exports", "cleanup_files", "purge_logs"]
    period_start: str
    worker_id: str
    started_at: str
    finished_at: str | None
    counts: dict[str, Any] | None
    error: str | None

@type_check_only
class ConversationQuery(TypedDict, total=False):
    filters: FilterConfig
    page: int  # from 1
    limit: int  # 1-100, default 25

@type_check_only
class ConversationRow(TypedDict):
    conversation_id: str
    title: str
    tier: _Tier
    status: _Status
    quality_score: float
    persona: str | None
    emotion: str | None
    topic: str | None
    category: list[str]
    turn_count: int
    created_at: str

@type_check_only
class ConversationPage(TypedDict):
    items: list[ConversationRow]
    total: int
    page: int
    limit: int
    totalPages: int

@type_check_only
class ScopeSelection(TypedDict, total=False):
    conversationIds: Sequence[str]
    filters: FilterConfig

@type_check_only
class ScopeCounts(TypedDict):
    selected: int
    filtered: int
    all: int
    all_data: int

@type_check_only
class ExportPreview(TypedDict):
    format: _Format
    preview: str
    count: int

@type_check_only
class ImportSummary(TypedDict):
    imported: int
    skipped: list[SkippedRecord]
    dropped_fields: NotRequired[dict[str, int]]
    ignored_fields: NotRequired[dict[str, int]]

@type_check_only
class MetricsReport(TypedDict):
    since: str
    completed: int
    failed: int
    success_rate: float
    avg_duration_ms: list[dict[str, Any]]
    format_distribution: dict[str, int]
    volume_per_hour: list[dict[str, Any]]
    queue_depth: int
    running_jobs: int
    oldest_queued_secs: int
    live_workers: int
    last_worker_seen_at: str | None
    failure_rate_alert: bool
    maintenance: list[dict[str, Any]]
    exports_by_status: list[dict[str, Any]]
    durations: list[dict[str, Any]]
    file_sizes: list[dict[str, Any]]
    storage_bytes: int
    exports_per_user: dict[str, Any]
    longest_running_secs: int
    requests: list[dict[str, Any]]

@type_check_only
class ErrorReport(TypedDict):
    """The detail of a failure, for the operator (what `on_error` receives)."""

    timestamp: str
    operation: str
    code: str
    error_id: str | None
    export_id: str | None
    attempt: int | None
    detail: str

@type_check_only
class MetricEvent(TypedDict):
    """An export created, completed or failed (what `on_event` receives)."""

    timestamp: str
    export_id: str
    user_id: str
    format: str
    duration_ms: int
    file_size: int
    conversation_count: int
    status: Literal["created", "completed", "failed"]

@type_check_only
class Health(TypedDict):
    """What `health()` answers: safe to expose from a health endpoint."""

    ok: bool
    database: bool
    migrations_current: bool
    schema_version: int | None
    latest_version: int
    worker_seen_at: str | None
    problem: str | None

@final
class ExportClient:
    """The export service on PostgreSQL (operations run off the GIL).

    Options: storage_root, expiry_hours, sync_threshold, rate_limit_per_hour,
    retention_days, batch_size, pool_size, max_attempts, stale_after (seconds);
    per-user limits: interactive_rate_limit (per minute), interactive_concurrency,
    interactive_statement_timeout (seconds), downloads_per_user,
    download_idle_timeout (seconds);
    quotas: max_conversations (per export), max_file_mb (per export file),
    storage_quota_mb (a user's downloadable files), max_jobs_per_user,
    max_queued_jobs;
    sign-in: supabase_url, jwt_secret, jwks_url, jwks (JSON), each else read
    from SUPABASE_URL, SUPABASE_JWT_SECRET, LORA_EXPORT_JWKS_URL, LORA_EXPORT_JWKS;
    audit_key (else LORA_EXPORT_AUDIT_KEY): seals every audit event with
    HMAC-SHA256 so that a rewrite by the database owner is detected;
    allow_anonymous (default False: a session of Supabase's anonymous sign-in
    is refused, LoraExportError with code ANONYMOUS_NOT_ALLOWED, status 403);
    where things live: schema (the library's own, default lora_export),
    conversations_table and turns_table (the app's relations, "schema.name"),
    else LORA_EXPORT_SCHEMA, LORA_EXPORT_CONVERSATIONS_TABLE, LORA_EXPORT_TURNS_TABLE.
    A user operation takes a verified `Session`, or a user id string from
    trusted code (never an id a request carries). The operations are the Node
    client's in snake_case; `status`, `history` and `delete` are deprecated
    aliases of `get_status`, `list_history` and `delete_export`.

    The client connects lazily: an unreachable database fails an operation
    (with its cause: `migrate()`, `health()`, `on_error`), never the client.
    on_error receives every error report (an internal error a caller got
    only as a code and `error_id`, a failed attempt of a background job, a
    failure of `migrate`, a worker or `health`; default: one JSON line on
    stderr; None turns it off); on_event every export created, completed
    or failed. Both are called from the client's threads and must not raise.
    """

    def __new__(
        cls,
        dsn: str,
        *,
        storage_root: _StrPath = ...,
        expiry_hours: int = ...,
        sync_threshold: int = ...,
        rate_limit_per_hour: int = ...,
        retention_days: int = ...,
        batch_size: int = ...,
        pool_size: int = ...,
        max_attempts: int = ...,
        stale_after: float = ...,
        interactive_rate_limit: int = ...,
        interactive_concurrency: int = ...,
        interactive_statement_timeout: float = ...,
        downloads_per_user: int = ...,
        download_idle_timeout: float = ...,
        max_conversations: int = ...,
        max_file_mb: int = ...,
        storage_quota_mb: int = ...,
        max_jobs_per_user: int = ...,
        max_queued_jobs: int = ...,
        supabase_url: str = ...,
        jwt_secret: str = ...,
        audit_key: str = ...,
        jwks_url: str = ...,
        jwks: str = ...,
        allow_anonymous: bool = ...,
        schema: str = ...,
        conversations_table: str = ...,
        turns_table: str = ...,
        on_error: Callable[[ErrorReport], object] | None = ...,
        on_event: Callable[[MetricEvent], object] | None = ...,
    ) -> ExportClient: ...
    def health(self) -> Health: ...
    def verify_session(self, token: str) -> Session: ...
    def authenticate(self, authorization: str | None = None, cookie: str | None = None) -> Session: ...
    def migrate(self, *, supabase_stand_ins: bool = False) -> list[int]: ...
    def create_dev_user(self, email: str) -> str: ...
    def import_conversations(self, source: _StrPath | bytes) -> ImportSummary: ...
    def create_export(self, user: Session | str, body: Mapping[str, Any]) -> CompletedOutcome | QueuedOutcome: ...
    def get_status(self, user: Session | str, export_id: str) -> StatusView: ...
    def download(self, user: Session | str, export_id: str, dest: _Destination, *, file: str | None = None) -> DownloadInfo: ...
    def inspect_download(self, user: Session | str, export_id: str, *, file: str | None = None) -> DownloadInfo: ...
    def list_history(self, user: Session | str, query: _HistoryQuery | None = None) -> HistoryPage: ...
    def delete_export(self, user: Session | str, export_id: str) -> DeleteReport: ...
    @deprecated("use get_status")
    def status(self, user: Session | str, export_id: str) -> StatusView: ...
    @deprecated("use list_history")
    def history(self, user: Session | str, query: _HistoryQuery | None = None) -> HistoryPage: ...
    @deprecated("use delete_export")
    def delete(self, user: Session | str, export_id: str) -> DeleteReport: ...
    def list_conversations(self, user: Session | str, body: ConversationQuery | None = None) -> ConversationPage: ...
    def count_scopes(self, user: Session | str, body: ScopeSelection | None = None) -> ScopeCounts: ...
    def preview_export(self, user: Session | str, body: Mapping[str, Any], *, n: int = 3) -> ExportPreview: ...
    def retry_export(self, user: Session | str, export_id: str) -> CompletedOutcome | QueuedOutcome: ...
    def audit_trail_csv(self, user: Session | str, *, all_users: bool = False) -> str: ...
    def run_worker(
        self, worker_id: str, *, max_jobs: int | None = None, poll_interval: float = 1.0, throttle: float | None = None
    ) -> WorkerReport: ...
    def stop_workers(self) -> None: ...
    def process_jobs(self, limit: int) -> int: ...
    def run_due_maintenance(self, worker_id: str | None = None) -> list[ScheduledRun]: ...
    def cleanup_expired(self) -> CleanupReport: ...
    def purge_old_logs(self) -> PurgeReport: ...
    def metrics(self, since: _Instant) -> MetricsReport: ...
    def prometheus_metrics(self) -> str: ...
    def record_request(self, route: str, status: int, seconds: float) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> ExportClient: ...
    def __exit__(self, *_exc: object) -> bool: ...

@final
class Session:
    """A signed-in user, as a verified Supabase access token proves it."""

    @property
    def user_id(self) -> str: ...
    @property
    def email(self) -> str | None: ...
    @property
    def expires_at(self) -> datetime: ...
    @property
    def is_anonymous(self) -> bool: ...

class LoraExportError(Exception):
    """Base class of every error of lora_export."""

    code: str
    """The core's stable error code, e.g. "NOT_FOUND"."""
    status: int
    """The HTTP status an API should answer with."""
    issues: Sequence[Issue]
    """Validation issues (ValidationError)."""
    retry_after: int | None
    error_id: str | None
    """Seconds to wait (RateLimitedError)."""
    reason: str | None
    """Why a sign-in was refused (InvalidTokenError): "expired", "wrong_audience", …"""
    location: Location | None
    """Where a malformed record was (MalformedRecordError)."""
    conversation_id: str | None
    """The malformed record's conversation_id, when it had one."""

class ValidationError(LoraExportError): ...
class MalformedRecordError(LoraExportError): ...
class TooManySkippedError(LoraExportError): ...
class NoConversationsError(LoraExportError): ...

class LoraExportWarning(UserWarning):
    """Records skipped (their count and top reasons), fields kept as the record's own, duplicate ids written, or conversations the default scope left out."""
class UnknownFormatError(LoraExportError): ...
class RejectedError(LoraExportError): ...
class InvalidTransitionError(LoraExportError): ...
class UnauthorizedError(LoraExportError): ...
class ForbiddenError(LoraExportError): ...
class NotFoundError(LoraExportError): ...
class GoneError(LoraExportError): ...
class TooEarlyError(LoraExportError): ...
class ExportFailedError(LoraExportError): ...
class NotRetryableError(LoraExportError): ...
class AdminRequiredError(LoraExportError): ...
class RateLimitedError(LoraExportError): ...
class ConfigError(LoraExportError): ...
class DatabaseError(LoraExportError): ...
class IoError(LoraExportError): ...
class CsvError(LoraExportError): ...
class JsonError(LoraExportError): ...
class UnknownUserError(LoraExportError): ...
class InvalidTokenError(LoraExportError): ...
class PoolerUnsupportedError(LoraExportError): ...
class ServiceUnavailableError(LoraExportError): ...
class NotMigratedError(LoraExportError): ...
class StorageError(LoraExportError): ...
class DatabaseTlsError(LoraExportError): ...
class ExportTooLargeError(LoraExportError): ...
class StorageQuotaExceededError(LoraExportError): ...
class QueueFullError(LoraExportError): ...
class RangeNotSatisfiableError(LoraExportError): ...
