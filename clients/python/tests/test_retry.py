"""Retries, backoff, error mapping and defensive parsing, against a scripted stub server and a
closed port (no real service needed)."""

from __future__ import annotations

import socket
import time
from typing import Any, Callable, List

import httpx
import pytest

from chronorag import (
    AsyncClient,
    BadRequest,
    ChronoRagError,
    Client,
    ConnectionFailed,
    Forbidden,
    IngestResult,
    Job,
    JobTimeout,
    NotFound,
    RateLimited,
    ServerError,
    Unavailable,
)
from chronorag._common import Request

from .stub import Reply, Stub, error

HEALTH = {"status": "ok", "version": "9.9.9", "namespaces": 1, "auth": False}


def closed_port_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


def count_attempts(c: Any) -> List[Request]:
    """Wraps the client's transport call to record every attempt."""
    calls: List[Request] = []
    orig: Callable[[Request], Any] = c._perform

    def counting(req: Request) -> Any:
        calls.append(req)
        return orig(req)

    c._perform = counting
    return calls


def gaps(stub: Stub) -> List[float]:
    t = [r[2] for r in stub.requests]
    return [b - a for a, b in zip(t, t[1:])]


def test_503_and_429_are_retried_for_reads() -> None:
    with Stub(error(503, "unavailable"), error(429, "too_many_requests"), Reply(200, HEALTH)) as s:
        with Client(s.url, retries=3, backoff=0.01) as c:
            assert c.health().version == "9.9.9"
        assert s.attempts == 3


def test_retries_are_bounded_and_the_last_error_is_raised() -> None:
    with Stub(default=error(503, "unavailable", "store is busy")) as s:
        with Client(s.url, retries=2, backoff=0.01) as c, pytest.raises(Unavailable) as e:
            c.facts()
        assert s.attempts == 3
        assert (e.value.status, e.value.code, e.value.message) == (503, "unavailable", "store is busy")
        assert isinstance(e.value, ServerError)
    with Stub(default=error(429, "too_many_requests")) as s:
        with Client(s.url, retries=0, backoff=0.01) as c, pytest.raises(RateLimited):
            c.health()
        assert s.attempts == 1


def test_retry_after_is_honoured() -> None:
    with Stub(error(429, "too_many_requests", **{"Retry-After": "1"}), Reply(200, HEALTH)) as s:
        with Client(s.url, retries=1, backoff=0.001) as c:
            c.health()
        assert s.attempts == 2 and gaps(s)[0] >= 0.95
    with Stub(default=error(503, "timeout", **{"Retry-After": "7"})) as s:
        with Client(s.url, retries=0) as c, pytest.raises(Unavailable) as e:
            c.health()
        assert e.value.retry_after == 7.0 and e.value.code == "timeout"


def test_backoff_doubles() -> None:
    with Stub(error(503, "x"), error(503, "x"), error(503, "x"), Reply(200, HEALTH)) as s:
        with Client(s.url, retries=3, backoff=0.1) as c:
            c.health()
        g = gaps(s)
        assert len(g) == 3
        assert g[0] >= 0.1 and g[1] >= 0.2 and g[2] >= 0.4
        assert g[2] < 2.0


def test_ingest_is_retried_because_it_is_idempotent() -> None:
    ok = {"tx": 1, "documents": 1, "document_ids": ["a"]}
    with Stub(error(503, "unavailable"), Reply(200, ok)) as s:
        with Client(s.url, backoff=0.01) as c:
            r = c.ingest([{"text": "hello", "id": "a"}])
        assert s.attempts == 2 and s.bodies[0] == s.bodies[1]
        assert getattr(r, "document_ids") == ("a",)


def test_non_idempotent_writes_are_not_retried_on_503() -> None:
    writes: List[Callable[[Client], Any]] = [
        lambda c: c.retract_fact(1, reason="r"),
        lambda c: c.assert_fact("A", "A did B", "2020"),
        lambda c: c.correct_fact(1, reason="r", description="d"),
        lambda c: c.rollback(1, reason="r"),
        lambda c: c.revert(2, reason="r"),
        lambda c: c.erase(document="d", reason="r"),
    ]
    for write in writes:
        with Stub(error(503, "unavailable"), Reply(200, {"tx": 2})) as s:
            with Client(s.url, retries=3, backoff=0.01) as c, pytest.raises(Unavailable):
                write(c)
            assert s.attempts == 1


def test_non_idempotent_writes_are_retried_on_429() -> None:
    with Stub(error(429, "too_many_requests"), Reply(200, {"tx": 5, "retracted": 1})) as s:
        with Client(s.url, backoff=0.01) as c:
            r = c.retract_fact(1, reason="r")
        assert (r.tx, s.attempts) == (5, 2)
        assert [m for m, _, _ in s.requests] == ["DELETE", "DELETE"]


def test_other_errors_are_never_retried_and_keep_the_server_details() -> None:
    cases = [
        (error(400, "invalid_request", "bad limit"), BadRequest),
        (error(403, "forbidden"), Forbidden),
        (error(404, "not_found", "no fact 9"), NotFound),
        (error(500, "internal_error"), ServerError),
    ]
    for reply, cls in cases:
        reply.body["error"]["details"] = {"hint": 1}
        with Stub(reply, Reply(200, HEALTH)) as s:
            with Client(s.url, backoff=0.01) as c, pytest.raises(cls) as e:
                c.health()
            assert s.attempts == 1
            assert e.value.status == reply.status and e.value.details == {"hint": 1}
            assert e.value.code == reply.body["error"]["code"]


def test_non_json_error_bodies() -> None:
    with Stub(Reply(502, raw=b"Bad gateway from proxy")) as s:
        with Client(s.url) as c, pytest.raises(ServerError) as e:
            c.health()
        assert (e.value.status, e.value.code, e.value.message) == (502, "http_502", "Bad gateway from proxy")


def test_connection_refused_is_retried_then_raised() -> None:
    url = closed_port_url()
    with Client(url, retries=2, backoff=0.01) as c:
        calls = count_attempts(c)
        with pytest.raises(ConnectionFailed) as e:
            c.health()
        assert len(calls) == 3
        assert isinstance(e.value.__cause__, httpx.ConnectError)
        assert e.value.status is None and e.value.code == "connection_failed"
        # A write that never reached the server is safe to retry too.
        calls.clear()
        with pytest.raises(ConnectionFailed):
            c.retract_fact(1, reason="r")
        assert len(calls) == 3


def test_read_timeouts_are_retried_for_reads_but_not_writes() -> None:
    # The timeout also bounds the retry, which must be answered within it: 1 s leaves a loaded
    # machine room for that; the delayed reply comes well after it.
    with Stub(Reply(200, HEALTH, delay=2.5), Reply(200, HEALTH)) as s:
        with Client(s.url, timeout=1.0, retries=1, backoff=0.01) as c:
            assert c.health().status == "ok"
        assert s.attempts == 2
    with Stub(Reply(200, {"tx": 1}, delay=2.5), Reply(200, {"tx": 1})) as s:
        with Client(s.url, timeout=1.0, retries=3, backoff=0.01) as c:
            with pytest.raises(ConnectionFailed) as e:
                c.rollback(1, reason="r")
        assert s.attempts == 1 and isinstance(e.value.__cause__, httpx.ReadTimeout)


def test_ingest_202_is_followed_to_its_result_when_waiting() -> None:
    base = {"id": 7, "namespace": "default", "actor": "local",
            "created_at": "2024-01-01T00:00:00Z"}
    report = {"bytes": 5, "chunks": 1, "documents": 1, "facts": 0, "entities": 0, "tx": 3,
              "document_ids": ["d"], "duplicates": 0, "rejected": []}
    with Stub(Reply(202, {"id": 7, "namespace": "default", "state": "queued",
                          "progress": {"done": 0, "total": 1},
                          "href": "/v1/namespaces/default/jobs/7"}),
              Reply(200, {**base, "state": "queued", "progress": {"done": 0, "total": 1}}),
              Reply(200, {**base, "state": "done", "progress": {"done": 1, "total": 1},
                          "result": report})) as s:
        with Client(s.url) as c:
            r = c.ingest([{"text": "hello"}])
        assert isinstance(r, IngestResult) and r.documents == 1 and r.tx == 3
        assert [(m, p) for m, p, _ in s.requests] == [
            ("POST", "/v1/namespaces/default/documents"),
            ("GET", "/v1/namespaces/default/jobs/7"),
            ("GET", "/v1/namespaces/default/jobs/7"),
        ]
    with Stub(Reply(202, {"id": 9, "namespace": "default", "state": "queued",
                          "progress": {"done": 0, "total": 1},
                          "href": "/v1/namespaces/default/jobs/9"}),
              Reply(200, {**base, "id": 9, "state": "failed", "error": "disk full",
                          "progress": {"done": 0, "total": 1}})) as s:
        with Client(s.url) as c:
            with pytest.raises(ChronoRagError) as e:
                c.ingest([{"text": "hello"}])
        assert e.value.code == "job_failed" and "disk full" in str(e.value)
        assert e.value.details["job"].id == 9


def test_ingest_without_waiting_returns_the_job() -> None:
    job = {"id": 8, "namespace": "default", "state": "queued", "actor": "local",
           "created_at": "2024-01-01T00:00:00Z", "progress": {"done": 0, "total": 1}}
    with Stub(Reply(202, {"id": 8}), Reply(200, {**job, "id": 8})) as s:
        with Client(s.url) as c:
            j = c.ingest({"text": "x"}, wait=False)
        assert isinstance(j, Job) and j.id == 8 and j.state == "queued"
        assert s.requests[0][1] == "/v1/namespaces/default/documents?wait=false"


def test_wait_job_times_out() -> None:
    running = {"id": 3, "state": "running", "progress": {"done": 1, "total": 9}}
    with Stub(default=Reply(200, running)) as s:
        with Client(s.url) as c:
            t0 = time.monotonic()
            with pytest.raises(JobTimeout) as e:
                c.wait_job(3, timeout=1.0, poll_interval=0.05)
            assert 0.95 <= time.monotonic() - t0 < 4
        assert isinstance(e.value, TimeoutError)
        assert e.value.details["job"].progress.done == 1 and s.attempts >= 3


def test_unknown_and_missing_fields_do_not_break_parsing() -> None:
    body = {
        "context": "ctx",
        "plan": {"intent": "specific", "brand_new": {"x": 1}, "as_of_tx": "not a number"},
        "facts": [{"id": 1, "description": "d", "valid": None, "future_field": [1, 2]}],
        "chunks": "not a list",
        "summaries": [],
        "explain": None,
        "new_top_level": True,
    }
    with Stub(Reply(200, body)) as s, Client(s.url) as c:
        r = c.query("q")
    assert r.context == "ctx" and r.plan.intent == "specific" and r.plan.as_of_tx == 0
    assert r.facts[0].description == "d" and r.facts[0].valid.start is None
    assert r.chunks == () and r.explain is None
    assert r.raw["new_top_level"] is True and r.facts[0].raw["future_field"] == [1, 2]


def test_request_shapes() -> None:
    with Stub(default=Reply(200, {})) as s:
        with Client(s.url, namespace="ns1", api_key="k-123") as c:
            c.facts(entity="Acme Corp", from_="2019", to=2020, include_retracted=True, limit=5)
            c.entity("Acme / Co")
            c.query("q", time={"from": "2019"}, now="2020-01-01", budget_chars=10)
            c.erase(entity=12, reason="why not")
        paths = [p for _, p, _ in s.requests]
        assert paths[0] == (
            "/v1/namespaces/ns1/facts?entity=Acme+Corp&from=2019&to=2020&include_retracted=true&limit=5"
        )
        assert paths[1] == "/v1/namespaces/ns1/entities/Acme%20%2F%20Co"
        assert s.bodies[2] == (
            b'{"query":"q","time":{"from":"2019"},"now":"2020-01-01","budget_chars":10}'
        )
        assert paths[3] == "/v1/namespaces/ns1/entities/12?erase=true&reason=why+not"


async def test_async_retries_and_connection_errors() -> None:
    with Stub(error(503, "unavailable"), Reply(200, HEALTH)) as s:
        async with AsyncClient(s.url, backoff=0.01) as c:
            assert (await c.health()).version == "9.9.9"
        assert s.attempts == 2
    with Stub(error(503, "unavailable"), Reply(200, {"tx": 1})) as s:
        async with AsyncClient(s.url, backoff=0.01) as c:
            with pytest.raises(Unavailable):
                await c.revert(1, reason="r")
        assert s.attempts == 1
    async with AsyncClient(closed_port_url(), retries=1, backoff=0.01) as c:
        calls: List[Request] = []
        orig = c._perform

        async def counting(req: Request) -> Any:
            calls.append(req)
            return await orig(req)

        c._perform = counting  # type: ignore[method-assign]
        with pytest.raises(ConnectionFailed):
            await c.namespaces()
        assert len(calls) == 2
    with Stub(default=Reply(200, {"id": 1, "state": "queued"})) as s:
        async with AsyncClient(s.url) as c:
            with pytest.raises(JobTimeout):
                await c.wait_job(1, timeout=0.2, poll_interval=0.05)


def test_constructor_validation() -> None:
    with pytest.raises(ValueError):
        Client("http://127.0.0.1:1", retries=-1)
    with pytest.raises(ValueError):
        Client("http://127.0.0.1:1", namespace="")
