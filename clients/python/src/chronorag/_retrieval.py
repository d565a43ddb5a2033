"""What the LangChain and LlamaIndex retrievers share: the query arguments they pass and how a
:class:`~chronorag.models.QueryResult` becomes cited pieces of text with time metadata.

A retrieved piece is one passage of the server's context, in the context's order (the server
packs every facet's best passage before any facet's second, so the order carries meaning). Its
metadata names the source document (the citation), the chunk, the time the evidence is about,
the facet it was placed for, and the snapshot (``as_of_tx``) the answer was read from.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Union

from ._common import TimeArg
from .models import QueryResult

#: Keyword arguments a retriever call may override (``retriever.invoke(q, time="2023")``).
QUERY_ARGS = ("time", "now", "as_of_tx", "mode", "budget_chars")


@dataclass(frozen=True)
class QueryArgs:
    """The arguments of :meth:`chronorag.Client.query` a retriever asks with."""

    time: TimeArg = None
    now: Union[None, str, _dt.date] = None
    as_of_tx: Optional[int] = None
    mode: str = "auto"
    budget_chars: Optional[int] = None

    def merged(self, overrides: Mapping[str, Any]) -> "QueryArgs":
        """These arguments with a call's overrides; an unknown name is a :class:`TypeError`
        naming it (a typo never passes silently)."""
        unknown = sorted(set(overrides) - set(QUERY_ARGS))
        if unknown:
            raise TypeError(
                f"unknown ChronoRAG query argument(s): {', '.join(unknown)}; "
                f"known: {', '.join(QUERY_ARGS)}"
            )
        values = {name: getattr(self, name) for name in QUERY_ARGS}
        values.update(overrides)
        return QueryArgs(**values)

    def call_kwargs(self) -> Dict[str, Any]:
        """Keyword arguments of ``Client.query`` / ``AsyncClient.query``."""
        return {name: getattr(self, name) for name in QUERY_ARGS}


@dataclass(frozen=True)
class Piece:
    """One passage of a context, ready to become a framework's document or node."""

    text: str
    score: float
    id: str
    metadata: Dict[str, Any] = field(default_factory=dict)


def pieces(result: QueryResult, namespace: str) -> List[Piece]:
    """The passages of ``result`` in context order, each with its citation and time."""
    scope = result.plan.time_scope
    facets = result.plan.facets
    labels = [f.label for f in facets.facets]
    out: List[Piece] = []
    for rank, p in enumerate(result.passages):
        meta: Dict[str, Any] = {
            "source": p.document if p.document is not None else p.unit,
            "document": p.document,
            "chunk": p.chunk,
            "unit": p.unit,
            "time": p.time,
            "facet": labels[p.facet] if 0 <= p.facet < len(labels) else None,
            "rank": rank,
            "score": p.score,
            "namespace": namespace,
            "as_of_tx": result.plan.as_of_tx,
            "time_scope": scope.text if scope is not None else None,
        }
        if p.document is not None:
            ident = f"{namespace}/{p.document}#{p.chunk if p.chunk is not None else rank}"
        else:
            ident = f"{namespace}/{p.unit or 'passage'}#{rank}"
        out.append(Piece(text=p.text, score=p.score, id=ident,
                         metadata={k: v for k, v in meta.items() if v is not None}))
    return out
