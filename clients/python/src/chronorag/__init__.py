"""Python client of ChronoRAG, a temporal knowledge-graph RAG database.

Quick start::

    from chronorag import Client

    with Client("http://127.0.0.1:7070") as crag:
        crag.ingest("reports/")                       # a folder of .txt / .md / .jsonl
        result = crag.query("What did Acme report?", time="2023-Q3")
        prompt = f"Answer from this context:\\n{result.context}\\n\\nQuestion: ..."

:class:`Client` is synchronous, :class:`AsyncClient` is its asyncio twin; results are the frozen
dataclasses of :mod:`chronorag.models`; errors are the exceptions of :mod:`chronorag.errors`.
"""

from ._documents import read_documents, read_path
from ._version import __version__
from .async_client import AsyncClient
from .client import Client
from .errors import (
    BadRequest,
    ChronoRagError,
    Conflict,
    ConnectionFailed,
    Forbidden,
    InvalidInput,
    InvalidTime,
    JobTimeout,
    NotFound,
    RateLimited,
    ServerError,
    TooLarge,
    Unauthorized,
    Unavailable,
)
from .models import (
    AssertResult,
    AuditEntry,
    AuditVerify,
    CacheHit,
    ChunkHit,
    CorrectResult,
    CreatedNamespace,
    Diff,
    Document,
    DocumentRecord,
    DocumentView,
    Entity,
    EntityPage,
    EntityTimeline,
    EraseReport,
    Fact,
    FactConflict,
    FactHit,
    FactPage,
    Health,
    IngestResult,
    Job,
    NamespaceInfo,
    Facet,
    FacetPlan,
    PassageHit,
    Plan,
    QueryResult,
    Rejected,
    StreamEvent,
    RetractResult,
    RollbackResult,
    SummaryHit,
    TimelineNode,
    TransactionPage,
    Tx,
    VerifyReport,
    BackupReport,
)

__all__ = [
    "__version__",
    "Client",
    "AsyncClient",
    "read_documents",
    "read_path",
    # errors
    "ChronoRagError",
    "BadRequest",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "Conflict",
    "TooLarge",
    "InvalidTime",
    "RateLimited",
    "ServerError",
    "Unavailable",
    "ConnectionFailed",
    "InvalidInput",
    "JobTimeout",
    # models
    "Document",
    "QueryResult",
    "StreamEvent",
    "Plan",
    "FacetPlan",
    "Facet",
    "PassageHit",
    "CacheHit",
    "FactHit",
    "ChunkHit",
    "SummaryHit",
    "Fact",
    "FactPage",
    "Entity",
    "EntityPage",
    "EntityTimeline",
    "TimelineNode",
    "IngestResult",
    "Rejected",
    "Job",
    "Tx",
    "TransactionPage",
    "Diff",
    "AssertResult",
    "CorrectResult",
    "RetractResult",
    "RollbackResult",
    "AuditEntry",
    "AuditVerify",
    "VerifyReport",
    "BackupReport",
    "EraseReport",
    "FactConflict",
    "NamespaceInfo",
    "CreatedNamespace",
    "Health",
    "DocumentRecord",
    "DocumentView",
]
