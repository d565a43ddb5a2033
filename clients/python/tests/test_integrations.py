"""The LangChain and LlamaIndex retrievers against the real libraries and the real server.

Both libraries are test extras (``pip install -e ".[test]"``), so these tests always run.
"""

from __future__ import annotations

from typing import AsyncIterator

import pytest
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever as LangChainRetriever
from llama_index.core.retrievers import BaseRetriever as LlamaRetriever
from llama_index.core.schema import NodeRelationship, NodeWithScore, QueryBundle

from chronorag import AsyncClient, Client
from chronorag.langchain import ChronoRAGRetriever as LangChainChrono
from chronorag.llama_index import ChronoRAGRetriever as LlamaChrono

from .conftest import Server

QUESTION = "What revenue did Acme Corp report in Q3 2023?"


def test_langchain_retriever_returns_the_cited_context_in_order(acme: Client) -> None:
    retriever = LangChainChrono(client=acme, budget_chars=4000)
    assert isinstance(retriever, LangChainRetriever)
    docs = retriever.invoke(QUESTION)
    assert docs and all(isinstance(d, Document) for d in docs)
    # The passages, in the server's context order, with citation and time.
    result = acme.query(QUESTION, budget_chars=4000)
    assert [d.page_content for d in docs] == [p.text for p in result.passages]
    first = docs[0]
    assert "$4.4 billion" in first.page_content
    assert first.metadata["source"] == "acme-q3"
    assert first.metadata["time"] == "2023-Q3"
    assert first.metadata["namespace"] == acme.namespace
    assert first.metadata["as_of_tx"] == 1
    assert first.id == f"{acme.namespace}/acme-q3#{first.metadata['chunk']}"
    # The question's quarter is a hard scope: Q2's revenue is not retrieved.
    assert not any("$4.1 billion" in d.page_content for d in docs)


def test_langchain_per_call_arguments_scope_time_and_snapshot(acme: Client) -> None:
    retriever = LangChainChrono(client=acme)
    docs = retriever.invoke("What revenue did Acme Corp report?", time="2023-Q2")
    assert docs and all(d.metadata["time"] == "2023-Q2" for d in docs)
    assert any("$4.1 billion" in d.page_content for d in docs)
    # Retract Q2's document; as of transaction 1 the retriever still sees it.
    acme.retract_document("acme-q2", reason="test")
    after = retriever.invoke("What revenue did Acme Corp report?", time="2023-Q2")
    assert not any("$4.1 billion" in d.page_content for d in after)
    old = retriever.invoke("What revenue did Acme Corp report?", time="2023-Q2", as_of_tx=1)
    assert any("$4.1 billion" in d.page_content for d in old)
    assert all(d.metadata["as_of_tx"] == 1 for d in old)
    with pytest.raises(TypeError, match="tme"):
        retriever.invoke("What revenue?", tme="2023")


async def test_langchain_ainvoke_with_and_without_an_async_client(
    server: Server, acme: Client
) -> None:
    sync_only = LangChainChrono(client=acme, budget_chars=4000)
    expected = [d.page_content for d in sync_only.invoke(QUESTION)]
    assert [d.page_content for d in await sync_only.ainvoke(QUESTION)] == expected
    async with AsyncClient(server.url, namespace=acme.namespace) as ac:
        both = LangChainChrono(client=acme, async_client=ac, budget_chars=4000)
        assert [d.page_content for d in await both.ainvoke(QUESTION)] == expected


def test_llama_index_retriever_returns_scored_nodes_with_sources(acme: Client) -> None:
    retriever = LlamaChrono(acme, budget_chars=4000)
    assert isinstance(retriever, LlamaRetriever)
    nodes = retriever.retrieve(QUESTION)
    assert nodes and all(isinstance(n, NodeWithScore) for n in nodes)
    result = acme.query(QUESTION, budget_chars=4000)
    assert [n.node.get_content() for n in nodes] == [p.text for p in result.passages]
    assert [n.score for n in nodes] == pytest.approx([p.score for p in result.passages])
    first = nodes[0].node
    assert "$4.4 billion" in first.get_content()
    assert first.metadata["source"] == "acme-q3" and first.metadata["time"] == "2023-Q3"
    assert first.node_id.startswith(f"{acme.namespace}/acme-q3#")
    source = first.relationships[NodeRelationship.SOURCE]
    assert source.node_id == f"{acme.namespace}/acme-q3"
    assert not any("$4.1 billion" in n.node.get_content() for n in nodes)


def test_llama_index_retriever_reads_an_earlier_snapshot(acme: Client) -> None:
    acme.retract_document("acme-q3", reason="test")
    now = LlamaChrono(acme, time="2023-Q3").retrieve("What revenue did Acme Corp report?")
    assert not any("$4.4 billion" in n.node.get_content() for n in now)
    then = LlamaChrono(acme, time="2023-Q3", as_of_tx=1).retrieve(
        QueryBundle("What revenue did Acme Corp report?")
    )
    assert any("$4.4 billion" in n.node.get_content() for n in then)


@pytest.fixture
async def aclient(server: Server, acme: Client) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(server.url, namespace=acme.namespace) as c:
        yield c


async def test_llama_index_aretrieve_uses_the_async_client(
    acme: Client, aclient: AsyncClient
) -> None:
    sync_nodes = LlamaChrono(acme, budget_chars=4000).retrieve(QUESTION)
    async_nodes = await LlamaChrono(acme, async_client=aclient, budget_chars=4000).aretrieve(
        QUESTION
    )
    assert [n.node.node_id for n in async_nodes] == [n.node.node_id for n in sync_nodes]


def test_llama_index_rejects_unknown_arguments(acme: Client) -> None:
    with pytest.raises(TypeError):
        LlamaChrono(acme, budjet_chars=4000)  # type: ignore[call-arg]
