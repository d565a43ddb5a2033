"""The asyncio client against the real server: every method, awaited."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import AsyncIterator, List, Tuple

import pytest

from chronorag import (
    AsyncClient,
    BadRequest,
    Conflict,
    IngestResult,
    InvalidInput,
    InvalidTime,
    Job,
    NotFound,
)

from .conftest import ACME_DOCS, Server


@pytest.fixture
async def aclient(server: Server, ns: str) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(server.url, namespace=ns, backoff=0.05) as c:
        yield c


@pytest.fixture
async def aacme(aclient: AsyncClient) -> AsyncClient:
    r = await aclient.ingest(ACME_DOCS)
    assert isinstance(r, IngestResult) and r.tx == 1
    return aclient


async def _state(c: AsyncClient, as_of_tx: "int | None" = None) -> List[Tuple[int, str]]:
    return [(f.id, f.description) async for f in c.iter_facts(as_of_tx=as_of_tx)]


async def test_service_and_namespaces(aclient: AsyncClient, ns: str) -> None:
    assert (await aclient.health()).status == "ok"
    assert (await aclient.create_namespace(ns)).created is True
    assert (await aclient.create_namespace(ns)).created is False
    assert ns in [n.name for n in await aclient.namespaces()]
    assert (await aclient.namespace_info()).name == ns
    other = aclient.with_namespace(ns + "-x")
    assert other._http is aclient._http and other.namespace == ns + "-x"
    with pytest.raises(NotFound):
        await other.fact(1)
    await other.close()  # no-op: the pool belongs to aclient
    assert (await aclient.health()).status == "ok"


async def test_ingest_paths_jobs_and_documents(aclient: AsyncClient, tmp_path: Path) -> None:
    (tmp_path / "q2-2023-Q2.md").write_text(ACME_DOCS[0]["text"])
    (tmp_path / "more.jsonl").write_text(json.dumps(ACME_DOCS[1]) + "\n")
    r = await aclient.ingest(str(tmp_path), reason="folder")
    assert isinstance(r, IngestResult)
    assert sorted(r.document_ids) == ["acme-q3", "q2-2023-Q2.md"]
    assert (await aclient.document("q2-2023-Q2.md")).document.time == "2023-Q2"
    job = await aclient.ingest([ACME_DOCS[2]], wait=False)
    assert isinstance(job, Job)
    done = await aclient.wait_job(job.id, timeout=30)
    assert done.ok and done.result is not None and done.result.document_ids == ("globex-2019",)
    assert (await aclient.job(job.id)).state == "done"
    page = await aclient.documents(limit=1)
    assert len(page.documents) == 1 and page.next_cursor is not None
    ids = [d.external_id async for d in aclient.iter_documents(page_size=2)]
    assert sorted(ids) == ["acme-q3", "globex-2019", "q2-2023-Q2.md"]
    tx = await aclient.retract_document("globex-2019", reason="withdrawn")
    assert (await aclient.transaction(tx)).kind == "retract"
    bad = tmp_path / "bad" / "x.jsonl"
    bad.parent.mkdir()
    bad.write_text("nope\n")
    with pytest.raises(InvalidInput):
        await aclient.ingest(bad)


async def test_query(aacme: AsyncClient) -> None:
    r = await aacme.query("What revenue did Acme Corp report?", time={"at": "2023-Q3"},
                          explain=True, top_k=5, budget_chars=2000, now="2023-12-31",
                          mode="specific")
    assert "$4.4 billion" in r.context and "$4.1 billion" not in r.context
    assert r.plan.time_scope is not None and r.plan.time_scope.keys == ("2023-Q3",)
    assert r.plan.intent == "specific" and r.plan.now == "2023-12-31"
    assert r.explain is not None and len(r.facts) <= 5
    assert (await aacme.query("Acme revenue", as_of_tx=1)).plan.as_of_tx == 1
    with pytest.raises(InvalidTime):
        await aacme.query("x", time="not a time at all")


async def test_query_stream(aacme: AsyncClient) -> None:
    events = [e async for e in aacme.query_stream("Acme Corp revenue in Q3 2023", answer=False)]
    assert [e.event for e in events] == ["context"]
    plain = await aacme.query("Acme Corp revenue in Q3 2023")
    assert events[0].result is not None and events[0].result.context == plain.context
    # No LLM on the test server: the error comes before the stream.
    with pytest.raises(BadRequest):
        async for _ in aacme.query_stream("Acme Corp revenue in Q3 2023"):
            pass


async def test_facts_entities_timeline(aacme: AsyncClient) -> None:
    everything = await aacme.facts(limit=1000)
    first = await aacme.facts(limit=1)
    assert first.next_cursor is not None
    second = await aacme.facts(limit=1, cursor=first.next_cursor)
    assert second.facts[0].id != first.facts[0].id
    assert [f.id async for f in aacme.iter_facts(page_size=1)] == [f.id for f in everything.facts]
    assert {f.subject async for f in aacme.iter_facts(entity="Jane Doe")} == {"Jane Doe"}
    f1 = await aacme.fact(everything.facts[0].id, as_of_tx=1)
    assert f1.id == everything.facts[0].id
    e = await aacme.entity("Acme Corp")
    assert e.kind == "organization"
    ents = await aacme.entities(q="acme")
    assert [x.name for x in ents.entities] == ["Acme Corp", "Chief Executive of Acme Corp"]
    assert [x.id async for x in aacme.iter_entities(page_size=1)] == [
        x.id for x in (await aacme.entities(limit=1000)).entities
    ]
    tl = await aacme.entity_timeline("Acme Corp", from_="2023-Q3")
    assert [f.time for f in tl.facts] == ["2023-Q3"]
    await aacme.summarize()
    root = await aacme.timeline()
    assert [c.node for c in root.children] == ["2019", "2023"]
    assert (await aacme.timeline("2023")).summary is not None
    tx = await aacme.rename_entity("Jane Doe", "Jane A. Doe", reason="full name")
    assert (await aacme.entity("Jane Doe")).name == "Jane A. Doe" and tx == 2
    await aacme.assert_fact("J. Doe", "J. Doe gave a keynote", "2023-Q3")
    merge_tx, moved = await aacme.merge_entities("Jane A. Doe", ["J. Doe"], reason="same person")
    assert moved == 1 and (await aacme.transaction(merge_tx)).kind == "merge_entities"


async def test_governance(aacme: AsyncClient, ns: str) -> None:
    before = await _state(aacme)
    a = await aacme.assert_fact("Acme Corp", "Acme Corp opened a plant", "2023-Q4", value="Ohio",
                                reason="visit")
    many = await aacme.assert_facts([{"subject": "Acme Corp", "description": "Acme Corp hired",
                                      "time": "2023-Q4"}])
    assert many.tx == a.tx + 1
    c = await aacme.correct_fact(a.fact or 0, reason="typo", value="Texas")
    assert (await aacme.fact(c.fact)).object == "Texas"
    with pytest.raises(Conflict):
        await aacme.correct_fact(a.fact or 0, reason="again", value="Utah")
    r = await aacme.retract_fact(c.fact, reason="no plant")
    assert r.retracted == c.fact
    page = await aacme.transactions(limit=2)
    assert [t.id for t in page.transactions] == [r.tx, r.tx - 1] and page.next_cursor is not None
    assert [t.id async for t in aacme.iter_transactions(page_size=2)] == list(range(r.tx, 0, -1))
    d = await aacme.diff(1)
    assert d.transactions == tuple(range(2, r.tx + 1))
    assert many.facts[0] in [x.id for x in d.facts_asserted]
    changed = await _state(aacme)
    rb = await aacme.rollback(1, reason="back to the ingest")
    assert await _state(aacme) == await _state(aacme, as_of_tx=1) == before
    rv = await aacme.revert(rb.tx, reason="undo rollback")
    assert rv.kind == "revert" and await _state(aacme) == changed
    report = await aacme.verify_audit()
    assert report.ok and report.namespaces[ns].entries == rv.tx
    entries = await aacme.audit_log()
    assert [e.seq for e in entries] == list(range(1, rv.tx + 1))
    assert all(b.prev_hash == a_.hash for a_, b in zip(entries, entries[1:]))
    assert await aacme.conflicts() == []
    er = await aacme.erase(document="globex-2019", reason="privacy")
    assert er.documents == 1
    ee = await aacme.erase(entity="Jane Doe", reason="privacy")
    assert ee.entities == 1
    with pytest.raises(NotFound):
        await aacme.entity("Jane Doe")
    with pytest.raises(BadRequest):
        await aacme.facts(limit=5000)


async def test_conflicts(aclient: AsyncClient) -> None:
    await aclient.ingest([{"id": "c", "time": "2023-Q3",
                           "text": "In Q3 2023, Acme Corp reported revenue of $4.2 billion."}])
    await aclient.ingest([{"id": "d", "time": "2023-Q4",
                           "text": "In Q3 2023, Acme Corp reported revenue of $4.4 billion."}])
    (c,) = await aclient.conflicts()
    assert "$4.2" in c.existing_fact.description and "$4.4" in c.incoming_fact.description
    assert await aclient.conflicts(as_of_tx=1) == []


async def test_concurrent_queries_share_one_client(aacme: AsyncClient) -> None:
    results = await asyncio.gather(
        *(aacme.query("Acme Corp revenue", time=t) for t in ("2023-Q2", "2023-Q3") * 5)
    )
    assert all("$4.1 billion" in r.context for r in results[0::2])
    assert all("$4.4 billion" in r.context for r in results[1::2])
