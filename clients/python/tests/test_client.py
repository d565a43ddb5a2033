"""The synchronous client against the real server: every method, with assertions on content."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chronorag import (
    BadRequest,
    Client,
    Conflict,
    Document,
    Fact,
    IngestResult,
    InvalidInput,
    InvalidTime,
    Job,
    NotFound,
    ServerError,
    TooLarge,
)

from .conftest import ACME_DOCS, Server

# --------------------------------------------------------------------------------------------
# Service and namespaces
# --------------------------------------------------------------------------------------------


def test_health(client: Client) -> None:
    h = client.health()
    assert h.status == "ok"
    assert h.auth is False
    assert h.version


def test_namespaces_create_and_info(client: Client, ns: str) -> None:
    created = client.create_namespace(ns)
    assert (created.name, created.created) == (ns, True)
    again = client.create_namespace(ns)
    assert (again.name, again.created) == (ns, False)
    names = [n.name for n in client.namespaces()]
    assert ns in names
    info = client.namespace_info()
    assert info.name == ns
    assert info.stats.get("documents") == 0
    with pytest.raises(BadRequest) as e:
        client.create_namespace("Not A Valid Name")
    assert e.value.status == 400 and e.value.code == "invalid_request"


def test_with_namespace_shares_the_pool_and_isolates_data(acme: Client, ns: str) -> None:
    other = acme.with_namespace(ns + "-b")
    assert other.namespace == ns + "-b" and acme.namespace == ns
    assert other._http is acme._http  # one connection pool
    with pytest.raises(NotFound) as e:
        other.facts()  # the namespace does not exist yet
    assert e.value.code == "not_found"
    other.ingest([{"text": "In 2020, Initech hired 50 engineers.", "id": "initech"}])
    assert [f.subject for f in other.iter_facts()] == ["Initech"]
    assert "Initech" not in {f.subject for f in acme.iter_facts()}
    other.close()  # a no-op on a derived client: the parent still works
    assert acme.health().status == "ok"


# --------------------------------------------------------------------------------------------
# Ingest, jobs, documents
# --------------------------------------------------------------------------------------------


def test_ingest_dicts_and_documents_is_idempotent(client: Client) -> None:
    docs = [Document(**ACME_DOCS[0]), ACME_DOCS[1]]
    r = client.ingest(docs, reason="first")
    assert isinstance(r, IngestResult)
    assert r.tx == 1 and r.documents == 2 and r.duplicates == 0
    assert r.document_ids == ("acme-q2", "acme-q3")
    assert r.facts >= 2 and r.entities >= 2
    assert r.bytes == sum(len(d["text"].encode()) for d in ACME_DOCS[:2])
    assert r.fallbacks == 0 and r.conflicts == 0
    assert client.transaction(1).reason == "first"
    again = client.ingest(docs)
    assert isinstance(again, IngestResult)
    assert again.tx is None and again.duplicates == 2 and again.documents == 0


def test_ingest_folder_reads_files_like_the_cli(client: Client, tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    (folder / "reports").mkdir(parents=True)
    (folder / "reports" / "report-2019.md").write_text(
        "# Annual report\n\nGlobex Corporation opened a plant in Texas.\n"
    )
    (folder / "call_2024-Q3.txt").write_text("Initech reported revenue of $3.1 billion.\n")
    (folder / "news.jsonl").write_text(
        json.dumps({"id": "n1", "time": "2021-03", "text": "In March 2021, Umbrella Corp hired 200 people."})
        + "\n\n"
        + json.dumps({"text": "In 2022, Umbrella Corp opened an office in Berlin.", "time": "2022"})
        + "\n"
    )
    (folder / "ignored.csv").write_text("a,b\n")
    r = client.ingest(folder)
    assert isinstance(r, IngestResult)
    assert r.documents == 4
    assert set(r.document_ids) >= {"call_2024-Q3.txt", "reports:report-2019.md", "n1"}
    assert client.document("call_2024-Q3.txt").document.time == "2024-Q3"
    d2019 = client.document("reports:report-2019.md").document
    assert d2019.time == "2019" and d2019.title == "Annual report"
    assert d2019.source == str(folder / "reports" / "report-2019.md")
    sources = {d.source for d in client.iter_documents()}
    assert f"{folder / 'news.jsonl'}:3" in sources  # jsonl source defaults to file:line
    # A single file given directly gets its file name as id; paths may be Path objects.
    single = tmp_path / "memo-2020-05.md"
    single.write_text("Hooli acquired Pied Piper.\n")
    r2 = client.ingest([single])
    assert isinstance(r2, IngestResult) and r2.document_ids == ("memo-2020-05.md",)
    assert client.document("memo-2020-05.md").document.time == "2020-05"


def test_ingest_refuses_unreadable_inputs_without_sending(client: Client, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok line", "time": "2020"}\n{not json}\n{"txt": "typo"}\n')
    with pytest.raises(InvalidInput) as e:
        client.ingest(bad)
    lines = [d["line"] for d in e.value.details["documents"]]
    assert lines == [2, 3]
    assert e.value.code == "invalid_documents" and e.value.status is None
    with pytest.raises(InvalidInput):
        client.ingest(tmp_path / "missing-folder")
    with pytest.raises(InvalidInput):
        client.ingest([])
    with pytest.raises(ValueError):
        client.ingest([{"text": "x", "when": "2020"}])
    # Nothing reached the server: the namespace was never created.
    with pytest.raises(NotFound):
        client.facts()


def test_a_url_is_a_document_id_on_every_route(client: Client) -> None:
    url = "https://example.com/news/a?x=1&y=two#part-2"
    client.ingest([{"id": url, "time": "2022", "text": "In 2022, Acme Corp grew."}])
    assert client.document(url).document.external_id == url
    assert url in client.query("How did Acme Corp do?").context
    client.erase(document=url, reason="test")
    with pytest.raises(NotFound):
        client.document(url)


def test_ingest_server_side_validation_errors(client: Client) -> None:
    with pytest.raises(BadRequest) as e:
        client.ingest([{"text": "   "}, {"text": "fine", "id": "spoof\u202efdp.exe"}])
    assert e.value.code == "invalid_documents"
    assert [d["index"] for d in e.value.details["documents"]] == [0, 1]
    with pytest.raises(InvalidTime) as t:
        client.ingest([{"text": "Acme grew.", "time": "the day after never"}])
    assert t.value.status == 422 and t.value.code == "invalid_time"
    # The test server allows 50 documents per request.
    with pytest.raises(TooLarge) as big:
        client.ingest([{"text": f"Document number {i}."} for i in range(51)])
    assert big.value.status == 413 and big.value.code == "too_many_documents"


def test_ingest_as_job_and_wait(client: Client) -> None:
    job = client.ingest([ACME_DOCS[2]], wait=False, reason="background")
    assert isinstance(job, Job)
    assert job.id >= 1 and job.namespace == client.namespace
    assert job.state in ("queued", "running", "done")
    done = client.wait_job(job.id, timeout=30)
    assert done.state == "done" and done.ok and done.finished
    assert done.result is not None and done.result.document_ids == ("globex-2019",)
    assert done.progress.done == done.progress.total == 1
    assert client.job(job.id).state == "done"
    assert client.transaction(done.result.tx or 0).reason == "background"
    with pytest.raises(NotFound):
        client.job(9999)


def test_ingest_large_body_becomes_a_job_that_waiting_follows(client: Client) -> None:
    # Bodies above the server's async threshold (64 KiB here) become jobs (202) even with
    # wait=True; waiting follows the job to its result.
    text = "Acme Corp reported revenue of $4.4 billion in Q3 2023. " * 1400
    r = client.ingest([{"id": "big", "time": "2023-Q3", "text": text}])
    assert isinstance(r, IngestResult) and r.document_ids == ("big",)
    job = client.ingest([{"id": "big2", "time": "2023-Q3", "text": text + " More."}], wait=False)
    assert isinstance(job, Job)
    done = client.wait_job(job.id, timeout=60)
    assert done.ok and done.result is not None and done.result.document_ids == ("big2",)


def test_documents_pages_and_retract_document(acme: Client) -> None:
    page = acme.documents(limit=2)
    assert [d.external_id for d in page.documents] == ["acme-q2", "acme-q3"]
    assert page.next_cursor is not None
    rest = acme.documents(cursor=page.next_cursor, limit=2)
    assert [d.external_id for d in rest.documents] == ["globex-2019"]
    assert [d.external_id for d in acme.iter_documents(page_size=1)] == [
        "acme-q2",
        "acme-q3",
        "globex-2019",
    ]
    view = acme.document("acme-q3")
    assert view.document.time == "2023-Q3" and view.document.time_origin == "given"
    assert "Jane Doe" in "".join(c.text for c in view.chunks)
    tx = acme.retract_document("globex-2019", reason="withdrawn")
    assert tx == 2
    assert "Globex Corporation" not in {f.subject for f in acme.iter_facts()}
    assert [d.external_id for d in acme.iter_documents()] == ["acme-q2", "acme-q3"]
    assert len(list(acme.iter_documents(as_of_tx=1))) == 3
    with pytest.raises(NotFound):
        acme.document("nope")


# --------------------------------------------------------------------------------------------
# Query
# --------------------------------------------------------------------------------------------


def test_query_time_scoped(acme: Client) -> None:
    r = acme.query("What revenue did Acme Corp report?", time="2023-Q3")
    scope = r.plan.time_scope
    assert scope is not None and scope.keys == ("2023-Q3",) and scope.hard
    assert scope.source == "parameter"
    assert "$4.4 billion" in r.context and "$4.1 billion" not in r.context
    assert r.facts and all(f.time == "2023-Q3" for f in r.facts)
    assert all(c.document == "acme-q3" for c in r.chunks)
    assert r.facts[0].sources and r.facts[0].sources[0].document == "acme-q3"
    assert r.explain is None and r.answer is None
    # A range as a mapping; a year as an int.
    both = acme.query("Acme Corp revenue", time={"from": "2023-Q2", "to": "2023-Q3"})
    assert "$4.1 billion" in both.context and "$4.4 billion" in both.context
    y = acme.query("What did Globex do?", time=2019)
    assert y.plan.time_scope is not None and y.plan.time_scope.keys == ("2019",)
    assert "Ohio" in y.context


def test_query_facets_and_passages(acme: Client) -> None:
    r = acme.query("What revenue did Acme Corp report in Q2 2023 and Q3 2023?")
    fp = r.plan.facets
    assert fp.periods == ("2023-Q2", "2023-Q3")
    assert fp.measure is not None and "revenue" in fp.measure
    assert [f.period for f in fp.facets] == [0, 1]
    assert all(f.evidence and f.passages >= 1 for f in fp.facets)
    assert {p.document for p in r.passages} >= {"acme-q2", "acme-q3"}
    assert {p.facet for p in r.passages} == {0, 1}
    assert all(p.text and p.text in r.context for p in r.passages if p.document)
    assert "$4.1 billion" in r.context and "$4.4 billion" in r.context


def test_query_cache_reports_exact_and_paraphrase_hits(acme: Client) -> None:
    q = "What revenue did Acme Corp report in Q3 2023?"
    first = acme.query(q, budget_chars=3000)
    assert first.cache is None
    again = acme.query(q, budget_chars=3000)
    assert again.cache is not None and again.cache.kind == "exact"
    assert again.context == first.context
    para = acme.query("Could you tell me what revenue did Acme Corp report in Q3 2023?", budget_chars=3000)
    assert para.cache is not None and para.cache.kind == "semantic", para.plan
    assert para.cache.question == q and para.cache.similarity >= 0.9
    assert para.context == first.context
    # Another period is another plan: never served from the cache.
    other = acme.query("What revenue did Acme Corp report in Q2 2023?", budget_chars=3000)
    assert other.cache is None


def test_query_stream_sends_the_context_first_and_reports_errors(acme: Client) -> None:
    events = list(acme.query_stream("Acme Corp revenue in Q3 2023", answer=False))
    assert [e.event for e in events] == ["context"]
    plain = acme.query("Acme Corp revenue in Q3 2023")
    assert events[0].result is not None
    assert events[0].result.context == plain.context
    assert events[0].result.plan.time_scope == plain.plan.time_scope
    # The test server has no LLM: asking for an answer fails before the stream starts.
    with pytest.raises(BadRequest) as e:
        list(acme.query_stream("Acme Corp revenue in Q3 2023"))
    assert "needs an LLM" in e.value.message
    with pytest.raises(NotFound):
        list(acme.with_namespace("no-such-namespace").query_stream("revenue", answer=False))


def test_stream_events_parse_tokens_answers_and_errors() -> None:
    from chronorag._common import stream_events

    lines = [
        "event: context", 'data: {"context": "[a · 2024-Q3]\\nAcme", "plan": {}}', "",
        ": keep-alive comment", "",
        "event: token", 'data: {"text": "Acme "}', "",
        "event: token", 'data: {"text": "grew"}', "",
        "event: answer", 'data: {"answer": {"text": "Acme grew", "model": "m"}}', "",
    ]
    evs = list(stream_events(iter(lines)))
    assert [e.event for e in evs] == ["context", "token", "token", "answer"]
    assert evs[0].result is not None and evs[0].result.context == "[a · 2024-Q3]\nAcme"
    assert "".join(e.text for e in evs if e.event == "token") == "Acme grew"
    assert evs[3].answer is not None and evs[3].answer.model == "m"
    failing = lines[:3] + [
        "event: error", 'data: {"error": {"code": "llm_error", "message": "model overloaded"}}', "",
    ]
    it = stream_events(iter(failing))
    assert next(it).event == "context"
    with pytest.raises(ServerError) as e:
        next(it)
    assert e.value.code == "llm_error" and "overloaded" in e.value.message


def test_query_options(acme: Client) -> None:
    r = acme.query("Acme Corp revenue", explain=True, top_k=1, budget_chars=200, now="2023-09-30")
    assert r.explain is not None and any(s.stage == "total" for s in r.explain)
    assert len(r.facts) <= 1
    assert len(r.context) <= 200
    assert r.plan.now == "2023-09-30"
    assert r.plan.as_of_tx == 1
    a = acme.query("How did revenue develop over the years?", mode="abstract")
    assert a.plan.intent == "abstract"
    s = acme.query("How did revenue develop over the years?", mode="specific")
    assert s.plan.intent == "specific"
    acme.retract_fact(acme.facts(entity="Acme Corp").facts[1].id, reason="restated")
    old = acme.query("Acme Corp revenue in Q3 2023", as_of_tx=1)
    new = acme.query("Acme Corp revenue in Q3 2023")
    assert "$4.4 billion" in " ".join(f.description for f in old.facts)
    assert "$4.4 billion" not in " ".join(f.description for f in new.facts)
    with pytest.raises(InvalidTime) as e:
        acme.query("anything", time="the twelfth of never")
    assert e.value.code == "invalid_time" and "never" in e.value.message
    with pytest.raises(ValueError):
        acme.query("anything", time={"since": "2020"})
    with pytest.raises(BadRequest):
        acme.query("anything", mode="creative")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Facts
# --------------------------------------------------------------------------------------------


def _ids(facts: "list[Fact] | tuple[Fact, ...]") -> "list[int]":
    return [f.id for f in facts]


def test_facts_pages_filters_and_cursor(acme: Client) -> None:
    everything = acme.facts(limit=1000)
    assert everything.next_cursor is None and len(everything.facts) >= 4
    starts = [f.valid.start or "" for f in everything.facts]
    assert starts == sorted(starts)  # valid-time order
    first = acme.facts(limit=2)
    assert len(first.facts) == 2 and first.next_cursor is not None
    second = acme.facts(limit=2, cursor=first.next_cursor)
    assert _ids(second.facts)[0] not in _ids(first.facts)
    assert _ids(acme.iter_facts(page_size=1)) == _ids(everything.facts)
    acme_only = acme.facts(entity="Acme Corp").facts
    assert acme_only and {f.subject for f in acme_only} == {"Acme Corp"}
    assert _ids(acme.facts(entity=acme_only[0].subject_id).facts) == _ids(acme_only)
    q3 = acme.facts(from_="2023-Q3", to="2023-Q3").facts
    assert q3 and all(f.time == "2023-Q3" for f in q3)
    assert all(f.time == "2019" for f in acme.facts(to=2019).facts)
    with pytest.raises(InvalidTime):
        acme.facts(from_="2024", to="2023")
    with pytest.raises(BadRequest) as e:
        acme.facts(limit=0)
    assert e.value.code == "invalid_request"
    with pytest.raises(NotFound):
        acme.facts(entity="Nobody Inc")


def test_fact_assert_correct_retract(acme: Client) -> None:
    a = acme.assert_fact("Acme Corp", "Acme Corp opened a plant in Ohio", "2023-Q4",
                         object="Ohio", confidence=0.9, reason="site visit")
    assert a.tx == 2 and a.fact is not None and a.facts == (a.fact,)
    f = acme.fact(a.fact)
    assert (f.subject, f.object, f.time, f.status) == ("Acme Corp", "Ohio", "2023-Q4", "active")
    assert f.object_id is not None and f.subject_id > 0 and f.asserted_tx == 2 and f.score is None
    assert abs(f.confidence - 0.9) < 1e-6 and f.origin == {"manual": "local"}
    v = acme.assert_fact("Acme Corp", "Acme Corp employed 12,000 people", 2022, value="12,000")
    vf = acme.fact(v.fact or 0)
    assert vf.object == "12,000" and vf.object_id is None and vf.granularity == "year"
    with pytest.raises(ValueError):
        acme.assert_fact("Acme Corp", "both", "2023", object="Ohio", value="x")
    many = acme.assert_facts(
        [
            {"subject": "Acme Corp", "description": "Acme Corp sponsored a marathon", "time": "2023-06"},
            {"subject": "Jane Doe", "description": "Jane Doe joined the board", "time": "since 2021",
             "object": {"entity": "Acme Corp"}},
        ],
        reason="bulk",
    )
    assert len(many.facts) == 2 and acme.transaction(many.tx).kind == "assert"

    c = acme.correct_fact(a.fact, reason="wrong state", description="Acme Corp opened a plant in Texas",
                          object="Texas")
    assert c.retracted == a.fact and c.fact != a.fact and c.tx == many.tx + 1
    assert acme.fact(a.fact).status == "retracted" and not acme.fact(a.fact).is_active
    assert acme.fact(a.fact, as_of_tx=2).is_active  # as it was then
    new = acme.fact(c.fact)
    assert new.object == "Texas" and new.time == "2023-Q4"
    with pytest.raises(Conflict) as e:
        acme.correct_fact(a.fact, reason="again", description="x")
    assert e.value.status == 409 and e.value.code == "conflict"

    r = acme.retract_fact(c.fact, reason="no plant after all")
    assert r.retracted == c.fact and r.tx == c.tx + 1
    assert c.fact not in _ids(acme.facts(limit=1000).facts)
    assert c.fact in _ids(acme.facts(limit=1000, include_retracted=True).facts)
    with pytest.raises(Conflict):
        acme.retract_fact(c.fact, reason="twice")
    with pytest.raises(ValueError):
        acme.retract_fact(c.fact, reason="  ")
    with pytest.raises(NotFound) as nf:
        acme.fact(999_999)
    assert nf.value.status == 404 and "999999" in nf.value.message


# --------------------------------------------------------------------------------------------
# Entities and timeline
# --------------------------------------------------------------------------------------------


def test_entities_pages_and_lookup(acme: Client) -> None:
    e = acme.entity("Acme Corp")
    assert e.name == "Acme Corp" and e.kind == "organization" and e.fact_count >= 2
    assert acme.entity(e.id) == e
    assert acme.entity("acme corp").id == e.id  # names resolve case-insensitively
    everything = acme.entities(limit=1000)
    assert everything.next_cursor is None
    names = [x.name for x in everything.entities]
    assert {"Acme Corp", "Jane Doe", "Globex Corporation"} <= set(names)
    page = acme.entities(limit=1)
    assert len(page.entities) == 1 and page.next_cursor == str(page.entities[0].id)
    assert acme.entities(cursor=page.next_cursor, limit=1).entities[0].id > page.entities[0].id
    assert [x.id for x in acme.iter_entities(page_size=1)] == [x.id for x in everything.entities]
    assert [x.name for x in acme.entities(q="globex").entities] == ["Globex Corporation"]
    people = acme.entities(kind="person").entities
    assert people and all(p.kind == "person" for p in people)
    assert [x.name for x in acme.iter_entities(q="jane")] == ["Jane Doe"]
    with pytest.raises(NotFound):
        acme.entity("Nobody / Inc")  # a slash in a name stays in one path segment
    with pytest.raises(BadRequest):
        acme.entities(kind="spaceship")


def test_entity_timeline(acme: Client) -> None:
    acme.assert_fact("Acme Corp", "Acme Corp was founded", "1990")
    t = acme.entity_timeline("Acme Corp")
    assert t.entity.name == "Acme Corp" and t.next_cursor is None
    assert [f.time for f in t.facts] == ["1990", "2023-Q2", "2023-Q3"]
    later = acme.entity_timeline("Acme Corp", from_="2023")
    assert [f.time for f in later.facts] == ["2023-Q2", "2023-Q3"]
    assert [f.time for f in acme.entity_timeline("Acme Corp", to="2000").facts] == ["1990"]
    p1 = acme.entity_timeline(t.entity.id, limit=2)
    assert len(p1.facts) == 2 and p1.next_cursor is not None
    p2 = acme.entity_timeline(t.entity.id, limit=2, cursor=p1.next_cursor)
    assert [f.time for f in p1.facts + p2.facts] == ["1990", "2023-Q2", "2023-Q3"]
    assert [f.time for f in acme.entity_timeline("Acme Corp", as_of_tx=1).facts] == ["2023-Q2", "2023-Q3"]


def test_timeline_and_summaries(acme: Client) -> None:
    acme.summarize()
    root = acme.timeline()
    assert root.node == "all"
    assert [c.node for c in root.children] == ["2019", "2023"]
    y = acme.timeline("2023")
    assert [c.node for c in y.children] == ["2023-Q2", "2023-Q3"]
    assert y.summary is not None and y.summary.node == "2023" and y.summary.findings
    assert not y.stale
    assert {f.description for f in y.facts} >= {
        "In Q2 2023, Acme Corp reported revenue of $4.1 billion."
    }
    q3 = acme.timeline("2023-Q3")
    assert q3.node == "2023-Q3" and q3.label == "Q3 2023"
    acme.assert_fact("Acme Corp", "Acme Corp hired a CFO", "2023-Q3")
    assert acme.timeline("2023-Q3").stale or acme.timeline("2023-Q3").summary is not None
    assert acme.timeline("2023", as_of_tx=1).node == "2023"
    with pytest.raises((InvalidTime, BadRequest, NotFound)):
        acme.timeline("not-a-period")


def test_rename_and_merge_entities(acme: Client) -> None:
    tx = acme.rename_entity("Globex Corporation", "Globex", reason="short name")
    assert acme.transaction(tx).kind == "rename_entity"
    g = acme.entity("Globex")
    assert g.name == "Globex" and "Globex Corporation" in g.aliases
    acme.assert_fact("GBX Labs", "GBX Labs built a lab", "2020")
    merge_tx, moved = acme.merge_entities("Globex", ["GBX Labs"], reason="same company")
    assert moved == 1 and acme.transaction(merge_tx).kind == "merge_entities"
    assert "GBX Labs built a lab" in {f.description for f in acme.iter_facts(entity="Globex")}


# --------------------------------------------------------------------------------------------
# History, governance, audit
# --------------------------------------------------------------------------------------------


def _state(c: Client, as_of_tx: "int | None" = None) -> "list[tuple[int, str, str]]":
    return [(f.id, f.description, f.time) for f in c.iter_facts(as_of_tx=as_of_tx)]


def test_transactions_and_diff(acme: Client) -> None:
    a = acme.assert_fact("Acme Corp", "Acme Corp opened a plant in Ohio", "2023-Q4")
    r = acme.retract_fact(1, reason="restated")
    page = acme.transactions()
    assert [t.id for t in page.transactions] == [3, 2, 1] and page.next_cursor is None
    assert [t.kind for t in page.transactions] == ["retract", "assert", "ingest"]
    assert page.transactions[0].reason == "restated" and page.transactions[0].actor == "local"
    first = acme.transactions(limit=2)
    assert [t.id for t in first.transactions] == [3, 2] and first.next_cursor == "2"
    assert [t.id for t in acme.transactions(limit=2, cursor=first.next_cursor).transactions] == [1]
    assert [t.id for t in acme.iter_transactions(page_size=1)] == [3, 2, 1]
    t1 = acme.transaction(1)
    assert t1.kind == "ingest" and t1.counts["documents"] == 3
    assert any(ch.op == "add_document" for ch in t1.changes) and "2023-Q3" in t1.touched_nodes
    d = acme.diff(1)
    assert d.from_tx == 1 and d.to_tx == 3 and d.transactions == (2, 3)
    assert [x.id for x in d.facts_asserted] == [a.fact]
    assert [x.id for x in d.facts_retracted] == [r.retracted]
    d2 = acme.diff(1, 2)
    assert d2.to_tx == 2 and d2.facts_retracted == ()
    with pytest.raises(NotFound):
        acme.transaction(99)


def test_rollback_then_facts_equal_facts_as_of(acme: Client) -> None:
    before = _state(acme)
    acme.retract_fact(1, reason="restated")
    acme.assert_fact("Acme Corp", "Acme Corp opened a plant in Ohio", "2023-Q4")
    changed = _state(acme)
    assert changed != before
    rb = acme.rollback(1, reason="restatement withdrawn")
    assert rb.kind == "rollback" and rb.kind_details.get("to") == 1 and rb.tx == 4
    assert _state(acme) == _state(acme, as_of_tx=1) == before
    rv = acme.revert(rb.tx, reason="undo the rollback")
    assert rv.kind == "revert" and rv.kind_details.get("tx") == rb.tx
    assert _state(acme) == changed
    assert [t.kind for t in acme.iter_transactions()][:2] == ["revert", "rollback"]
    with pytest.raises(ValueError):
        acme.rollback(1, reason="")
    with pytest.raises((NotFound, BadRequest, Conflict)):
        acme.revert(99, reason="no such transaction")


def test_audit_log_and_verify(acme: Client, ns: str) -> None:
    acme.retract_fact(1, reason="restated")
    report = acme.verify_audit()
    assert report.ok and report.first_bad is None
    assert report.namespaces[ns].ok and report.namespaces[ns].entries == 2
    assert report.entries >= 2
    entries = acme.audit_log()
    assert [e.seq for e in entries] == [1, 2]
    assert [e.action for e in entries] == ["ingest", "retract"]
    assert entries[0].prev_hash == "0" * 64
    assert entries[1].prev_hash == entries[0].hash and len(entries[1].hash) == 64
    assert entries[1].reason == "restated" and entries[1].tx == 2


def test_audit_is_deprecated_for_its_two_named_halves(acme: Client, ns: str) -> None:
    with pytest.warns(DeprecationWarning, match="verify_audit"):
        report = acme.audit()
    assert report == acme.verify_audit()
    with pytest.warns(DeprecationWarning):
        entries = acme.audit(verify=False)
    assert [e.seq for e in entries] == [e.seq for e in acme.audit_log()] == [1]


def test_backup_copies_the_store_on_the_server(acme: Client, ns: str, tmp_path) -> None:
    dest = tmp_path / "backup"
    rep = acme.backup(str(dest))
    assert rep.namespaces[ns] == 1 and rep.bytes > 0 and rep.schema_version >= 1
    assert (dest / "backup.json").is_file() and (dest / "store").is_dir()
    with pytest.raises(BadRequest):
        acme.backup(str(dest))  # not empty any more
    with pytest.raises(ValueError):
        acme.backup(" ")


def test_erase_document_and_entity(acme: Client) -> None:
    with pytest.raises(ValueError):
        acme.erase(reason="nothing named")
    with pytest.raises(ValueError):
        acme.erase(document="acme-q3", entity="Jane Doe", reason="both")
    rep = acme.erase(document="globex-2019", reason="privacy request #7")
    assert rep.documents == 1 and rep.chunks == 1 and rep.facts >= 1 and rep.tx == 2
    assert len(rep.store_bytes) == 2
    with pytest.raises(NotFound):
        acme.document("globex-2019")
    assert "Ohio" not in acme.query("Globex factory", time=2019).context
    ent = acme.erase(entity="Jane Doe", reason="privacy request #8")
    assert ent.entities == 1 and ent.facts >= 1
    with pytest.raises(NotFound):
        acme.entity("Jane Doe")
    log = acme.audit_log()
    assert [e.action for e in log][-2:] == ["erase", "erase"]
    assert "privacy request #7" in json.dumps(log[-2].raw)
    assert "Ohio" not in json.dumps([e.raw for e in log])  # a tombstone, not the content
    assert acme.verify_audit().ok
    with pytest.raises(NotFound):
        acme.erase(document="never-existed", reason="x")


def test_conflicts(client: Client) -> None:
    client.ingest([{"id": "c", "time": "2023-Q3",
                    "text": "In Q3 2023, Acme Corp reported revenue of $4.2 billion."}])
    assert client.conflicts() == []
    client.ingest([{"id": "d", "time": "2023-Q4",
                    "text": "In Q3 2023, Acme Corp reported revenue of $4.4 billion."}])
    conflicts = client.conflicts()
    assert len(conflicts) == 1
    c = conflicts[0]
    assert "$4.2" in c.existing_fact.description and "$4.4" in c.incoming_fact.description
    assert c.existing == c.existing_fact.id and c.incoming == c.incoming_fact.id
    assert "same period" in c.reason and c.tx == 2
    assert client.conflicts(as_of_tx=1) == []
    client.retract_fact(c.incoming, reason="wrong figure")
    assert client.conflicts() == []


def test_server_fixture_is_real(server: Server) -> None:
    assert server.proc.poll() is None and server.url.startswith("http://127.0.0.1:")
