"""The asynchronous client: the same operations as :class:`~chronorag.Client`, awaited.

Both clients drive the same flows from ``chronorag._common``; only the transport call and the
sleep differ. See :class:`~chronorag.Client` for the full documentation of each method.
"""

from __future__ import annotations

import warnings

import asyncio
import datetime as _dt
from typing import (
    Any,
    AsyncIterator,
    Iterable,
    List,
    Literal,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
    overload,
)

import httpx

from ._common import (
    Flow,
    Operations,
    Pager,
    Request,
    RetryPolicy,
    Sleep,
    SseParser,
    TimeArg,
    error_from_response,
    query_body,
)
from .errors import ConnectionFailed
from ._documents import DocumentLike
from .client import Mode, Period, _headers
from .models import (
    AssertResult,
    AuditEntry,
    FactConflict,
    CorrectResult,
    CreatedNamespace,
    Diff,
    DocumentPage,
    DocumentRecord,
    DocumentView,
    Entity,
    EntityPage,
    EntityTimeline,
    EraseReport,
    Fact,
    FactPage,
    Health,
    IngestResult,
    Job,
    NamespaceInfo,
    QueryResult,
    StreamEvent,
    RetractResult,
    RollbackResult,
    SummarizeReport,
    TimelineNode,
    TransactionPage,
    Tx,
    VerifyReport,
    BackupReport,
)

T = TypeVar("T")
I = TypeVar("I")


class AsyncClient:
    """An asyncio client of the ChronoRAG HTTP API, bound to one namespace.

    Same arguments, methods, retry policy and exceptions as :class:`~chronorag.Client`; every
    method is a coroutine, and the ``iter_*`` methods return async iterators::

        async with AsyncClient("http://127.0.0.1:7070") as crag:
            await crag.ingest("reports/")
            result = await crag.query("What did Acme report in Q3 2023?")
            async for fact in crag.iter_facts(entity="Acme Corp"):
                print(fact.time, fact.description)
    """

    _ops: Operations
    _http: httpx.AsyncClient
    _owns_http: bool

    def __init__(
        self,
        url: str,
        api_key: Optional[str] = None,
        namespace: str = "default",
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.5,
        *,
        max_backoff: float = 30.0,
        headers: Optional[Mapping[str, str]] = None,
    ) -> None:
        self._ops = Operations(namespace, RetryPolicy(retries, backoff, max_backoff))
        self._http = httpx.AsyncClient(
            base_url=url.rstrip("/"),
            headers=_headers(api_key, headers),
            timeout=timeout,
        )
        self._owns_http = True

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def namespace(self) -> str:
        """The namespace this client is bound to."""
        return self._ops.namespace

    @property
    def url(self) -> str:
        """The server's base URL."""
        return str(self._http.base_url).rstrip("/")

    def with_namespace(self, namespace: str) -> "AsyncClient":
        """A client bound to another namespace, sharing this client's connection pool and
        settings. Closing it does nothing; close the client it came from."""
        other = object.__new__(type(self))
        other._ops = self._ops.bound_to(namespace)
        other._http = self._http
        other._owns_http = False
        return other

    async def close(self) -> None:
        """Closes the connection pool (a no-op on clients made by :meth:`with_namespace`)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"AsyncClient({self.url!r}, namespace={self.namespace!r})"

    # -- the driver --------------------------------------------------------------------------

    async def _perform(self, req: Request) -> Union[httpx.Response, Exception]:
        try:
            return await self._http.request(
                req.method, req.path, params=req.params, json=req.json
            )
        except httpx.TransportError as e:
            return e

    async def _run(self, flow: Flow[T]) -> T:
        value: Any = None
        while True:
            try:
                step = flow.send(value)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            if isinstance(step, Sleep):
                await asyncio.sleep(step.seconds)
                value = None
            else:
                value = await self._perform(step)

    async def _iterate(self, pager: Pager[I]) -> AsyncIterator[I]:
        while True:
            flow = pager.next_page()
            if flow is None:
                return
            for item in await self._run(flow):
                yield item

    # -- service and namespaces --------------------------------------------------------------

    async def health(self) -> Health:
        """Service health. See :meth:`Client.health`."""
        return await self._run(self._ops.health())

    async def namespaces(self) -> List[NamespaceInfo]:
        """The namespaces the key can read. See :meth:`Client.namespaces`."""
        return await self._run(self._ops.namespaces())

    async def create_namespace(self, name: str) -> CreatedNamespace:
        """Creates a namespace (idempotent). See :meth:`Client.create_namespace`."""
        return await self._run(self._ops.create_namespace(name))

    async def namespace_info(self) -> NamespaceInfo:
        """This namespace's counts and index sizes. See :meth:`Client.namespace_info`."""
        return await self._run(self._ops.namespace_info())

    # -- ingest and jobs ---------------------------------------------------------------------

    @overload
    async def ingest(
        self,
        documents: Union[DocumentLike, Iterable[DocumentLike]],
        wait: Literal[True] = ...,
        reason: Optional[str] = ...,
    ) -> IngestResult: ...

    @overload
    async def ingest(
        self,
        documents: Union[DocumentLike, Iterable[DocumentLike]],
        wait: Literal[False],
        reason: Optional[str] = ...,
    ) -> Job: ...

    async def ingest(
        self,
        documents: Union[DocumentLike, Iterable[DocumentLike]],
        wait: bool = True,
        reason: Optional[str] = None,
    ) -> Union[IngestResult, Job]:
        """Ingests documents, files or folders as one transaction. See :meth:`Client.ingest`.

        Files are read with blocking I/O before the request is sent."""
        return await self._run(self._ops.ingest(documents, wait, reason))

    async def job(self, id: int) -> Job:
        """An ingest job. See :meth:`Client.job`."""
        return await self._run(self._ops.job(id))

    async def wait_job(
        self, id: int, timeout: Optional[float] = 60.0, poll_interval: float = 0.2
    ) -> Job:
        """Polls a job until it finishes. See :meth:`Client.wait_job`."""
        return await self._run(self._ops.wait_job(id, timeout, poll_interval))

    # -- documents ---------------------------------------------------------------------------

    async def document(self, id: str, as_of_tx: Optional[int] = None) -> DocumentView:
        """A document with its chunks. See :meth:`Client.document`."""
        return await self._run(self._ops.document(id, as_of_tx))

    async def documents(
        self, cursor: Optional[str] = None, limit: Optional[int] = None,
        as_of_tx: Optional[int] = None,
    ) -> DocumentPage:
        """One page of documents. See :meth:`Client.documents`."""
        return await self._run(self._ops.documents(cursor, limit, as_of_tx))

    def iter_documents(
        self, as_of_tx: Optional[int] = None, page_size: Optional[int] = None
    ) -> AsyncIterator[DocumentRecord]:
        """Every document (async iterator). See :meth:`Client.iter_documents`."""
        return self._iterate(self._ops.documents_pager(page_size, as_of_tx))

    async def retract_document(self, id: str, reason: str) -> int:
        """Retracts a document. See :meth:`Client.retract_document`."""
        return await self._run(self._ops.retract_document(id, reason))

    # -- query -------------------------------------------------------------------------------

    async def query(
        self,
        question: str,
        time: TimeArg = None,
        now: Union[None, str, _dt.date] = None,
        as_of_tx: Optional[int] = None,
        mode: Mode = "auto",
        budget_chars: Optional[int] = None,
        top_k: Optional[int] = None,
        explain: bool = False,
        *,
        answer: bool = False,
    ) -> QueryResult:
        """Asks a time-scoped question. See :meth:`Client.query`."""
        return await self._run(
            self._ops.query(question, time, now, as_of_tx, mode, budget_chars, top_k, explain,
                            answer)
        )

    async def query_stream(
        self,
        question: str,
        time: TimeArg = None,
        now: Union[None, str, _dt.date] = None,
        as_of_tx: Optional[int] = None,
        mode: Mode = "auto",
        budget_chars: Optional[int] = None,
        top_k: Optional[int] = None,
        *,
        answer: bool = True,
    ) -> AsyncIterator[StreamEvent]:
        """Asks a question and streams the server's LLM answer. See
        :meth:`Client.query_stream`::

            async for ev in crag.query_stream("What did Acme report in Q3 2023?"):
                ...
        """
        body = query_body(question, time, now, as_of_tx, mode, budget_chars, top_k, False,
                          answer)
        path = self._ops._ns("query")
        parser = SseParser()
        try:
            async with self._http.stream(
                "POST", path, json=body, headers={"Accept": "text/event-stream"}
            ) as resp:
                if resp.status_code >= 400:
                    await resp.aread()
                    raise error_from_response(resp)
                async for line in resp.aiter_lines():
                    ev = parser.feed(line)
                    if ev is not None:
                        yield ev
        except httpx.TransportError as e:
            raise ConnectionFailed(
                f"POST {path}: {type(e).__name__}: {e}", code="connection_failed"
            ) from e

    # -- facts -------------------------------------------------------------------------------

    async def facts(
        self,
        entity: Union[None, str, int] = None,
        from_: Optional[Period] = None,
        to: Optional[Period] = None,
        as_of_tx: Optional[int] = None,
        include_retracted: bool = False,
        limit: Optional[int] = None,
        cursor: Optional[str] = None,
    ) -> FactPage:
        """One page of facts. See :meth:`Client.facts`."""
        return await self._run(
            self._ops.facts(entity, from_, to, as_of_tx, include_retracted, limit, cursor)
        )

    def iter_facts(
        self,
        entity: Union[None, str, int] = None,
        from_: Optional[Period] = None,
        to: Optional[Period] = None,
        as_of_tx: Optional[int] = None,
        include_retracted: bool = False,
        page_size: Optional[int] = None,
    ) -> AsyncIterator[Fact]:
        """Every matching fact (async iterator). See :meth:`Client.iter_facts`."""
        return self._iterate(
            self._ops.facts_pager(entity, from_, to, as_of_tx, include_retracted, page_size)
        )

    async def fact(self, id: int, as_of_tx: Optional[int] = None) -> Fact:
        """One fact. See :meth:`Client.fact`."""
        return await self._run(self._ops.fact(id, as_of_tx))

    async def assert_fact(
        self,
        subject: Union[str, int],
        description: str,
        time: Period,
        object: Union[None, str, int] = None,
        value: Optional[str] = None,
        confidence: Optional[float] = None,
        reason: Optional[str] = None,
    ) -> AssertResult:
        """Asserts a fact by hand. See :meth:`Client.assert_fact`."""
        f = Operations.fact_input(subject, description, time, object, value, confidence)
        return await self._run(self._ops.assert_facts([f], reason))

    async def assert_facts(
        self, facts: Sequence[Mapping[str, Any]], reason: Optional[str] = None
    ) -> AssertResult:
        """Asserts several facts in one transaction. See :meth:`Client.assert_facts`."""
        return await self._run(self._ops.assert_facts(facts, reason))

    async def correct_fact(
        self,
        id: int,
        reason: str,
        description: Optional[str] = None,
        time: Optional[Period] = None,
        subject: Union[None, str, int] = None,
        object: Union[None, str, int] = None,
        value: Optional[str] = None,
        confidence: Optional[float] = None,
    ) -> CorrectResult:
        """Corrects a fact. See :meth:`Client.correct_fact`."""
        return await self._run(
            self._ops.correct_fact(id, reason, description, time, subject, object, value,
                                   confidence)
        )

    async def retract_fact(self, id: int, reason: str) -> RetractResult:
        """Retracts a fact. See :meth:`Client.retract_fact`."""
        return await self._run(self._ops.retract_fact(id, reason))

    # -- entities and timeline ---------------------------------------------------------------

    async def entity(self, id_or_name: Union[str, int], as_of_tx: Optional[int] = None) -> Entity:
        """An entity by id or name. See :meth:`Client.entity`."""
        return await self._run(self._ops.entity(id_or_name, as_of_tx))

    async def entities(
        self,
        q: Optional[str] = None,
        kind: Optional[str] = None,
        cursor: Optional[str] = None,
        limit: Optional[int] = None,
        as_of_tx: Optional[int] = None,
    ) -> EntityPage:
        """One page of entities. See :meth:`Client.entities`."""
        return await self._run(self._ops.entities(q, kind, cursor, limit, as_of_tx))

    def iter_entities(
        self,
        q: Optional[str] = None,
        kind: Optional[str] = None,
        as_of_tx: Optional[int] = None,
        page_size: Optional[int] = None,
    ) -> AsyncIterator[Entity]:
        """Every matching entity (async iterator). See :meth:`Client.iter_entities`."""
        return self._iterate(self._ops.entities_pager(q, kind, page_size, as_of_tx))

    async def entity_timeline(
        self,
        id_or_name: Union[str, int],
        from_: Optional[Period] = None,
        to: Optional[Period] = None,
        as_of_tx: Optional[int] = None,
        limit: Optional[int] = None,
        cursor: Optional[str] = None,
    ) -> EntityTimeline:
        """An entity and its facts in time order. See :meth:`Client.entity_timeline`."""
        return await self._run(
            self._ops.entity_timeline(id_or_name, from_, to, as_of_tx, limit, cursor)
        )

    async def timeline(
        self, node: Union[None, str, int] = None, as_of_tx: Optional[int] = None
    ) -> TimelineNode:
        """A time node, or the list of years. See :meth:`Client.timeline`."""
        return await self._run(self._ops.timeline(node, as_of_tx))

    async def summarize(self) -> SummarizeReport:
        """Recomputes changed summaries now. See :meth:`Client.summarize`."""
        return await self._run(self._ops.summarize())

    async def rename_entity(
        self, id_or_name: Union[str, int], name: str, reason: Optional[str] = None
    ) -> int:
        """Renames an entity. See :meth:`Client.rename_entity`."""
        return await self._run(self._ops.rename_entity(id_or_name, name, reason))

    async def merge_entities(
        self, into: Union[str, int], sources: Sequence[Union[str, int]], reason: str
    ) -> Tuple[int, int]:
        """Merges entities. See :meth:`Client.merge_entities`."""
        return await self._run(self._ops.merge_entities(into, sources, reason))

    # -- history -----------------------------------------------------------------------------

    async def transactions(self, limit: int = 50, cursor: Optional[str] = None) -> TransactionPage:
        """One page of transactions, newest first. See :meth:`Client.transactions`."""
        return await self._run(self._ops.transactions(limit, cursor))

    def iter_transactions(self, page_size: int = 100) -> AsyncIterator[Tx]:
        """Every transaction (async iterator). See :meth:`Client.iter_transactions`."""
        return self._iterate(self._ops.transactions_pager(page_size))

    async def transaction(self, tx: int) -> Tx:
        """One transaction. See :meth:`Client.transaction`."""
        return await self._run(self._ops.transaction(tx))

    async def diff(self, from_tx: int, to_tx: Optional[int] = None) -> Diff:
        """What changed between two transactions. See :meth:`Client.diff`."""
        return await self._run(self._ops.diff(from_tx, to_tx))

    async def revert(self, tx: int, reason: str) -> RollbackResult:
        """Undoes one transaction. See :meth:`Client.revert`."""
        return await self._run(self._ops.revert(tx, reason))

    async def rollback(self, to_tx: int, reason: str) -> RollbackResult:
        """Undoes everything after a transaction. See :meth:`Client.rollback`."""
        return await self._run(self._ops.rollback(to_tx, reason))

    async def backup(self, dest: str) -> BackupReport:
        """Copies the server's whole store into ``dest``, a folder on the server that must not
        exist yet (or be empty), as one consistent state: queries go on meanwhile, writes wait
        for the copy. Needs admin on ``*``. Restore it with ``chronorag restore``."""
        return await self._run(self._ops.backup(dest))

    # -- audit, erase, conflicts -------------------------------------------------------------

    async def verify_audit(self) -> VerifyReport:
        """Verifies the hash chain of every namespace on the server (not only this client's);
        needs admin on ``*``."""
        return await self._run(self._ops.verify_audit())

    async def audit_log(self) -> List[AuditEntry]:
        """This namespace's audit entries, oldest first (needs admin on it)."""
        return [e async for e in self._iterate(self._ops.audit_pager())]

    @overload
    async def audit(self, verify: Literal[True] = ...) -> VerifyReport: ...

    @overload
    async def audit(self, verify: Literal[False]) -> List[AuditEntry]: ...

    async def audit(self, verify: bool = True) -> Union[VerifyReport, List[AuditEntry]]:
        """Deprecated: one name for two things. Use :meth:`verify_audit` (every namespace's
        chain) or :meth:`audit_log` (this namespace's entries)."""
        warnings.warn(
            "audit() is deprecated: use verify_audit() or audit_log()",
            DeprecationWarning,
            stacklevel=2,
        )
        if verify:
            return await self.verify_audit()
        return await self.audit_log()

    async def erase(
        self,
        document: Optional[str] = None,
        entity: Union[None, str, int] = None,
        *,
        reason: str,
    ) -> EraseReport:
        """Physically erases a document or an entity. See :meth:`Client.erase`."""
        return await self._run(self._ops.erase(document, entity, reason))

    async def conflicts(self, as_of_tx: Optional[int] = None) -> List[FactConflict]:
        """Contradicting facts kept for review. See :meth:`Client.conflicts`."""
        return await self._run(self._ops.conflicts(as_of_tx))
