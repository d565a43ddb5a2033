"""Result and input types.

Results are frozen dataclasses parsed defensively from the server's JSON: unknown fields are
ignored (a newer server does not break an older client) and a missing or mistyped field takes its
default. Every result keeps the JSON object it was parsed from as ``raw`` (excluded from ``==``
and ``repr``), so fields added by newer servers remain reachable.

Dates (``"2019-01-01"``) and timestamps (RFC 3339) are kept as the strings the server sent.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Tuple

from . import _coerce as c

__all__ = [
    "Document",
    "Interval",
    "SourceRef",
    "ChunkHit",
    "SummaryHit",
    "Stage",
    "Answer",
    "TimeScope",
    "Plan",
    "QueryResult",
    "Fact",
    "FactPage",
    "Entity",
    "EntityPage",
    "EntityTimeline",
    "TimelineChild",
    "Finding",
    "Summary",
    "TimelineNode",
    "Rejected",
    "IngestResult",
    "JobProgress",
    "Job",
    "Change",
    "Tx",
    "TransactionPage",
    "FactChange",
    "EntityChange",
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
    "Chunk",
    "DocumentView",
    "DocumentPage",
    "SummarizeReport",
]

_Raw = Mapping[str, Any]


def _raw() -> Any:
    return field(default_factory=dict, repr=False, compare=False)


# --------------------------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    """A document to ingest (the server's ``DocumentInput``).

    Attributes:
        text: The text (UTF-8, not blank, at most 16 MiB).
        id: User-facing id: any text of at most 512 bytes (a URL with query string and
            fragment, a path, a key), not blank, without control or invisible formatting
            characters; derived from the content hash when omitted.
        time: The document's own period: ``"2024-07-15"``, ``"2024-07"``, ``"2024-W28"``,
            ``"2024-Q3"``, ``"2024"`` or an expression such as ``"Q3 2024"``.
        title: Title, kept with every chunk (default: the first Markdown heading).
        source: Where it came from (path, URL).
        metadata: Free-form metadata; ``date``/``published``/``year``... give a time when
            ``time`` is absent.
    """

    text: str
    id: Optional[str] = None
    time: Optional[str] = None
    title: Optional[str] = None
    source: Optional[str] = None
    metadata: Optional[Mapping[str, Any]] = None

    def to_json(self) -> Dict[str, Any]:
        """The JSON object sent to the server (absent fields omitted)."""
        out: Dict[str, Any] = {"text": self.text}
        for name in ("id", "time", "title", "source"):
            v = getattr(self, name)
            if v is not None:
                out[name] = v
        if self.metadata:
            out["metadata"] = dict(self.metadata)
        return out

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any]) -> "Document":
        """A document from a dict with the server's field names (unknown keys are an error)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(m) - known
        if unknown:
            raise ValueError(
                f"unknown document field(s) {sorted(unknown)}; allowed: {sorted(known)}"
            )
        if not isinstance(m.get("text"), str):
            raise ValueError("a document needs a `text` string")
        return cls(**dict(m))


# --------------------------------------------------------------------------------------------
# Query
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """Half-open interval of days ``[start, end)``; ``None`` = unbounded. Dates are ISO strings."""

    start: Optional[str] = None
    end: Optional[str] = None
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "Interval":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(start=c.opt_str(o.get("start")), end=c.opt_str(o.get("end")), raw=o)


@dataclass(frozen=True)
class SourceRef:
    """Where a fact came from: document id, chunk id and document time."""

    document: str = ""
    chunk: int = 0
    time: Optional[str] = None
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "SourceRef":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(
            document=c.to_str(o.get("document")),
            chunk=c.to_int(o.get("chunk")),
            time=c.opt_str(o.get("time")),
            raw=o,
        )


@dataclass(frozen=True)
class Fact:
    """A temporal fact (subject, object, description, valid time) with provenance and
    transaction time: the one shape of a fact in query results, timelines, ``facts()``,
    ``fact()`` and conflicts.

    ``subject`` and ``object`` are display text (the object is an entity's name or a literal
    value, ``None`` for a statement about the subject alone); ``subject_id`` and ``object_id``
    are the entity ids (``object_id`` is ``None`` for a literal). ``score`` is set in query
    results only.
    """

    id: int = 0
    subject: str = ""
    subject_id: int = 0
    object: Optional[str] = None
    object_id: Optional[int] = None
    description: str = ""
    valid: Interval = field(default_factory=Interval)
    time: str = ""
    granularity: str = ""
    time_inherited: bool = False
    confidence: float = 0.0
    origin: Any = None
    status: str = "active"
    asserted_tx: int = 0
    retracted_tx: Optional[int] = None
    updated_tx: int = 0
    invalid_from: Optional[str] = None
    invalidated_by: Optional[int] = None
    sources: Tuple[SourceRef, ...] = ()
    score: Optional[float] = None
    raw: _Raw = _raw()

    @property
    def is_active(self) -> bool:
        """Whether the fact is asserted (not retracted) in the snapshot read."""
        return self.status == "active"

    @classmethod
    def from_json(cls, v: Any) -> "Fact":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(
            id=c.to_int(o.get("id")),
            subject=c.to_str(o.get("subject")),
            subject_id=c.to_int(o.get("subject_id")),
            object=c.opt_str(o.get("object")),
            object_id=c.opt_int(o.get("object_id")),
            description=c.to_str(o.get("description")),
            valid=Interval.from_json(o.get("valid")),
            time=c.to_str(o.get("time")),
            granularity=c.to_str(o.get("granularity")),
            time_inherited=c.to_bool(o.get("time_inherited")),
            confidence=c.to_float(o.get("confidence")),
            origin=o.get("origin"),
            status=c.to_str(o.get("status"), "active"),
            asserted_tx=c.to_int(o.get("asserted_tx")),
            retracted_tx=c.opt_int(o.get("retracted_tx")),
            updated_tx=c.to_int(o.get("updated_tx")),
            invalid_from=c.opt_str(o.get("invalid_from")),
            invalidated_by=c.opt_int(o.get("invalidated_by")),
            sources=c.items(o.get("sources"), SourceRef.from_json),
            score=c.opt_float(o.get("score")),
            raw=o,
        )


#: The name query results used for facts before 0.9; the same type as :class:`Fact`.
FactHit = Fact


@dataclass(frozen=True)
class ChunkHit:
    """A text chunk in a query result."""

    id: int = 0
    document: str = ""
    title: Optional[str] = None
    time: Optional[str] = None
    text: str = ""
    score: float = 0.0
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "ChunkHit":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(
            id=c.to_int(o.get("id")),
            document=c.to_str(o.get("document")),
            title=c.opt_str(o.get("title")),
            time=c.opt_str(o.get("time")),
            text=c.to_str(o.get("text")),
            score=c.to_float(o.get("score")),
            raw=o,
        )


@dataclass(frozen=True)
class SummaryHit:
    """A time-node summary in a query result (abstract questions)."""

    node: str = ""
    title: str = ""
    text: str = ""
    findings: Tuple[str, ...] = ()
    reflects_tx: int = 0
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "SummaryHit":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(
            node=c.to_str(o.get("node")),
            title=c.to_str(o.get("title")),
            text=c.to_str(o.get("text")),
            findings=c.strs(o.get("findings")),
            reflects_tx=c.to_int(o.get("reflects_tx")),
            raw=o,
        )


@dataclass(frozen=True)
class Stage:
    """One stage of an explained query: name, milliseconds, candidates kept, the best few."""

    stage: str = ""
    ms: float = 0.0
    kept: int = 0
    top: Tuple[str, ...] = ()
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "Stage":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(
            stage=c.to_str(o.get("stage")),
            ms=c.to_float(o.get("ms")),
            kept=c.to_int(o.get("kept")),
            top=c.strs(o.get("top")),
            raw=o,
        )


@dataclass(frozen=True)
class Answer:
    """An LLM answer (only when the server has an LLM configured and it was asked for)."""

    text: str = ""
    model: str = ""
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "Answer":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(text=c.to_str(o.get("text")), model=c.to_str(o.get("model")), raw=o)


@dataclass(frozen=True)
class CacheHit:
    """How an answer came from the server's query cache.

    Attributes:
        kind: ``exact`` (the same request) or ``semantic`` (a paraphrase with the same plan).
        category: ``head``, ``relative`` (a period worked out from ``now``) or ``as_of``.
        question: The question whose plan and context were reused.
        similarity: Cosine similarity of the two questions (1 for an exact hit).
    """

    kind: str = ""
    category: str = ""
    question: str = ""
    similarity: float = 0.0
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "CacheHit":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(
            kind=c.to_str(o.get("kind")),
            category=c.to_str(o.get("category")),
            question=c.to_str(o.get("question")),
            similarity=c.to_float(o.get("similarity")),
            raw=o,
        )


@dataclass(frozen=True)
class TimeScope:
    """How the time scope of a query restricts evidence."""

    intervals: Tuple[Interval, ...] = ()
    keys: Tuple[str, ...] = ()
    granularity: str = ""
    relation: str = ""
    hard: bool = False
    source: str = ""
    text: str = ""
    reason: str = ""
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "TimeScope":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(
            intervals=c.items(o.get("intervals"), Interval.from_json),
            keys=c.strs(o.get("keys")),
            granularity=c.to_str(o.get("granularity")),
            relation=c.to_str(o.get("relation")),
            hard=c.to_bool(o.get("hard")),
            source=c.to_str(o.get("source")),
            text=c.to_str(o.get("text")),
            reason=c.to_str(o.get("reason")),
            raw=o,
        )


@dataclass(frozen=True)
class Facet:
    """One part of a question (an entity of a list x a period) and whether it got evidence."""

    label: str = ""
    entity: Optional[int] = None
    period: Optional[int] = None
    passages: int = 0
    evidence: bool = False
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "Facet":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(
            label=c.to_str(o.get("label")),
            entity=c.opt_int(o.get("entity")),
            period=c.opt_int(o.get("period")),
            passages=c.to_int(o.get("passages")),
            evidence=c.to_bool(o.get("evidence")),
            raw=o,
        )


@dataclass(frozen=True)
class FacetPlan:
    """The question's facets: entities of a list, periods (ranges split at the granularity
    asked), the measure asked, and one facet per entity x period.

    Attributes:
        entities: Entity names listed in the question.
        periods: Period labels (time keys such as ``2024-Q1``).
        measure: What is asked about (``"gross margin"``), if found.
        facets: The facets, each with the passages it got.
    """

    entities: Tuple[str, ...] = ()
    periods: Tuple[str, ...] = ()
    step: Optional[str] = None
    measure: Optional[str] = None
    facets: Tuple[Facet, ...] = ()
    notes: Tuple[str, ...] = ()
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "FacetPlan":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(
            entities=tuple(c.to_str(c.obj(e).get("name")) for e in c.as_list(o.get("entities"))),
            periods=tuple(c.to_str(c.obj(p).get("label")) for p in c.as_list(o.get("periods"))),
            step=c.opt_str(o.get("step")),
            measure=c.opt_str(o.get("measure")),
            facets=c.items(o.get("facets"), Facet.from_json),
            notes=c.strs(o.get("notes")),
            raw=o,
        )


@dataclass(frozen=True)
class PassageHit:
    """A passage of the context: cut around the best sentences of a document (``document``,
    ``chunk``) or a whole unit such as a summary (``unit``), placed for facet ``facet``."""

    text: str = ""
    facet: int = 0
    score: float = 0.0
    document: Optional[str] = None
    chunk: Optional[int] = None
    unit: Optional[str] = None
    time: Optional[str] = None
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "PassageHit":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(
            text=c.to_str(o.get("text")),
            facet=c.to_int(o.get("facet")),
            score=c.to_float(o.get("score")),
            document=c.opt_str(o.get("document")),
            chunk=c.opt_int(o.get("chunk")),
            unit=c.opt_str(o.get("unit")),
            time=c.opt_str(o.get("time")),
            raw=o,
        )


@dataclass(frozen=True)
class Plan:
    """What the server understood of a question: time scope, intent, snapshot."""

    query: str = ""
    semantic_query: str = ""
    intent: str = ""
    intent_reason: str = ""
    time_scope: Optional[TimeScope] = None
    facets: FacetPlan = field(default_factory=FacetPlan)
    now: Optional[str] = None
    now_source: Optional[str] = None
    as_of_tx: int = 0
    fallback: Optional[str] = None
    notes: Tuple[str, ...] = ()
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "Plan":
        """Parses the server's JSON."""
        o = c.obj(v)
        ts = o.get("time_scope")
        return cls(
            query=c.to_str(o.get("query")),
            semantic_query=c.to_str(o.get("semantic_query")),
            intent=c.to_str(o.get("intent")),
            intent_reason=c.to_str(o.get("intent_reason")),
            time_scope=TimeScope.from_json(ts) if isinstance(ts, Mapping) else None,
            facets=FacetPlan.from_json(o.get("facets")),
            now=c.opt_str(o.get("now")),
            now_source=c.opt_str(o.get("now_source")),
            as_of_tx=c.to_int(o.get("as_of_tx")),
            fallback=c.opt_str(o.get("fallback")),
            notes=c.strs(o.get("notes")),
            raw=o,
        )


@dataclass(frozen=True)
class QueryResult:
    """The answer to a query.

    Attributes:
        context: The assembled, cited context (most relevant first, within the budget): put it
            into your LLM prompt.
        plan: What was understood (time scope, intent, snapshot).
        facts: Facts, most relevant first.
        chunks: Text chunks, most relevant first.
        summaries: Time-node summaries (abstract questions).
        passages: The passages of the context, in context order, each with its facet.
        explain: Per-stage timings and candidates (with ``explain=True``), else ``None``.
        answer: The server-side LLM answer, when one was produced.
        cache: Set when the answer came from the server's query cache, else ``None``.
    """

    context: str = ""
    plan: Plan = field(default_factory=Plan)
    facts: Tuple[Fact, ...] = ()
    chunks: Tuple[ChunkHit, ...] = ()
    summaries: Tuple[SummaryHit, ...] = ()
    passages: Tuple[PassageHit, ...] = ()
    explain: Optional[Tuple[Stage, ...]] = None
    answer: Optional[Answer] = None
    cache: Optional[CacheHit] = None
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "QueryResult":
        """Parses the server's JSON."""
        o = c.obj(v)
        ex = o.get("explain")
        an = o.get("answer")
        ch = o.get("cache")
        return cls(
            context=c.to_str(o.get("context")),
            plan=Plan.from_json(o.get("plan")),
            facts=c.items(o.get("facts"), Fact.from_json),
            chunks=c.items(o.get("chunks"), ChunkHit.from_json),
            summaries=c.items(o.get("summaries"), SummaryHit.from_json),
            passages=c.items(o.get("passages"), PassageHit.from_json),
            explain=c.items(ex, Stage.from_json) if isinstance(ex, list) else None,
            answer=Answer.from_json(an) if isinstance(an, Mapping) else None,
            cache=CacheHit.from_json(ch) if isinstance(ch, Mapping) else None,
            raw=o,
        )


@dataclass(frozen=True)
class StreamEvent:
    """One event of a streamed query (:meth:`chronorag.Client.query_stream`).

    Attributes:
        event: ``"context"`` (always first), ``"token"`` (zero or more), ``"answer"`` (last).
        result: With ``"context"``: the query result without the answer (plan, facts, passages
            and the cited context).
        text: With ``"token"``: one piece of the LLM's reply, as it arrived; with ``"answer"``:
            the whole reply.
        answer: With ``"answer"``: the LLM answer.
    """

    event: str
    result: Optional[QueryResult] = None
    text: str = ""
    answer: Optional[Answer] = None


# --------------------------------------------------------------------------------------------
# Facts, entities, timeline
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FactPage:
    """One page of facts; ``next_cursor`` is the cursor of the next page (``None`` on the
    last)."""

    facts: Tuple[Fact, ...] = ()
    next_cursor: Optional[str] = None
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "FactPage":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(
            facts=c.items(o.get("facts"), Fact.from_json),
            next_cursor=c.opt_str(o.get("next_cursor")),
            raw=o,
        )


@dataclass(frozen=True)
class Entity:
    """An entity (node of the knowledge graph) with its fact count."""

    id: int = 0
    name: str = ""
    kind: str = "other"
    aliases: Tuple[str, ...] = ()
    merged_into: Optional[int] = None
    status: str = "active"
    added_tx: int = 0
    updated_tx: int = 0
    fact_count: int = 0
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "Entity":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(
            id=c.to_int(o.get("id")),
            name=c.to_str(o.get("name")),
            kind=c.to_str(o.get("kind"), "other"),
            aliases=c.strs(o.get("aliases")),
            merged_into=c.opt_int(o.get("merged_into")),
            status=c.to_str(o.get("status"), "active"),
            added_tx=c.to_int(o.get("added_tx")),
            updated_tx=c.to_int(o.get("updated_tx")),
            fact_count=c.to_int(o.get("fact_count")),
            raw=o,
        )


@dataclass(frozen=True)
class EntityPage:
    """One page of entities; ``next_cursor`` is the cursor of the next page (``None`` on the
    last)."""

    entities: Tuple[Entity, ...] = ()
    next_cursor: Optional[str] = None
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "EntityPage":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(
            entities=c.items(o.get("entities"), Entity.from_json),
            next_cursor=c.opt_str(o.get("next_cursor")),
            raw=o,
        )


@dataclass(frozen=True)
class EntityTimeline:
    """An entity's facts in valid-time order (one page; ``next_cursor`` is the cursor of the
    next)."""

    entity: Entity = field(default_factory=Entity)
    facts: Tuple[Fact, ...] = ()
    next_cursor: Optional[str] = None
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "EntityTimeline":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(
            entity=Entity.from_json(o.get("entity")),
            facts=c.items(o.get("facts"), Fact.from_json),
            next_cursor=c.opt_str(o.get("next_cursor")),
            raw=o,
        )


@dataclass(frozen=True)
class TimelineChild:
    """A period inside a timeline node (a year of the root, a quarter of a year, ...)."""

    node: str = ""
    label: str = ""
    title: Optional[str] = None
    fact_count: int = 0
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "TimelineChild":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(
            node=c.to_str(o.get("node")),
            label=c.to_str(o.get("label")),
            title=c.opt_str(o.get("title")),
            fact_count=c.to_int(o.get("fact_count")),
            raw=o,
        )


@dataclass(frozen=True)
class Finding:
    """A key finding of a summary, with the facts and entities it rests on."""

    text: str = ""
    facts: Tuple[int, ...] = ()
    entities: Tuple[int, ...] = ()
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "Finding":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(
            text=c.to_str(o.get("text")),
            facts=c.ints(o.get("facts")),
            entities=c.ints(o.get("entities")),
            raw=o,
        )


@dataclass(frozen=True)
class Summary:
    """The summary of a time node."""

    node: str = ""
    title: str = ""
    text: str = ""
    findings: Tuple[Finding, ...] = ()
    entities: Tuple[int, ...] = ()
    rating: float = 0.0
    summarizer: str = ""
    fact_count: int = 0
    reflects_tx: int = 0
    version_tx: int = 0
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "Summary":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(
            node=c.to_str(o.get("node")),
            title=c.to_str(o.get("title")),
            text=c.to_str(o.get("text")),
            findings=c.items(o.get("findings"), Finding.from_json),
            entities=c.ints(o.get("entities")),
            rating=c.to_float(o.get("rating")),
            summarizer=c.to_str(o.get("summarizer")),
            fact_count=c.to_int(o.get("fact_count")),
            reflects_tx=c.to_int(o.get("reflects_tx")),
            version_tx=c.to_int(o.get("version_tx")),
            raw=o,
        )


@dataclass(frozen=True)
class TimelineNode:
    """A node of the calendar hierarchy (``all`` for the root listing the years)."""

    node: str = ""
    label: str = ""
    summary: Optional[Summary] = None
    children: Tuple[TimelineChild, ...] = ()
    facts: Tuple[Fact, ...] = ()
    stale: bool = False
    stale_since_tx: Optional[int] = None
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "TimelineNode":
        """Parses the server's JSON."""
        o = c.obj(v)
        s = o.get("summary")
        return cls(
            node=c.to_str(o.get("node")),
            label=c.to_str(o.get("label")),
            summary=Summary.from_json(s) if isinstance(s, Mapping) else None,
            children=c.items(o.get("children"), TimelineChild.from_json),
            facts=c.items(o.get("facts"), Fact.from_json),
            stale=c.to_bool(o.get("stale")),
            stale_since_tx=c.opt_int(o.get("stale_since_tx")),
            raw=o,
        )


# --------------------------------------------------------------------------------------------
# Ingest and jobs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rejected:
    """An input that was not ingested: file (or ``request``), 1-based line for ``.jsonl``, why."""

    file: str = ""
    line: Optional[int] = None
    reason: str = ""
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "Rejected":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(
            file=c.to_str(o.get("file")),
            line=c.opt_int(o.get("line")),
            reason=c.to_str(o.get("reason")),
            raw=o,
        )

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class IngestResult:
    """What an ingest did. ``tx`` is ``None`` when every document was a duplicate."""

    tx: Optional[int] = None
    documents: int = 0
    chunks: int = 0
    facts: int = 0
    facts_merged: int = 0
    entities: int = 0
    time_nodes: int = 0
    duplicates: int = 0
    document_ids: Tuple[str, ...] = ()
    rejected: Tuple[Rejected, ...] = ()
    #: Bytes of text ingested.
    bytes: int = 0
    #: Chunks the configured LLM extractor could not read, extracted by the rules instead.
    fallbacks: int = 0
    #: Earlier facts whose valid time this ingest closed (a newer value for the same slot).
    invalidated: int = 0
    #: Contradictions kept for review (``conflicts()``).
    conflicts: int = 0
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "IngestResult":
        """Parses the server's JSON (the synchronous answer or a finished job's ``result``)."""
        o = c.obj(v)
        return cls(
            tx=c.opt_int(o.get("tx")),
            documents=c.to_int(o.get("documents")),
            chunks=c.to_int(o.get("chunks")),
            facts=c.to_int(o.get("facts")),
            facts_merged=c.to_int(o.get("facts_merged")),
            entities=c.to_int(o.get("entities")),
            time_nodes=c.to_int(o.get("time_nodes")),
            duplicates=c.to_int(o.get("duplicates")),
            document_ids=c.strs(o.get("document_ids")),
            rejected=c.items(o.get("rejected"), Rejected.from_json),
            bytes=c.to_int(o.get("bytes")),
            fallbacks=c.to_int(o.get("fallbacks")),
            invalidated=c.to_int(o.get("invalidated")),
            conflicts=c.to_int(o.get("conflicts")),
            raw=o,
        )


@dataclass(frozen=True)
class JobProgress:
    """Documents processed out of the documents in the job."""

    done: int = 0
    total: int = 0
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "JobProgress":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(done=c.to_int(o.get("done")), total=c.to_int(o.get("total")), raw=o)


@dataclass(frozen=True)
class Job:
    """An ingest job (``state``: ``queued``, ``running``, ``done`` or ``failed``)."""

    id: int = 0
    namespace: str = ""
    state: str = ""
    actor: str = ""
    reason: Optional[str] = None
    created_at: str = ""
    started_at: Optional[str] = None
    finished_at: Optional[str] = None
    progress: JobProgress = field(default_factory=JobProgress)
    result: Optional[IngestResult] = None
    error: Optional[str] = None
    raw: _Raw = _raw()

    @property
    def finished(self) -> bool:
        """Whether the job is over (``done`` or ``failed``)."""
        return self.state in ("done", "failed")

    @property
    def ok(self) -> bool:
        """Whether the job finished successfully."""
        return self.state == "done"

    @classmethod
    def from_json(cls, v: Any) -> "Job":
        """Parses the server's JSON."""
        o = c.obj(v)
        r = o.get("result")
        return cls(
            id=c.to_int(o.get("id")),
            namespace=c.to_str(o.get("namespace")),
            state=c.to_str(o.get("state")),
            actor=c.to_str(o.get("actor")),
            reason=c.opt_str(o.get("reason")),
            created_at=c.to_str(o.get("created_at")),
            started_at=c.opt_str(o.get("started_at")),
            finished_at=c.opt_str(o.get("finished_at")),
            progress=JobProgress.from_json(o.get("progress")),
            result=IngestResult.from_json(r) if isinstance(r, Mapping) else None,
            error=c.opt_str(o.get("error")),
            raw=o,
        )


# --------------------------------------------------------------------------------------------
# Governance
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One change inside a transaction: ``op`` (``assert_fact``, ``add_document``, ...) and id."""

    op: str = ""
    id: Any = None
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "Change":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(op=c.to_str(o.get("op")), id=o.get("id"), raw=o)


@dataclass(frozen=True)
class Tx:
    """A committed transaction.

    ``kind`` is the operation (``ingest``, ``assert``, ``correct``, ``retract``,
    ``merge_entities``, ``rename_entity``, ``revert``, ``rollback``, ``erase``); ``kind_details``
    is the whole kind object (e.g. ``{"type": "rollback", "to": 3}``).
    """

    id: int = 0
    at: str = ""
    actor: str = ""
    reason: Optional[str] = None
    kind: str = ""
    kind_details: Mapping[str, Any] = field(default_factory=dict)
    changes: Tuple[Change, ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)
    touched_nodes: Tuple[str, ...] = ()
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "Tx":
        """Parses the server's JSON."""
        o = c.obj(v)
        k = c.obj(o.get("kind"))
        return cls(
            id=c.to_int(o.get("id")),
            at=c.to_str(o.get("at")),
            actor=c.to_str(o.get("actor")),
            reason=c.opt_str(o.get("reason")),
            kind=c.to_str(k.get("type")),
            kind_details=dict(k),
            changes=c.items(o.get("changes"), Change.from_json),
            counts=c.int_map(o.get("counts")),
            touched_nodes=c.strs(o.get("touched_nodes")),
            raw=o,
        )


@dataclass(frozen=True)
class TransactionPage:
    """Transactions, newest first; ``next_cursor`` is the cursor of the next (older) page."""

    transactions: Tuple[Tx, ...] = ()
    next_cursor: Optional[str] = None
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "TransactionPage":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(
            transactions=c.items(o.get("transactions"), Tx.from_json),
            next_cursor=c.opt_str(o.get("next_cursor")),
            raw=o,
        )


@dataclass(frozen=True)
class FactChange:
    """A fact in a diff (``fields`` names what changed, for updates)."""

    id: int = 0
    description: str = ""
    time: str = ""
    fields: Tuple[str, ...] = ()
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "FactChange":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(
            id=c.to_int(o.get("id")),
            description=c.to_str(o.get("description")),
            time=c.to_str(o.get("time")),
            fields=c.strs(o.get("fields")),
            raw=o,
        )


@dataclass(frozen=True)
class EntityChange:
    """An entity in a diff (``change``: created, updated, retracted, erased)."""

    id: int = 0
    name: str = ""
    change: str = ""
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "EntityChange":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(
            id=c.to_int(o.get("id")),
            name=c.to_str(o.get("name")),
            change=c.to_str(o.get("change")),
            raw=o,
        )


@dataclass(frozen=True)
class Diff:
    """What changed between the snapshots ``from_tx`` (exclusive) and ``to_tx`` (inclusive)."""

    from_tx: int = 0
    to_tx: int = 0
    facts_asserted: Tuple[FactChange, ...] = ()
    facts_retracted: Tuple[FactChange, ...] = ()
    facts_updated: Tuple[FactChange, ...] = ()
    entities: Tuple[EntityChange, ...] = ()
    summaries_changed: Tuple[str, ...] = ()
    transactions: Tuple[int, ...] = ()
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "Diff":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(
            from_tx=c.to_int(o.get("from_tx")),
            to_tx=c.to_int(o.get("to_tx")),
            facts_asserted=c.items(o.get("facts_asserted"), FactChange.from_json),
            facts_retracted=c.items(o.get("facts_retracted"), FactChange.from_json),
            facts_updated=c.items(o.get("facts_updated"), FactChange.from_json),
            entities=c.items(o.get("entities"), EntityChange.from_json),
            summaries_changed=c.strs(o.get("summaries_changed")),
            transactions=c.ints(o.get("transactions")),
            raw=o,
        )


@dataclass(frozen=True)
class AssertResult:
    """The transaction of an assertion and the ids of the facts asserted."""

    tx: int = 0
    facts: Tuple[int, ...] = ()
    raw: _Raw = _raw()

    @property
    def fact(self) -> Optional[int]:
        """The id of the (first) fact asserted."""
        return self.facts[0] if self.facts else None

    @classmethod
    def from_json(cls, v: Any) -> "AssertResult":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(tx=c.to_int(o.get("tx")), facts=c.ints(o.get("facts")), raw=o)


@dataclass(frozen=True)
class CorrectResult:
    """A correction: the transaction, the retracted fact and the corrected copy's id."""

    tx: int = 0
    retracted: int = 0
    fact: int = 0
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "CorrectResult":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(
            tx=c.to_int(o.get("tx")),
            retracted=c.to_int(o.get("retracted")),
            fact=c.to_int(o.get("fact")),
            raw=o,
        )


@dataclass(frozen=True)
class RetractResult:
    """A retraction: the transaction and the fact retracted."""

    tx: int = 0
    retracted: int = 0
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "RetractResult":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(tx=c.to_int(o.get("tx")), retracted=c.to_int(o.get("retracted")), raw=o)


@dataclass(frozen=True)
class RollbackResult:
    """A revert or rollback: the new transaction, its kind and counts."""

    tx: int = 0
    kind: str = ""
    kind_details: Mapping[str, Any] = field(default_factory=dict)
    counts: Mapping[str, int] = field(default_factory=dict)
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "RollbackResult":
        """Parses the server's JSON."""
        o = c.obj(v)
        k = c.obj(o.get("kind"))
        return cls(
            tx=c.to_int(o.get("tx")),
            kind=c.to_str(k.get("type")),
            kind_details=dict(k),
            counts=c.int_map(o.get("counts")),
            raw=o,
        )


@dataclass(frozen=True)
class AuditEntry:
    """One entry of a namespace's hash-chained audit log."""

    seq: int = 0
    tx: Optional[int] = None
    at: str = ""
    actor: str = ""
    action: str = ""
    reason: Optional[str] = None
    counts: Mapping[str, int] = field(default_factory=dict)
    details: Any = None
    prev_hash: str = ""
    hash: str = ""
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "AuditEntry":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(
            seq=c.to_int(o.get("seq")),
            tx=c.opt_int(o.get("tx")),
            at=c.to_str(o.get("at")),
            actor=c.to_str(o.get("actor")),
            action=c.to_str(o.get("action")),
            reason=c.opt_str(o.get("reason")),
            counts=c.int_map(o.get("counts")),
            details=o.get("details"),
            prev_hash=c.to_str(o.get("prev_hash")),
            hash=c.to_str(o.get("hash")),
            raw=o,
        )


@dataclass(frozen=True)
class AuditVerify:
    """Verification of one namespace's audit chain."""

    ok: bool = False
    entries: int = 0
    first_bad: Optional[int] = None
    problem: Optional[str] = None
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "AuditVerify":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(
            ok=c.to_bool(o.get("ok")),
            entries=c.to_int(o.get("entries")),
            first_bad=c.opt_int(o.get("first_bad")),
            problem=c.opt_str(o.get("problem")),
            raw=o,
        )


@dataclass(frozen=True)
class VerifyReport:
    """Verification of every namespace's audit chain (``first_bad``: ``namespace:seq``)."""

    ok: bool = False
    entries: int = 0
    first_bad: Optional[str] = None
    namespaces: Mapping[str, AuditVerify] = field(default_factory=dict)
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "VerifyReport":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(
            ok=c.to_bool(o.get("ok")),
            entries=c.to_int(o.get("entries")),
            first_bad=c.opt_str(o.get("first_bad")),
            namespaces={
                k: AuditVerify.from_json(x) for k, x in c.obj(o.get("namespaces")).items()
            },
            raw=o,
        )


@dataclass(frozen=True)
class BackupReport:
    """A backup made on the server: its folder, each namespace's head transaction in it (every
    write acknowledged up to it is in the copy), its size and how long writes waited."""

    dest: str = ""
    chronorag: str = ""
    schema_version: int = 0
    created_at: str = ""
    namespaces: Mapping[str, int] = field(default_factory=dict)
    bytes: int = 0
    seconds: float = 0.0
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "BackupReport":
        """Parses the server's JSON."""
        o = c.obj(v)
        m = c.obj(o.get("manifest"))
        return cls(
            dest=c.to_str(o.get("dest")),
            chronorag=c.to_str(m.get("chronorag")),
            schema_version=c.to_int(m.get("schema_version")),
            created_at=c.to_str(m.get("created_at")),
            namespaces={k: c.to_int(x) for k, x in c.obj(m.get("namespaces")).items()},
            bytes=c.to_int(o.get("bytes")),
            seconds=c.to_float(o.get("seconds")),
            raw=o,
        )


@dataclass(frozen=True)
class EraseReport:
    """What an erase removed; ``store_bytes`` is the store size before and after compaction."""

    tx: int = 0
    documents: int = 0
    chunks: int = 0
    facts: int = 0
    entities: int = 0
    summary_versions_scrubbed: int = 0
    store_bytes: Tuple[int, ...] = ()
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "EraseReport":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(
            tx=c.to_int(o.get("tx")),
            documents=c.to_int(o.get("documents")),
            chunks=c.to_int(o.get("chunks")),
            facts=c.to_int(o.get("facts")),
            entities=c.to_int(o.get("entities")),
            summary_versions_scrubbed=c.to_int(o.get("summary_versions_scrubbed")),
            store_bytes=c.ints(o.get("store_bytes")),
            raw=o,
        )


@dataclass(frozen=True)
class FactConflict:
    """Two contradicting facts kept for review, with both facts."""

    id: int = 0
    subject: int = 0
    existing: int = 0
    incoming: int = 0
    slot: str = ""
    reason: str = ""
    tx: int = 0
    at: str = ""
    existing_fact: Fact = field(default_factory=Fact)
    incoming_fact: Fact = field(default_factory=Fact)
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "FactConflict":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(
            id=c.to_int(o.get("id")),
            subject=c.to_int(o.get("subject")),
            existing=c.to_int(o.get("existing")),
            incoming=c.to_int(o.get("incoming")),
            slot=c.to_str(o.get("slot")),
            reason=c.to_str(o.get("reason")),
            tx=c.to_int(o.get("tx")),
            at=c.to_str(o.get("at")),
            existing_fact=Fact.from_json(o.get("existing_fact")),
            incoming_fact=Fact.from_json(o.get("incoming_fact")),
            raw=o,
        )


# --------------------------------------------------------------------------------------------
# Service, namespaces, documents
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NamespaceInfo:
    """A namespace with its record counts (``documents``, ``facts``, ``transactions``, ...).

    ``indexes`` (derived index sizes) is only filled by ``namespace_info()``.
    """

    name: str = ""
    stats: Mapping[str, int] = field(default_factory=dict)
    indexes: Mapping[str, int] = field(default_factory=dict)
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "NamespaceInfo":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(
            name=c.to_str(o.get("name")),
            stats=c.int_map(o.get("stats")),
            indexes=c.int_map(o.get("indexes")),
            raw=o,
        )


@dataclass(frozen=True)
class CreatedNamespace:
    """The answer to ``create_namespace``: ``created`` is false when it already existed."""

    name: str = ""
    created: bool = False
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "CreatedNamespace":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(name=c.to_str(o.get("name")), created=c.to_bool(o.get("created")), raw=o)


@dataclass(frozen=True)
class Health:
    """Service health: status, version, number of namespaces, whether auth is on."""

    status: str = ""
    version: str = ""
    namespaces: int = 0
    auth: bool = False
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "Health":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(
            status=c.to_str(o.get("status")),
            version=c.to_str(o.get("version")),
            namespaces=c.to_int(o.get("namespaces")),
            auth=c.to_bool(o.get("auth")),
            raw=o,
        )


@dataclass(frozen=True)
class DocumentRecord:
    """A stored document (``id`` is internal; ``external_id`` is the id you gave)."""

    id: int = 0
    external_id: str = ""
    title: Optional[str] = None
    source: Optional[str] = None
    time: Optional[str] = None
    time_origin: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    content_hash: str = ""
    text_len: int = 0
    chunks: Tuple[int, ...] = ()
    status: str = "active"
    added_tx: int = 0
    updated_tx: int = 0
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "DocumentRecord":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(
            id=c.to_int(o.get("id")),
            external_id=c.to_str(o.get("external_id")),
            title=c.opt_str(o.get("title")),
            source=c.opt_str(o.get("source")),
            time=c.opt_str(o.get("time")),
            time_origin=c.to_str(o.get("time_origin")),
            metadata=c.copy_obj(o.get("metadata")),
            content_hash=c.to_str(o.get("content_hash")),
            text_len=c.to_int(o.get("text_len")),
            chunks=c.ints(o.get("chunks")),
            status=c.to_str(o.get("status"), "active"),
            added_tx=c.to_int(o.get("added_tx")),
            updated_tx=c.to_int(o.get("updated_tx")),
            raw=o,
        )


@dataclass(frozen=True)
class Chunk:
    """A chunk of a document's text."""

    id: int = 0
    doc: int = 0
    ord: int = 0
    text: str = ""
    start: int = 0
    time: Optional[str] = None
    added_tx: int = 0
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "Chunk":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(
            id=c.to_int(o.get("id")),
            doc=c.to_int(o.get("doc")),
            ord=c.to_int(o.get("ord")),
            text=c.to_str(o.get("text")),
            start=c.to_int(o.get("start")),
            time=c.opt_str(o.get("time")),
            added_tx=c.to_int(o.get("added_tx")),
            raw=o,
        )


@dataclass(frozen=True)
class DocumentView:
    """A document with its chunks."""

    document: DocumentRecord = field(default_factory=DocumentRecord)
    chunks: Tuple[Chunk, ...] = ()
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "DocumentView":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(
            document=DocumentRecord.from_json(o.get("document")),
            chunks=c.items(o.get("chunks"), Chunk.from_json),
            raw=o,
        )


@dataclass(frozen=True)
class DocumentPage:
    """One page of documents; ``next_cursor`` is the cursor of the next page (``None`` on the
    last)."""

    documents: Tuple[DocumentRecord, ...] = ()
    next_cursor: Optional[str] = None
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "DocumentPage":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(
            documents=c.items(o.get("documents"), DocumentRecord.from_json),
            next_cursor=c.opt_str(o.get("next_cursor")),
            raw=o,
        )


@dataclass(frozen=True)
class SummarizeReport:
    """What a summarize pass recomputed."""

    recomputed: Tuple[str, ...] = ()
    unchanged: int = 0
    fallbacks: int = 0
    seconds: float = 0.0
    raw: _Raw = _raw()

    @classmethod
    def from_json(cls, v: Any) -> "SummarizeReport":
        """Parses the server's JSON."""
        o = c.obj(v)
        return cls(
            recomputed=c.strs(o.get("recomputed")),
            unchanged=c.to_int(o.get("unchanged")),
            fallbacks=c.to_int(o.get("fallbacks")),
            seconds=c.to_float(o.get("seconds")),
            raw=o,
        )
