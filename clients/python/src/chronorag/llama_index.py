"""A LlamaIndex retriever over ChronoRAG: ``pip install "chronorag[llama-index]"``.

::

    from chronorag import Client
    from chronorag.llama_index import ChronoRAGRetriever
    from llama_index.core.query_engine import RetrieverQueryEngine

    retriever = ChronoRAGRetriever(Client("http://127.0.0.1:7070"), budget_chars=4000)
    nodes = retriever.retrieve("What revenue did Acme report in Q3 2023?")
    engine = RetrieverQueryEngine.from_args(retriever, llm=...)      # any LlamaIndex LLM

Each :class:`~llama_index.core.schema.NodeWithScore` holds one passage of the server's cited
context, in context order, with the server's score. The node's ``metadata["source"]`` is the
document id to cite (also its ``SOURCE`` relationship); ``time`` the period the evidence is
about; ``facet`` the part of the question it was placed for; ``as_of_tx`` the snapshot it was
read from. Node ids are ``namespace/document#chunk``.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, List, Optional, Union

try:
    from llama_index.core.retrievers import BaseRetriever
    from llama_index.core.schema import (
        NodeRelationship,
        NodeWithScore,
        QueryBundle,
        RelatedNodeInfo,
        TextNode,
    )
except ImportError as e:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "chronorag.llama_index needs llama-index-core: pip install \"chronorag[llama-index]\""
    ) from e

from ._common import TimeArg
from ._retrieval import Piece, QueryArgs, pieces
from .async_client import AsyncClient
from .client import Client
from .models import QueryResult


class ChronoRAGRetriever(BaseRetriever):
    """Retrieves the cited, time-scoped context of a ChronoRAG namespace as LlamaIndex nodes.

    Args:
        client: The :class:`chronorag.Client` to ask (its namespace is used).
        async_client: Optional :class:`chronorag.AsyncClient` for ``aretrieve``; without one,
            async calls use the synchronous client.
        time: Explicit time scope ("2019", "2024-Q3", ``{"from": ..., "to": ...}``); wins over
            times in the question.
        now: The date relative expressions ("last month", "this week") refer to.
        as_of_tx: Read the database as it was after this transaction.
        mode: ``"auto"``, ``"specific"`` or ``"abstract"``.
        budget_chars: Context budget in characters (server default 8000).
        **kwargs: Passed to LlamaIndex's ``BaseRetriever`` (``callback_manager``, ``verbose``).
    """

    def __init__(
        self,
        client: Client,
        *,
        async_client: Optional[AsyncClient] = None,
        time: TimeArg = None,
        now: Union[None, str, _dt.date] = None,
        as_of_tx: Optional[int] = None,
        mode: str = "auto",
        budget_chars: Optional[int] = None,
        **kwargs: Any,
    ) -> None:
        self.client = client
        self.async_client = async_client
        self.args = QueryArgs(
            time=time, now=now, as_of_tx=as_of_tx, mode=mode, budget_chars=budget_chars
        ).merged({})
        super().__init__(**kwargs)

    @staticmethod
    def _node(p: Piece) -> NodeWithScore:
        node = TextNode(id_=p.id, text=p.text, metadata=p.metadata)
        source = p.metadata.get("source")
        if source is not None:
            node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(
                node_id=f"{p.metadata['namespace']}/{source}",
                metadata={"time": p.metadata.get("time")},
            )
        return NodeWithScore(node=node, score=p.score)

    def _nodes(self, result: QueryResult, namespace: str) -> List[NodeWithScore]:
        return [self._node(p) for p in pieces(result, namespace)]

    def _retrieve(self, query_bundle: QueryBundle) -> List[NodeWithScore]:
        result = self.client.query(query_bundle.query_str, **self.args.call_kwargs())
        return self._nodes(result, self.client.namespace)

    async def _aretrieve(self, query_bundle: QueryBundle) -> List[NodeWithScore]:
        if self.async_client is None:
            return self._retrieve(query_bundle)
        result = await self.async_client.query(
            query_bundle.query_str, **self.args.call_kwargs()
        )
        return self._nodes(result, self.async_client.namespace)
