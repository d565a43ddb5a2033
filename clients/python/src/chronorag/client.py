"""The synchronous client."""

from __future__ import annotations

import warnings

import datetime as _dt
import time as _time
from typing import (
    Any,
    Dict,
    Iterable,
    Iterator,
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
    TimeArg,
    error_from_response,
    query_body,
    stream_events,
)
from ._documents import DocumentLike
from ._version import __version__
from .errors import ConnectionFailed
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
    RetractResult,
    StreamEvent,
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

Period = Union[str, int, _dt.date]
"""A period: ``"2019"``, ``2019``, ``"2024-Q3"``, ``"Q3 2024"``, ``"2024-07-15"`` or a date."""
Mode = Literal["auto", "specific", "abstract"]


def _headers(api_key: Optional[str], extra: Optional[Mapping[str, str]]) -> Dict[str, str]:
    h = {"User-Agent": f"chronorag-python/{__version__}", "Accept": "application/json"}
    if api_key:
        h["Authorization"] = f"Bearer {api_key}"
    if extra:
        h.update(extra)
    return h


class Client:
    """A synchronous client of the ChronoRAG HTTP API, bound to one namespace.

    Args:
        url: Base URL of the server, e.g. ``"http://127.0.0.1:7070"``.
        api_key: API key (sent as ``Authorization: Bearer <key>``) when the server runs with
            ``--auth``.
        namespace: The namespace operations apply to (see :meth:`with_namespace`).
        timeout: Seconds for each HTTP request (connect, read, write).
        retries: Retries after the first attempt for retryable failures (see below).
        backoff: First retry delay in seconds; doubles on each retry.
        max_backoff: Largest delay between retries, including a server's ``Retry-After``.
        headers: Extra headers sent with every request.

    Retries: reads, queries, ``ingest`` (deduplicated by content hash) and ``create_namespace``
    are retried on connection errors, timeouts, 429 and 503. Writes that are not idempotent
    (assert, correct, retract, revert, rollback, erase, ...) are retried only when the server
    certainly did not act on them: when the connection could not be opened, and on 429.

    Errors are raised as :class:`~chronorag.errors.ChronoRagError` subclasses carrying the
    server's ``code``, ``message``, ``details`` and HTTP ``status``.

    Use it as a context manager, or call :meth:`close`::

        with Client("http://127.0.0.1:7070") as crag:
            crag.ingest("reports/")
            print(crag.query("What did Acme report in Q3 2023?").context)
    """

    _ops: Operations
    _http: httpx.Client
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
        self._http = httpx.Client(
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

    def with_namespace(self, namespace: str) -> "Client":
        """A client bound to another namespace, sharing this client's connection pool and
        settings. Closing it does nothing; close the client it came from."""
        other = object.__new__(type(self))
        other._ops = self._ops.bound_to(namespace)
        other._http = self._http
        other._owns_http = False
        return other

    def close(self) -> None:
        """Closes the connection pool (a no-op on clients made by :meth:`with_namespace`)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client({self.url!r}, namespace={self.namespace!r})"

    # -- the driver --------------------------------------------------------------------------

    def _perform(self, req: Request) -> Union[httpx.Response, Exception]:
        try:
            return self._http.request(req.method, req.path, params=req.params, json=req.json)
        except httpx.TransportError as e:
            return e

    def _run(self, flow: Flow[T]) -> T:
        value: Any = None
        while True:
            try:
                step = flow.send(value)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            if isinstance(step, Sleep):
                _time.sleep(step.seconds)
                value = None
            else:
                value = self._perform(step)

    def _iterate(self, pager: Pager[I]) -> Iterator[I]:
        while True:
            flow = pager.next_page()
            if flow is None:
                return
            yield from self._run(flow)

    # -- service and namespaces --------------------------------------------------------------

    def health(self) -> Health:
        """Service health (``GET /health``; needs no key)."""
        return self._run(self._ops.health())

    def namespaces(self) -> List[NamespaceInfo]:
        """The namespaces the key can read, with their record counts."""
        return self._run(self._ops.namespaces())

    def create_namespace(self, name: str) -> CreatedNamespace:
        """Creates a namespace (idempotent; ``created`` is false when it existed). Needs admin.

        Returns the server's answer; use :meth:`with_namespace` to work in it."""
        return self._run(self._ops.create_namespace(name))

    def namespace_info(self) -> NamespaceInfo:
        """This namespace's record counts and derived index sizes."""
        return self._run(self._ops.namespace_info())

    # -- ingest and jobs ---------------------------------------------------------------------

    @overload
    def ingest(
        self,
        documents: Union[DocumentLike, Iterable[DocumentLike]],
        wait: Literal[True] = ...,
        reason: Optional[str] = ...,
    ) -> IngestResult: ...

    @overload
    def ingest(
        self,
        documents: Union[DocumentLike, Iterable[DocumentLike]],
        wait: Literal[False],
        reason: Optional[str] = ...,
    ) -> Job: ...

    def ingest(
        self,
        documents: Union[DocumentLike, Iterable[DocumentLike]],
        wait: bool = True,
        reason: Optional[str] = None,
    ) -> Union[IngestResult, Job]:
        """Ingests documents as one transaction.

        Args:
            documents: A :class:`~chronorag.Document`, a dict with the server's document fields
                (``text``, ``id``, ``time``, ``title``, ``source``, ``metadata``), a path to a
                ``.txt``/``.md``/``.jsonl`` file or a folder of them (read client-side, like
                ``chronorag ingest``), or a list mixing these.
            wait: ``False`` asks the server for a background job.
            reason: Why (recorded on the transaction).

        Returns:
            With ``wait`` (the default), an :class:`~chronorag.IngestResult`, also when the
            server ran the ingest as a job (large bodies answer 202: the client follows the job
            to its result). With ``wait=False``, the :class:`~chronorag.Job` to follow with
            :meth:`wait_job`.

        Raises:
            InvalidInput: an input could not be read client-side (nothing is sent).
            BadRequest / InvalidTime / TooLarge: the server refused the documents (nothing is
                written).
            ChronoRagError (code ``job_failed``): the server's job for them failed.

        Ingest is idempotent (documents are recognised by content hash), so it is retried like
        a read.
        """
        return self._run(self._ops.ingest(documents, wait, reason))

    def job(self, id: int) -> Job:
        """An ingest job's state, progress and (when done) result."""
        return self._run(self._ops.job(id))

    def wait_job(self, id: int, timeout: Optional[float] = 60.0, poll_interval: float = 0.2) -> Job:
        """Polls a job until it is ``done`` or ``failed`` and returns it (check ``job.ok``).

        Raises :class:`~chronorag.errors.JobTimeout` after ``timeout`` seconds (``None`` waits
        forever)."""
        return self._run(self._ops.wait_job(id, timeout, poll_interval))

    # -- documents ---------------------------------------------------------------------------

    def document(self, id: str, as_of_tx: Optional[int] = None) -> DocumentView:
        """A document (by the id you gave it) with its chunks."""
        return self._run(self._ops.document(id, as_of_tx))

    def documents(
        self, cursor: Optional[str] = None, limit: Optional[int] = None,
        as_of_tx: Optional[int] = None,
    ) -> DocumentPage:
        """One page of documents in internal-id order (pass ``page.next_cursor`` as ``cursor``
        for the next)."""
        return self._run(self._ops.documents(cursor, limit, as_of_tx))

    def iter_documents(
        self, as_of_tx: Optional[int] = None, page_size: Optional[int] = None
    ) -> Iterator[DocumentRecord]:
        """Every document, fetching pages as needed."""
        return self._iterate(self._ops.documents_pager(page_size, as_of_tx))

    def retract_document(self, id: str, reason: str) -> int:
        """Retracts a document and its facts (reversible); returns the transaction id."""
        return self._run(self._ops.retract_document(id, reason))

    # -- query -------------------------------------------------------------------------------

    def query(
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
        """Asks a question: facts, chunks, summaries and a cited context scoped in time.

        Args:
            question: The question (times in it scope the search: "in Q3 2023").
            time: Explicit time scope, wins over times in the question: one period
                (``"2019"``, ``2019``, ``"2024-Q3"``, a date) or ``{"at": ...}`` /
                ``{"from": ..., "to": ...}``.
            now: The date relative expressions ("last quarter") refer to (default: the latest
                valid time in the namespace).
            as_of_tx: Read the database as it was after this transaction.
            mode: ``"auto"``, ``"specific"`` (facts about entities) or ``"abstract"``
                (trends over periods, from summaries).
            budget_chars: Context budget in characters (server default 8000).
            top_k: Facts to return (server default 20).
            explain: Add per-stage timings and candidates (``result.explain``).
            answer: Ask the server's configured LLM to answer (``result.answer``).
        """
        return self._run(
            self._ops.query(question, time, now, as_of_tx, mode, budget_chars, top_k, explain,
                            answer)
        )

    def query_stream(
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
    ) -> Iterator[StreamEvent]:
        """Asks a question and streams the server's LLM answer (server-sent events).

        Yields a ``"context"`` event first (``event.result``: plan, facts and the cited
        context, at once), then one ``"token"`` event per piece of the answer as the model
        writes it (``event.text``), then ``"answer"`` (``event.answer``, the whole reply)::

            for ev in crag.query_stream("What did Acme report in Q3 2023?"):
                if ev.event == "context":
                    show_sources(ev.result.passages)
                elif ev.event == "token":
                    print(ev.text, end="", flush=True)

        Errors before the first event raise as :meth:`query` does; an LLM failure after it
        raises :class:`ServerError` (code ``llm_error``) from the iterator. Not retried.
        Arguments as for :meth:`query`; ``answer=False`` yields the context event alone.
        """
        body = query_body(question, time, now, as_of_tx, mode, budget_chars, top_k, False,
                          answer)
        path = self._ops._ns("query")
        try:
            with self._http.stream(
                "POST", path, json=body, headers={"Accept": "text/event-stream"}
            ) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    raise error_from_response(resp)
                yield from stream_events(resp.iter_lines())
        except httpx.TransportError as e:
            raise ConnectionFailed(
                f"POST {path}: {type(e).__name__}: {e}", code="connection_failed"
            ) from e

    # -- facts -------------------------------------------------------------------------------

    def facts(
        self,
        entity: Union[None, str, int] = None,
        from_: Optional[Period] = None,
        to: Optional[Period] = None,
        as_of_tx: Optional[int] = None,
        include_retracted: bool = False,
        limit: Optional[int] = None,
        cursor: Optional[str] = None,
    ) -> FactPage:
        """One page of facts in valid-time order (``page.next_cursor`` is the cursor of the next).

        Args:
            entity: Only facts about this entity (id or name).
            from_: Valid at or after the start of this period.
            to: Valid at or before the end of this period.
            as_of_tx: Snapshot: the facts as they were after this transaction.
            include_retracted: Include retracted facts.
            limit: Page size (1-1000; server default 100).
            cursor: ``next`` of the previous page.
        """
        return self._run(
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
    ) -> Iterator[Fact]:
        """Every matching fact (see :meth:`facts`), following ``next`` cursors lazily."""
        return self._iterate(
            self._ops.facts_pager(entity, from_, to, as_of_tx, include_retracted, page_size)
        )

    def fact(self, id: int, as_of_tx: Optional[int] = None) -> Fact:
        """One fact (any status), optionally as of a transaction."""
        return self._run(self._ops.fact(id, as_of_tx))

    def assert_fact(
        self,
        subject: Union[str, int],
        description: str,
        time: Period,
        object: Union[None, str, int] = None,
        value: Optional[str] = None,
        confidence: Optional[float] = None,
        reason: Optional[str] = None,
    ) -> AssertResult:
        """Asserts a fact by hand (one transaction); ``result.fact`` is its id.

        Args:
            subject: Entity name (created when new) or id.
            description: What the fact says.
            time: Valid time: a period (``"2024-Q3"``, ``2019``) or a range
                (``"from 2018 to 2020"``, ``"since 2020"``).
            object: Another entity (name or id) the fact relates the subject to, or
            value: a literal value (``"$4.2 billion"``); not both.
            confidence: In [0, 1] (default 1.0).
            reason: Why.
        """
        f = Operations.fact_input(subject, description, time, object, value, confidence)
        return self._run(self._ops.assert_facts([f], reason))

    def assert_facts(
        self, facts: Sequence[Mapping[str, Any]], reason: Optional[str] = None
    ) -> AssertResult:
        """Asserts several facts (server ``FactInput`` objects: ``subject``, ``description``,
        ``time``, optional ``object`` ``{"entity": ...}``/``{"literal": ...}``, ``confidence``)
        in one transaction."""
        return self._run(self._ops.assert_facts(facts, reason))

    def correct_fact(
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
        """Corrects a fact: retracts it and asserts the changed copy in one transaction.

        ``result.fact`` is the new fact's id. ``reason`` is required."""
        return self._run(
            self._ops.correct_fact(id, reason, description, time, subject, object, value,
                                   confidence)
        )

    def retract_fact(self, id: int, reason: str) -> RetractResult:
        """Retracts a fact (kept in history; reads as of earlier transactions still see it)."""
        return self._run(self._ops.retract_fact(id, reason))

    # -- entities and timeline ---------------------------------------------------------------

    def entity(self, id_or_name: Union[str, int], as_of_tx: Optional[int] = None) -> Entity:
        """An entity by id or name (any alias), with its fact count."""
        return self._run(self._ops.entity(id_or_name, as_of_tx))

    def entities(
        self,
        q: Optional[str] = None,
        kind: Optional[str] = None,
        cursor: Optional[str] = None,
        limit: Optional[int] = None,
        as_of_tx: Optional[int] = None,
    ) -> EntityPage:
        """One page of entities whose name or alias contains ``q`` (``page.next_cursor`` is the
        next ``cursor``). ``kind``: organization, person, product, place, money, percent, quantity,
        ticker, concept or other."""
        return self._run(self._ops.entities(q, kind, cursor, limit, as_of_tx))

    def iter_entities(
        self,
        q: Optional[str] = None,
        kind: Optional[str] = None,
        as_of_tx: Optional[int] = None,
        page_size: Optional[int] = None,
    ) -> Iterator[Entity]:
        """Every matching entity (see :meth:`entities`), fetching pages lazily."""
        return self._iterate(self._ops.entities_pager(q, kind, page_size, as_of_tx))

    def entity_timeline(
        self,
        id_or_name: Union[str, int],
        from_: Optional[Period] = None,
        to: Optional[Period] = None,
        as_of_tx: Optional[int] = None,
        limit: Optional[int] = None,
        cursor: Optional[str] = None,
    ) -> EntityTimeline:
        """An entity and (one page of) its active facts in valid-time order."""
        return self._run(
            self._ops.entity_timeline(id_or_name, from_, to, as_of_tx, limit, cursor)
        )

    def timeline(
        self, node: Union[None, str, int] = None, as_of_tx: Optional[int] = None
    ) -> TimelineNode:
        """A time node (``"2019"``, ``"2019-Q3"``, ``"2019-07"``, ...) with its summary,
        children and top facts; without ``node``, the list of years."""
        return self._run(self._ops.timeline(node, as_of_tx))

    def summarize(self) -> SummarizeReport:
        """Recomputes the summaries of changed time nodes now (normally done in background)."""
        return self._run(self._ops.summarize())

    def rename_entity(
        self, id_or_name: Union[str, int], name: str, reason: Optional[str] = None
    ) -> int:
        """Renames an entity (the old name stays an alias); returns the transaction id."""
        return self._run(self._ops.rename_entity(id_or_name, name, reason))

    def merge_entities(
        self, into: Union[str, int], sources: Sequence[Union[str, int]], reason: str
    ) -> Tuple[int, int]:
        """Merges ``sources`` into ``into``; returns ``(transaction id, facts moved)``."""
        return self._run(self._ops.merge_entities(into, sources, reason))

    # -- history -----------------------------------------------------------------------------

    def transactions(self, limit: int = 50, cursor: Optional[str] = None) -> TransactionPage:
        """One page of transactions, newest first (``page.next_cursor`` continues)."""
        return self._run(self._ops.transactions(limit, cursor))

    def iter_transactions(self, page_size: int = 100) -> Iterator[Tx]:
        """Every transaction, newest first, fetching pages lazily."""
        return self._iterate(self._ops.transactions_pager(page_size))

    def transaction(self, tx: int) -> Tx:
        """One transaction with its changes."""
        return self._run(self._ops.transaction(tx))

    def diff(self, from_tx: int, to_tx: Optional[int] = None) -> Diff:
        """What changed between transaction ``from_tx`` (exclusive) and ``to_tx`` (inclusive;
        default: the latest)."""
        return self._run(self._ops.diff(from_tx, to_tx))

    def revert(self, tx: int, reason: str) -> RollbackResult:
        """Undoes exactly one transaction, as a new transaction. Needs admin."""
        return self._run(self._ops.revert(tx, reason))

    def rollback(self, to_tx: int, reason: str) -> RollbackResult:
        """Undoes everything after ``to_tx``, as a new transaction (nothing is deleted).
        Needs admin."""
        return self._run(self._ops.rollback(to_tx, reason))

    def backup(self, dest: str) -> BackupReport:
        """Copies the server's whole store into ``dest``, a folder on the server that must not
        exist yet (or be empty), as one consistent state: queries go on meanwhile, writes wait
        for the copy. Needs admin on ``*``. Restore it with ``chronorag restore``."""
        return self._run(self._ops.backup(dest))

    # -- audit, erase, conflicts -------------------------------------------------------------

    def verify_audit(self) -> VerifyReport:
        """Verifies the hash chain of every namespace on the server (not only this client's);
        needs admin on ``*``."""
        return self._run(self._ops.verify_audit())

    def audit_log(self) -> List[AuditEntry]:
        """This namespace's audit entries, oldest first (needs admin on it)."""
        return list(self._iterate(self._ops.audit_pager()))

    @overload
    def audit(self, verify: Literal[True] = ...) -> VerifyReport: ...

    @overload
    def audit(self, verify: Literal[False]) -> List[AuditEntry]: ...

    def audit(self, verify: bool = True) -> Union[VerifyReport, List[AuditEntry]]:
        """Deprecated: one name for two things. Use :meth:`verify_audit` (every namespace's
        chain) or :meth:`audit_log` (this namespace's entries)."""
        warnings.warn(
            "audit() is deprecated: use verify_audit() or audit_log()",
            DeprecationWarning,
            stacklevel=2,
        )
        if verify:
            return self.verify_audit()
        return self.audit_log()

    def erase(
        self,
        document: Optional[str] = None,
        entity: Union[None, str, int] = None,
        *,
        reason: str,
    ) -> EraseReport:
        """Physically erases a document or an entity (privacy request): text, facts and vectors
        are removed everywhere; the audit log keeps a tombstone. Needs admin. Give exactly one
        of ``document`` and ``entity``."""
        return self._run(self._ops.erase(document, entity, reason))

    def conflicts(self, as_of_tx: Optional[int] = None) -> List[FactConflict]:
        """Contradicting facts kept for review."""
        return self._run(self._ops.conflicts(as_of_tx))
