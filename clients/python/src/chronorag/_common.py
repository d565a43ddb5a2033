"""The I/O-free core shared by :class:`~chronorag.Client` and :class:`~chronorag.AsyncClient`.

Every operation is written once here as a *flow*: a generator that yields :class:`Request`
(perform one HTTP exchange and send back the ``httpx.Response`` or the transport exception) and
:class:`Sleep` steps, and returns the parsed result. The sync and async clients only drive flows
(``_run``), so request building, validation, retries with backoff, error mapping, job polling and
pagination exist once.

Retry policy (decided here, documented in the README):

* **Idempotent requests** - every read (``GET``, ``POST .../query``), ``ingest`` (documents are
  deduplicated by content hash, so a repeat is harmless) and ``create_namespace`` (``PUT``) -
  are retried on connection errors and timeouts, and on 429 and 503 answers.
* **Other writes** - assert, correct, retract, revert, rollback, erase, summarize, entity edits -
  are retried only when the server certainly did not act: when the connection could not be
  opened (the request was never sent) and on 429 (the server's concurrency guard refuses the
  request before any handler runs). A 503, a read timeout or a dropped connection after sending
  is raised, never retried, because the write may have landed.

Retries wait ``backoff * 2**attempt`` seconds (capped at ``max_backoff``), or the server's
``Retry-After`` when it asks for longer.
"""

from __future__ import annotations

import datetime as _dt
import email.utils
import enum
import time as _time
from dataclasses import dataclass
from typing import (
    Any,
    Callable,
    Dict,
    Generator,
    Generic,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
)
from urllib.parse import quote

import httpx

from . import _coerce as c
from ._documents import DocumentLike, read_documents
from .errors import (
    ChronoRagError,
    ConnectionFailed,
    InvalidInput,
    JobTimeout,
    error_class_for_status,
)
from .models import (
    Answer,
    AssertResult,
    AuditEntry,
    FactConflict,
    CorrectResult,
    CreatedNamespace,
    Diff,
    DocumentPage,
    DocumentRecord,
    DocumentView,
    EraseReport,
    Entity,
    EntityPage,
    EntityTimeline,
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

TimeArg = Union[None, str, int, _dt.date, Mapping[str, Any]]
"""A query's time scope: ``"2019"`` / ``2019`` / a date (one period), or
``{"at": ...}`` / ``{"from": ..., "to": ...}``."""


class Retry(enum.Enum):
    """When a request may be retried."""

    IDEMPOTENT = "idempotent"
    """Retry on transport errors, 429 and 503."""
    UNSENT_ONLY = "unsent_only"
    """Retry only when the request was certainly not processed: connect errors and 429."""


@dataclass(frozen=True)
class Request:
    """One HTTP exchange for the driver to perform."""

    method: str
    path: str
    params: Optional[Mapping[str, Any]] = None
    json: Any = None
    retry: Retry = Retry.IDEMPOTENT


@dataclass(frozen=True)
class Sleep:
    """Wait this many seconds before the next step."""

    seconds: float


Step = Union[Request, Sleep]
Flow = Generator[Step, Any, T]

# Transport errors after which the request was certainly not sent.
_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Transport errors worth retrying for idempotent requests.
_TRANSIENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


@dataclass(frozen=True)
class RetryPolicy:
    """How many times and how long to retry (see the module documentation)."""

    retries: int = 3
    backoff: float = 0.5
    max_backoff: float = 30.0

    def __post_init__(self) -> None:
        if self.retries < 0:
            raise ValueError("retries must be >= 0")
        if self.backoff < 0 or self.max_backoff < 0:
            raise ValueError("backoff must be >= 0")

    def delay(self, attempt: int, retry_after: Optional[float]) -> float:
        """Seconds to wait before retry number ``attempt + 1``."""
        d: float = min(self.backoff * float(2**attempt), self.max_backoff)
        if retry_after is not None:
            d = max(d, min(retry_after, self.max_backoff))
        return d


def parse_retry_after(value: Optional[str]) -> Optional[float]:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.timezone.utc)
    return max(0.0, (when - _dt.datetime.now(_dt.timezone.utc)).total_seconds())


def error_from_response(resp: httpx.Response) -> ChronoRagError:
    """The typed exception for an error answer (JSON error shape or not)."""
    status = resp.status_code
    retry_after = parse_retry_after(resp.headers.get("retry-after"))
    code = f"http_{status}"
    message = resp.reason_phrase or f"HTTP {status}"
    details: Any = None
    try:
        body = resp.json()
    except ValueError:
        text = resp.text.strip()
        if text:
            message = text[:500]
    else:
        err = c.obj(c.obj(body).get("error"))
        code = c.to_str(err.get("code"), code)
        message = c.to_str(err.get("message"), message)
        details = err.get("details")
    cls = error_class_for_status(status)
    return cls(message, code=code, details=details, status=status, retry_after=retry_after)


def _may_retry_exception(kind: Retry, exc: BaseException) -> bool:
    if kind is Retry.IDEMPOTENT:
        return isinstance(exc, _TRANSIENT)
    return isinstance(exc, _UNSENT)


def _may_retry_status(kind: Retry, status: int) -> bool:
    if kind is Retry.IDEMPOTENT:
        return status in (429, 503)
    return status == 429


def send(req: Request, policy: RetryPolicy) -> Flow[httpx.Response]:
    """Performs ``req`` with retries; returns the successful response or raises."""
    attempt = 0
    while True:
        outcome = yield req
        if isinstance(outcome, BaseException):
            if not isinstance(outcome, httpx.TransportError):
                raise outcome
            if attempt >= policy.retries or not _may_retry_exception(req.retry, outcome):
                raise ConnectionFailed(
                    f"{req.method} {req.path}: {type(outcome).__name__}: {outcome}"
                    + (f" (after {attempt + 1} attempts)" if attempt else ""),
                    code="connection_failed",
                ) from outcome
            delay = policy.delay(attempt, None)
        else:
            resp: httpx.Response = outcome
            if resp.status_code < 400:
                return resp
            err = error_from_response(resp)
            if attempt >= policy.retries or not _may_retry_status(req.retry, resp.status_code):
                raise err
            delay = policy.delay(attempt, err.retry_after)
        attempt += 1
        yield Sleep(delay)


def decode(resp: httpx.Response) -> Any:
    """The JSON body of a successful response."""
    try:
        return resp.json()
    except ValueError as e:
        raise ChronoRagError(
            f"the server answered {resp.status_code} with a body that is not JSON: {e}",
            code="invalid_response",
            status=resp.status_code,
        ) from e


def _seg(v: Union[str, int]) -> str:
    """One URL path segment, percent-encoded (names may contain spaces or slashes)."""
    return quote(str(v), safe="")


def _params(**kw: Any) -> Dict[str, Any]:
    """Query parameters without the ``None`` values (``from_`` is sent as ``from``)."""
    out: Dict[str, Any] = {}
    for k, v in kw.items():
        if v is None:
            continue
        out[k.rstrip("_")] = v
    return out


def query_body(
    question: str,
    time: TimeArg,
    now: Union[None, str, _dt.date],
    as_of_tx: Optional[int],
    mode: str,
    budget_chars: Optional[int],
    top_k: Optional[int],
    explain: bool,
    answer: bool,
) -> Dict[str, Any]:
    """The JSON body of a query (plain or streamed)."""
    if not isinstance(question, str):
        raise TypeError("question must be a string")
    body: Dict[str, Any] = {"query": question}
    tp = time_param(time)
    if tp is not None:
        body["time"] = tp
    if now is not None:
        body["now"] = _time_str(now, "now")
    if as_of_tx is not None:
        body["as_of_tx"] = as_of_tx
    if mode != "auto":
        body["mode"] = mode
    if budget_chars is not None:
        body["budget_chars"] = budget_chars
    if top_k is not None:
        body["top_k"] = top_k
    if explain:
        body["explain"] = True
    if answer:
        body["answer"] = True
    return body


class SseParser:
    """Reads a streamed query's ``text/event-stream`` body one line at a time: :meth:`feed`
    returns an event when a line completes one. An ``error`` event (the LLM failed after the
    context was sent) raises the typed error."""

    def __init__(self) -> None:
        self._name = ""
        self._data: List[str] = []

    def feed(self, raw: str) -> Optional[StreamEvent]:
        import json as _json

        line = raw.rstrip("\r\n")
        if line.startswith("event:"):
            self._name = line[6:].strip()
            return None
        if line.startswith("data:"):
            self._data.append(line[5:].lstrip())
            return None
        if line != "" or not self._data:
            return None
        v = _json.loads("\n".join(self._data))
        event, self._name, self._data = self._name or "message", "", []
        if event == "context":
            return StreamEvent("context", result=QueryResult.from_json(v))
        if event == "token":
            return StreamEvent("token", text=c.to_str(c.obj(v).get("text")))
        if event == "answer":
            a = Answer.from_json(c.obj(v).get("answer"))
            return StreamEvent("answer", text=a.text, answer=a)
        if event == "error":
            err = c.obj(c.obj(v).get("error"))
            raise error_class_for_status(502)(
                c.to_str(err.get("message"), "the answer failed"),
                code=c.to_str(err.get("code"), "error"),
            )
        return None


def stream_events(lines: Iterator[str]) -> Iterator[StreamEvent]:
    """The events of a streamed query, read from the lines of its body (see
    :class:`SseParser`)."""
    p = SseParser()
    for line in lines:
        ev = p.feed(line)
        if ev is not None:
            yield ev


def _time_str(v: Any, what: str) -> str:
    if isinstance(v, bool):
        raise TypeError(f"{what} must be a string, a year or a date, not a bool")
    if isinstance(v, str):
        return v
    if isinstance(v, int):
        return str(v)
    if isinstance(v, _dt.date):
        return (v.date() if isinstance(v, _dt.datetime) else v).isoformat()
    raise TypeError(f"{what} must be a string, a year or a date, not {type(v).__name__}")


def time_param(time: TimeArg) -> Optional[Dict[str, str]]:
    """The ``time`` object of a query from the accepted forms."""
    if time is None:
        return None
    if isinstance(time, Mapping):
        unknown = set(time) - {"at", "from", "to"}
        if unknown:
            raise ValueError(f"time accepts the keys at, from, to; got {sorted(unknown)}")
        if not time:
            raise ValueError("time must name at least one of at, from, to")
        return {k: _time_str(v, f"time[{k!r}]") for k, v in time.items() if v is not None}
    return {"at": _time_str(time, "time")}


def _object_input(object: Optional[Union[str, int]], value: Optional[str]) -> Optional[Dict[str, str]]:
    if object is not None and value is not None:
        raise ValueError("give either object (an entity) or value (a literal), not both")
    if object is not None:
        return {"entity": str(object)}
    if value is not None:
        return {"literal": str(value)}
    return None


def _require_reason(reason: Optional[str]) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError("a non-empty reason is required for this operation")
    return reason


class Pager(Generic[I]):
    """Pages through a listing: each :meth:`next_page` flow returns the next page's items."""

    def __init__(
        self,
        fetch: Callable[[Any], Flow[Tuple[Sequence[I], Any]]],
        start: Any = None,
    ) -> None:
        self._fetch = fetch
        self._cursor = start
        self._done = False

    def next_page(self) -> Optional[Flow[Sequence[I]]]:
        """The flow fetching the next page, or ``None`` after the last one."""
        if self._done:
            return None
        return self._page()

    def _page(self) -> Flow[Sequence[I]]:
        items, nxt = yield from self._fetch(self._cursor)
        if nxt is None or nxt == self._cursor or not items:
            self._done = True
        self._cursor = nxt
        return items


class Operations:
    """Every API operation as a flow, bound to one namespace and retry policy."""

    def __init__(self, namespace: str, policy: RetryPolicy) -> None:
        if not isinstance(namespace, str) or not namespace:
            raise ValueError("namespace must be a non-empty string")
        self.namespace = namespace
        self.policy = policy

    def bound_to(self, namespace: str) -> "Operations":
        """The same operations on another namespace."""
        return Operations(namespace, self.policy)

    # -- plumbing --------------------------------------------------------------------------

    def _ns(self, *parts: Union[str, int]) -> str:
        path = "/v1/namespaces/" + _seg(self.namespace)
        for p in parts:
            path += "/" + _seg(p)
        return path

    def _call(self, req: Request, parse: Callable[[Any], T]) -> Flow[T]:
        resp = yield from send(req, self.policy)
        return parse(decode(resp))

    def _get(self, path: str, parse: Callable[[Any], T], **params: Any) -> Flow[T]:
        return self._call(Request("GET", path, params=_params(**params)), parse)

    # -- service ---------------------------------------------------------------------------

    def health(self) -> Flow[Health]:
        """``GET /health``."""
        return self._get("/health", Health.from_json)

    def namespaces(self) -> Flow[List[NamespaceInfo]]:
        """``GET /v1/namespaces``."""
        return self._get(
            "/v1/namespaces",
            lambda v: [NamespaceInfo.from_json(x) for x in c.as_list(c.obj(v).get("namespaces"))],
        )

    def create_namespace(self, name: str) -> Flow[CreatedNamespace]:
        """``PUT /v1/namespaces/{name}`` (idempotent)."""
        return self._call(
            Request("PUT", "/v1/namespaces/" + _seg(name)), CreatedNamespace.from_json
        )

    def namespace_info(self) -> Flow[NamespaceInfo]:
        """``GET /v1/namespaces/{ns}``."""
        return self._get(self._ns(), NamespaceInfo.from_json)

    # -- ingest and jobs -------------------------------------------------------------------

    def ingest(
        self,
        documents: Union[DocumentLike, Iterable[DocumentLike]],
        wait: bool,
        reason: Optional[str],
    ) -> Flow[Union[IngestResult, Job]]:
        """``POST /v1/namespaces/{ns}/documents`` (then ``GET .../jobs/{id}`` on a 202)."""
        docs, rejected = read_documents(documents)
        if rejected:
            listed = "; ".join(str(r) for r in rejected[:5])
            more = f" (and {len(rejected) - 5} more)" if len(rejected) > 5 else ""
            raise InvalidInput(
                f"{len(rejected)} input(s) could not be read; nothing was sent: {listed}{more}",
                code="invalid_documents",
                details={"documents": [dict(file=r.file, line=r.line, reason=r.reason) for r in rejected]},
            )
        if not docs:
            raise InvalidInput("no documents to ingest", code="invalid_documents",
                               details={"documents": []})
        body: Dict[str, Any] = {"documents": [d.to_json() for d in docs]}
        if reason is not None:
            body["reason"] = reason
        params = None if wait else {"wait": False}
        return self._ingest(Request("POST", self._ns("documents"), params=params, json=body), wait)

    def _ingest(self, req: Request, wait: bool) -> Flow[Union[IngestResult, Job]]:
        resp = yield from send(req, self.policy)
        body = decode(resp)
        if resp.status_code == 202:
            job_id = c.opt_int(c.obj(body).get("id"))
            if job_id is None:
                raise ChronoRagError(
                    "the server accepted a job without a job id",
                    code="invalid_response",
                    status=202,
                )
            if not wait:
                job = yield from self.job(job_id)
                return job
            # The server chose a job (a large body): waiting means following it to its result.
            job = yield from self.wait_job(job_id, None, 0.2)
            if job.state != "done" or job.result is None:
                raise ChronoRagError(
                    f"ingest job {job_id} {job.state}: {job.error or 'no result'}; nothing of it "
                    "was written",
                    code="job_failed",
                    details={"job": job},
                )
            return job.result
        return IngestResult.from_json(body)

    def job(self, job_id: int) -> Flow[Job]:
        """``GET /v1/namespaces/{ns}/jobs/{id}``."""
        return self._get(self._ns("jobs", int(job_id)), Job.from_json)

    def wait_job(self, job_id: int, timeout: Optional[float], poll_interval: float) -> Flow[Job]:
        """Polls a job until it is done or failed (``JobTimeout`` after ``timeout`` seconds)."""
        deadline = None if timeout is None else _time.monotonic() + timeout
        interval = max(poll_interval, 0.01)
        while True:
            job = yield from self.job(job_id)
            if job.finished:
                return job
            now = _time.monotonic()
            if deadline is not None and now >= deadline:
                raise JobTimeout(
                    f"job {job_id} is still {job.state} after {timeout} s",
                    code="job_timeout",
                    details={"job": job},
                )
            wait = interval if deadline is None else min(interval, max(deadline - now, 0.0))
            yield Sleep(wait)
            interval = min(interval * 1.5, 2.0)

    # -- documents -------------------------------------------------------------------------

    def document(self, document_id: str, as_of_tx: Optional[int]) -> Flow[DocumentView]:
        """``GET /v1/namespaces/{ns}/documents/{id}``."""
        return self._get(self._ns("documents", document_id), DocumentView.from_json,
                         as_of_tx=as_of_tx)

    def documents(self, cursor: Optional[str], limit: Optional[int],
                  as_of_tx: Optional[int]) -> Flow[DocumentPage]:
        """``GET /v1/namespaces/{ns}/documents``."""
        return self._get(self._ns("documents"), DocumentPage.from_json,
                         cursor=cursor, limit=limit, as_of_tx=as_of_tx)

    def documents_pager(self, limit: Optional[int], as_of_tx: Optional[int]) -> Pager[DocumentRecord]:
        """All documents, page by page."""

        def fetch(cursor: Any) -> Flow[Tuple[Sequence[DocumentRecord], Any]]:
            page = yield from self.documents(cursor, limit, as_of_tx)
            return page.documents, page.next_cursor

        return Pager(fetch)

    # -- query -----------------------------------------------------------------------------

    def query(
        self,
        question: str,
        time: TimeArg,
        now: Union[None, str, _dt.date],
        as_of_tx: Optional[int],
        mode: str,
        budget_chars: Optional[int],
        top_k: Optional[int],
        explain: bool,
        answer: bool,
    ) -> Flow[QueryResult]:
        """``POST /v1/namespaces/{ns}/query``."""
        body = query_body(question, time, now, as_of_tx, mode, budget_chars, top_k, explain,
                          answer)
        return self._call(Request("POST", self._ns("query"), json=body), QueryResult.from_json)

    # -- facts -----------------------------------------------------------------------------

    def facts(
        self,
        entity: Union[None, str, int],
        from_: Union[None, str, int, _dt.date],
        to: Union[None, str, int, _dt.date],
        as_of_tx: Optional[int],
        include_retracted: bool,
        limit: Optional[int],
        cursor: Optional[str],
    ) -> Flow[FactPage]:
        """``GET /v1/namespaces/{ns}/facts`` (one page)."""
        return self._get(
            self._ns("facts"),
            FactPage.from_json,
            entity=None if entity is None else str(entity),
            from_=None if from_ is None else _time_str(from_, "from_"),
            to=None if to is None else _time_str(to, "to"),
            as_of_tx=as_of_tx,
            include_retracted=True if include_retracted else None,
            limit=limit,
            cursor=cursor,
        )

    def facts_pager(
        self,
        entity: Union[None, str, int],
        from_: Union[None, str, int, _dt.date],
        to: Union[None, str, int, _dt.date],
        as_of_tx: Optional[int],
        include_retracted: bool,
        limit: Optional[int],
    ) -> Pager[Fact]:
        """All matching facts, following ``next_cursor``."""

        def fetch(cursor: Any) -> Flow[Tuple[Sequence[Fact], Any]]:
            page = yield from self.facts(entity, from_, to, as_of_tx, include_retracted, limit,
                                         cursor)
            return page.facts, page.next_cursor

        return Pager(fetch)

    def fact(self, fact_id: int, as_of_tx: Optional[int]) -> Flow[Fact]:
        """``GET /v1/namespaces/{ns}/facts/{id}``."""
        return self._get(self._ns("facts", int(fact_id)), Fact.from_json, as_of_tx=as_of_tx)

    def assert_facts(self, facts: Sequence[Mapping[str, Any]], reason: Optional[str]) -> Flow[AssertResult]:
        """``POST /v1/namespaces/{ns}/facts`` (one transaction)."""
        if isinstance(facts, Mapping) or not facts:
            raise ValueError("facts must be a non-empty list of fact objects")
        body: Dict[str, Any] = {"facts": [dict(f) for f in facts]}
        if reason is not None:
            body["reason"] = reason
        return self._call(
            Request("POST", self._ns("facts"), json=body, retry=Retry.UNSENT_ONLY),
            AssertResult.from_json,
        )

    @staticmethod
    def fact_input(
        subject: Union[str, int],
        description: str,
        time: Union[str, int, _dt.date],
        object: Union[None, str, int],
        value: Optional[str],
        confidence: Optional[float],
    ) -> Dict[str, Any]:
        """The server's ``FactInput`` object."""
        f: Dict[str, Any] = {
            "subject": str(subject),
            "description": description,
            "time": _time_str(time, "time"),
        }
        obj = _object_input(object, value)
        if obj is not None:
            f["object"] = obj
        if confidence is not None:
            f["confidence"] = confidence
        return f

    def correct_fact(
        self,
        fact_id: int,
        reason: str,
        description: Optional[str],
        time: Union[None, str, int, _dt.date],
        subject: Union[None, str, int],
        object: Union[None, str, int],
        value: Optional[str],
        confidence: Optional[float],
    ) -> Flow[CorrectResult]:
        """``PATCH /v1/namespaces/{ns}/facts/{id}``."""
        body: Dict[str, Any] = {"reason": _require_reason(reason)}
        if description is not None:
            body["description"] = description
        if time is not None:
            body["time"] = _time_str(time, "time")
        if subject is not None:
            body["subject"] = str(subject)
        obj = _object_input(object, value)
        if obj is not None:
            body["object"] = obj
        if confidence is not None:
            body["confidence"] = confidence
        return self._call(
            Request("PATCH", self._ns("facts", int(fact_id)), json=body, retry=Retry.UNSENT_ONLY),
            CorrectResult.from_json,
        )

    def retract_fact(self, fact_id: int, reason: str) -> Flow[RetractResult]:
        """``DELETE /v1/namespaces/{ns}/facts/{id}?reason=``."""
        return self._call(
            Request("DELETE", self._ns("facts", int(fact_id)),
                    params={"reason": _require_reason(reason)}, retry=Retry.UNSENT_ONLY),
            RetractResult.from_json,
        )

    # -- entities and timeline -------------------------------------------------------------

    def entity(self, id_or_name: Union[str, int], as_of_tx: Optional[int]) -> Flow[Entity]:
        """``GET /v1/namespaces/{ns}/entities/{id or name}``."""
        return self._get(self._ns("entities", id_or_name), Entity.from_json,
                         as_of_tx=as_of_tx)

    def entities(self, q: Optional[str], kind: Optional[str], cursor: Optional[str],
                 limit: Optional[int], as_of_tx: Optional[int]) -> Flow[EntityPage]:
        """``GET /v1/namespaces/{ns}/entities`` (one page)."""
        return self._get(self._ns("entities"), EntityPage.from_json, q=q, kind=kind,
                         cursor=cursor, limit=limit, as_of_tx=as_of_tx)

    def entities_pager(self, q: Optional[str], kind: Optional[str], limit: Optional[int],
                       as_of_tx: Optional[int]) -> Pager[Entity]:
        """All matching entities, page by page."""

        def fetch(cursor: Any) -> Flow[Tuple[Sequence[Entity], Any]]:
            page = yield from self.entities(q, kind, cursor, limit, as_of_tx)
            return page.entities, page.next_cursor

        return Pager(fetch)

    def entity_timeline(self, id_or_name: Union[str, int], from_: Any, to: Any,
                        as_of_tx: Optional[int], limit: Optional[int],
                        cursor: Optional[str]) -> Flow[EntityTimeline]:
        """``GET /v1/namespaces/{ns}/entities/{id}/timeline`` (one page)."""
        return self._get(
            self._ns("entities", id_or_name, "timeline"),
            EntityTimeline.from_json,
            from_=None if from_ is None else _time_str(from_, "from_"),
            to=None if to is None else _time_str(to, "to"),
            as_of_tx=as_of_tx,
            limit=limit,
            cursor=cursor,
        )

    def timeline(self, node: Union[None, str, int], as_of_tx: Optional[int]) -> Flow[TimelineNode]:
        """``GET /v1/namespaces/{ns}/timeline[/{node}]``."""
        path = self._ns("timeline") if node is None else self._ns("timeline", node)
        return self._get(path, TimelineNode.from_json, as_of_tx=as_of_tx)

    def summarize(self) -> Flow[SummarizeReport]:
        """``POST /v1/namespaces/{ns}/summarize``."""
        return self._call(
            Request("POST", self._ns("summarize"), retry=Retry.UNSENT_ONLY),
            SummarizeReport.from_json,
        )

    def rename_entity(self, id_or_name: Union[str, int], name: str,
                      reason: Optional[str]) -> Flow[int]:
        """``PATCH /v1/namespaces/{ns}/entities/{id}``; returns the transaction id."""
        body: Dict[str, Any] = {"name": name}
        if reason is not None:
            body["reason"] = reason
        return self._call(
            Request("PATCH", self._ns("entities", id_or_name), json=body,
                    retry=Retry.UNSENT_ONLY),
            lambda v: c.to_int(c.obj(v).get("tx")),
        )

    def merge_entities(self, into: Union[str, int], sources: Sequence[Union[str, int]],
                       reason: str) -> Flow[Tuple[int, int]]:
        """``POST /v1/namespaces/{ns}/entities/merge``; returns ``(tx, facts_moved)``."""
        if isinstance(sources, (str, int)):
            sources = [sources]
        body = {"into": str(into), "from": [str(s) for s in sources],
                "reason": _require_reason(reason)}
        return self._call(
            Request("POST", self._ns("entities", "merge"), json=body, retry=Retry.UNSENT_ONLY),
            lambda v: (c.to_int(c.obj(v).get("tx")), c.to_int(c.obj(v).get("facts_moved"))),
        )

    # -- history ---------------------------------------------------------------------------

    def transactions(self, limit: Optional[int], cursor: Optional[str]) -> Flow[TransactionPage]:
        """``GET /v1/namespaces/{ns}/transactions`` (newest first, one page)."""
        return self._get(self._ns("transactions"), TransactionPage.from_json,
                         limit=limit, cursor=cursor)

    def transactions_pager(self, limit: Optional[int]) -> Pager[Tx]:
        """Every transaction, newest first."""

        def fetch(cursor: Any) -> Flow[Tuple[Sequence[Tx], Any]]:
            page = yield from self.transactions(limit, cursor)
            return page.transactions, page.next_cursor

        return Pager(fetch)

    def transaction(self, tx: int) -> Flow[Tx]:
        """``GET /v1/namespaces/{ns}/transactions/{tx}``."""
        return self._get(self._ns("transactions", int(tx)), Tx.from_json)

    def diff(self, from_tx: int, to_tx: Optional[int]) -> Flow[Diff]:
        """``GET /v1/namespaces/{ns}/diff?from_tx=&to_tx=``."""
        return self._get(self._ns("diff"), Diff.from_json, from_tx=int(from_tx), to_tx=to_tx)

    def revert(self, tx: int, reason: str) -> Flow[RollbackResult]:
        """``POST /v1/namespaces/{ns}/rollback`` with ``revert_tx``."""
        body = {"revert_tx": int(tx), "reason": _require_reason(reason)}
        return self._call(
            Request("POST", self._ns("rollback"), json=body, retry=Retry.UNSENT_ONLY),
            RollbackResult.from_json,
        )

    def rollback(self, to_tx: int, reason: str) -> Flow[RollbackResult]:
        """``POST /v1/namespaces/{ns}/rollback`` with ``to_tx``."""
        body = {"to_tx": int(to_tx), "reason": _require_reason(reason)}
        return self._call(
            Request("POST", self._ns("rollback"), json=body, retry=Retry.UNSENT_ONLY),
            RollbackResult.from_json,
        )

    # -- audit, erase, conflicts -----------------------------------------------------------

    def verify_audit(self) -> Flow[VerifyReport]:
        """``GET /v1/audit/verify`` (every namespace)."""
        return self._get("/v1/audit/verify", VerifyReport.from_json)

    def backup(self, dest: str) -> Flow[BackupReport]:
        """``POST /v1/admin/backup`` (a folder on the server; admin on ``*``)."""
        if not str(dest).strip():
            raise ValueError("dest is empty: give the folder to create on the server")
        return self._call(
            Request("POST", "/v1/admin/backup", json={"dest": str(dest)}, retry=Retry.UNSENT_ONLY),
            BackupReport.from_json,
        )

    def audit_pager(self, page_size: int = 1000) -> Pager[AuditEntry]:
        """The namespace's audit entries from the first, page by page (by sequence number)."""

        def fetch(cursor: Any) -> Flow[Tuple[Sequence[AuditEntry], Any]]:
            entries, nxt = yield from self._get(
                self._ns("audit"),
                lambda v: (
                    [AuditEntry.from_json(x) for x in c.as_list(c.obj(v).get("entries"))],
                    c.opt_str(c.obj(v).get("next_cursor")),
                ),
                limit=page_size,
                cursor=cursor,
            )
            return entries, nxt

        return Pager(fetch)

    def erase(self, document: Optional[str], entity: Union[None, str, int],
              reason: str) -> Flow[EraseReport]:
        """``DELETE .../documents/{id}?erase=true`` or ``DELETE .../entities/{id}?erase=true``."""
        if (document is None) == (entity is None):
            raise ValueError("give exactly one of document and entity")
        params = {"erase": True, "reason": _require_reason(reason)}
        if document is not None:
            path = self._ns("documents", document)
        else:
            path = self._ns("entities", entity)  # type: ignore[arg-type]
        return self._call(
            Request("DELETE", path, params=params, retry=Retry.UNSENT_ONLY),
            EraseReport.from_json,
        )

    def retract_document(self, document: str, reason: str) -> Flow[int]:
        """``DELETE /v1/namespaces/{ns}/documents/{id}``; returns the transaction id."""
        return self._call(
            Request("DELETE", self._ns("documents", document),
                    params={"reason": _require_reason(reason)}, retry=Retry.UNSENT_ONLY),
            lambda v: c.to_int(c.obj(v).get("tx")),
        )

    def conflicts(self, as_of_tx: Optional[int]) -> Flow[List[FactConflict]]:
        """``GET /v1/namespaces/{ns}/conflicts``."""
        return self._get(
            self._ns("conflicts"),
            lambda v: [FactConflict.from_json(x) for x in c.as_list(c.obj(v).get("conflicts"))],
            as_of_tx=as_of_tx,
        )

