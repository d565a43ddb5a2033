"""A LangChain retriever over ChronoRAG: ``pip install "chronorag[langchain]"``.

::

    from chronorag import Client
    from chronorag.langchain import ChronoRAGRetriever

    retriever = ChronoRAGRetriever(client=Client("http://127.0.0.1:7070"), budget_chars=4000)
    docs = retriever.invoke("What revenue did Acme report in Q3 2023?")
    docs = retriever.invoke("What changed?", time="2023", as_of_tx=12)   # per-call overrides

Each :class:`~langchain_core.documents.Document` is one passage of the server's cited context,
in context order. ``metadata["source"]`` is the document id to cite; ``time`` the period the
evidence is about; ``facet`` the part of the question it was placed for; ``as_of_tx`` the
snapshot it was read from; ``score`` the server's ranking score. ``Document.id`` is
``namespace/document#chunk``. Times in the question scope the search as they do over HTTP
("in Q3 2023", "last quarter" against ``now``).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, List, Optional, Union

try:
    from langchain_core.callbacks import (
        AsyncCallbackManagerForRetrieverRun,
        CallbackManagerForRetrieverRun,
    )
    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever
    from pydantic import ConfigDict
except ImportError as e:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "chronorag.langchain needs langchain-core: pip install \"chronorag[langchain]\""
    ) from e

from ._retrieval import QueryArgs, pieces
from .async_client import AsyncClient
from .client import Client


class ChronoRAGRetriever(BaseRetriever):
    """Retrieves the cited, time-scoped context of a ChronoRAG namespace as LangChain documents.

    Args:
        client: The :class:`chronorag.Client` to ask (its namespace is used).
        async_client: Optional :class:`chronorag.AsyncClient` for ``ainvoke``; without one,
            async calls run the synchronous client in a worker thread.
        time: Explicit time scope ("2019", "2024-Q3", ``{"from": ..., "to": ...}``); wins over
            times in the question.
        now: The date relative expressions ("last month", "this week") refer to.
        as_of_tx: Read the database as it was after this transaction.
        mode: ``"auto"``, ``"specific"`` or ``"abstract"``.
        budget_chars: Context budget in characters (server default 8000).

    Any of ``time``, ``now``, ``as_of_tx``, ``mode``, ``budget_chars`` can also be given per
    call: ``retriever.invoke(question, time="2023")``.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    client: Client
    async_client: Optional[AsyncClient] = None
    time: Any = None
    now: Union[None, str, _dt.date] = None
    as_of_tx: Optional[int] = None
    mode: str = "auto"
    budget_chars: Optional[int] = None

    def _args(self, overrides: Any) -> QueryArgs:
        return QueryArgs(
            time=self.time, now=self.now, as_of_tx=self.as_of_tx, mode=self.mode,
            budget_chars=self.budget_chars,
        ).merged(overrides)

    def _documents(self, result: Any, namespace: str) -> List[Document]:
        return [
            Document(id=p.id, page_content=p.text, metadata=p.metadata)
            for p in pieces(result, namespace)
        ]

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> List[Document]:
        args = self._args(kwargs)
        result = self.client.query(query, **args.call_kwargs())
        return self._documents(result, self.client.namespace)

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun, **kwargs: Any
    ) -> List[Document]:
        if self.async_client is None:
            return await super()._aget_relevant_documents(
                query, run_manager=run_manager, **kwargs
            )
        args = self._args(kwargs)
        result = await self.async_client.query(query, **args.call_kwargs())
        return self._documents(result, self.async_client.namespace)
