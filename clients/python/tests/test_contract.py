"""The client's result types, field by field, against the server's contract
(``schema/openapi.json``, which the Rust test ``contract::every_response_fits_the_checked_in_schema``
checks against the live server's answers).

Every field the schema documents must be a field of the model (or be listed below as reshaped
or deliberately left in ``raw``), and every field of the model must come from the schema. A
field added to the server and its schema without the client fails here.

The same goes for query-string parameters: every one the schema documents (generated from the
server's query structs) is a keyword argument of the client's operations layer, which the sync
and async clients both call, or is listed with what sets it.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Dict, List, Set, Tuple

import pytest

from chronorag import models

from .conftest import REPO_DIR

SPEC = json.loads((REPO_DIR / "schema" / "openapi.json").read_text())
SCHEMAS = SPEC["components"]["schemas"]


def resolve(s: Dict[str, Any]) -> Dict[str, Any]:
    """Follows references, and steps into the one non-null choice of a nullable schema
    (``{"anyOf": [X, {"type": "null"}]}``, the generated form of an optional object)."""
    while True:
        if "$ref" in s:
            s = SCHEMAS[s["$ref"].rsplit("/", 1)[-1]]
            continue
        choices = [c for c in s.get("anyOf", []) if c.get("type") != "null"]
        if "anyOf" in s and len(choices) == 1:
            s = choices[0]
            continue
        return s


def properties(s: Dict[str, Any]) -> Set[str]:
    """The fields an object schema may carry; for a union (``allOf``, or the ``oneOf`` of a
    tagged enum), the fields of all its parts."""
    s = resolve(s)
    for union in ("allOf", "oneOf", "anyOf"):
        if union in s:
            out: Set[str] = set()
            for part in s[union]:
                out |= properties(part)
            return out
    return set(s.get("properties", {}))


def component(name: str) -> Dict[str, Any]:
    return SCHEMAS[name]


def route(method: str, path: str, status: str = "200") -> Dict[str, Any]:
    op = SPEC["paths"][path][method.lower()]
    return op["responses"][status]["content"]["application/json"]["schema"]


def member(s: Dict[str, Any], *names: str) -> Dict[str, Any]:
    """A property of an object schema; ``[]`` steps into an array's items."""
    for n in names:
        s = resolve(s)
        s = s["items"] if n == "[]" else s["properties"][n]
    return s


NS = "/v1/namespaces/{ns}"

# Each result type and the schema it parses.
MODELS: List[Tuple[str, Dict[str, Any]]] = [
    ("Interval", component("Interval")),
    ("SourceRef", component("SourceRef")),
    ("ChunkHit", component("ChunkHit")),
    ("SummaryHit", component("SummaryHit")),
    ("Stage", component("Stage")),
    ("Answer", member(component("QueryResult"), "answer")),
    ("TimeScope", component("TimeScope")),
    ("Plan", component("Plan")),
    ("QueryResult", component("QueryResult")),
    ("Fact", component("FactView")),
    ("FactPage", component("FactList")),
    ("Entity", component("EntityView")),
    ("EntityPage", route("GET", NS + "/entities")),
    ("EntityTimeline", route("GET", NS + "/entities/{id}/timeline")),
    ("TimelineChild", member(component("TimelineNode"), "children", "[]")),
    ("Finding", component("FindingView")),
    ("Summary", component("SummaryView")),
    ("TimelineNode", component("TimelineNode")),
    ("Rejected", component("Rejected")),
    ("IngestResult", component("IngestReport")),
    ("JobProgress", member(component("Job"), "progress")),
    ("Job", component("Job")),
    ("Change", member(component("TxView"), "changes", "[]")),
    ("Tx", component("TxView")),
    ("TransactionPage", route("GET", NS + "/transactions")),
    ("FactChange", component("FactChange")),
    ("EntityChange", member(component("Diff"), "entities", "[]")),
    ("Diff", component("Diff")),
    ("AssertResult", route("POST", NS + "/facts", "201")),
    ("CorrectResult", route("PATCH", NS + "/facts/{id}")),
    ("RetractResult", route("DELETE", NS + "/facts/{id}")),
    ("RollbackResult", route("POST", NS + "/rollback")),
    ("AuditEntry", component("AuditEntryView")),
    ("AuditVerify", component("AuditVerify")),
    ("VerifyReport", component("VerifyReport")),
    ("BackupReport", component("BackupReport")),
    ("EraseReport", component("EraseReport")),
    ("NamespaceInfo", route("GET", NS)),
    ("CreatedNamespace", route("PUT", NS, "201")),
    ("Health", component("Health")),
    ("DocumentRecord", component("DocumentInfo")),
    ("Chunk", component("ChunkView")),
    ("DocumentView", component("DocumentView")),
    ("DocumentPage", route("GET", NS + "/documents")),
    ("SummarizeReport", component("SummarizeReport")),
    ("FactConflict", component("ConflictView")),
    # The one input type: what `ingest()` sends.
    ("Document", component("DocumentInput")),
]

# Wire fields the client reshapes: the wire field on the left becomes the model's fields on
# the right.
RESHAPED: Dict[str, Dict[str, Tuple[str, ...]]] = {
    # `kind` is {"type": ..., details...}: its type and the rest.
    "Tx": {"kind": ("kind", "kind_details")},
    "RollbackResult": {"kind": ("kind", "kind_details")},
    # The backup's manifest is flattened into the report.
    "BackupReport": {"manifest": ("chronorag", "schema_version", "created_at", "namespaces")},
}

# Wire fields a model leaves in `raw` on purpose, and why.
LEFT_IN_RAW: Dict[str, Set[str]] = {
    # A hash of the summariser's inputs, used by the server to skip unchanged periods.
    "Summary": {"input_hash"},
}

def model_fields(name: str) -> Set[str]:
    cls = getattr(models, name)
    return {f.name for f in dataclasses.fields(cls)} - {"raw"}


def expected_fields(name: str, schema: Dict[str, Any]) -> Set[str]:
    wire = properties(schema)
    out = set(wire) - LEFT_IN_RAW.get(name, set())
    for field, into in RESHAPED.get(name, {}).items():
        assert field in wire, f"{name}: reshaped field {field!r} is not in the schema any more"
        out.discard(field)
        out |= set(into)
    return out


@pytest.mark.parametrize("name,schema", MODELS, ids=[m[0] for m in MODELS])
def test_each_result_type_has_exactly_the_schemas_fields(name: str, schema: Dict[str, Any]) -> None:
    got = model_fields(name)
    want = expected_fields(name, schema)
    assert got == want, (
        f"{name}: fields only in the client {sorted(got - want)}, "
        f"only in schema/openapi.json {sorted(want - got)}"
    )


def test_every_result_type_is_checked() -> None:
    checked = {m[0] for m in MODELS}
    results = {n for n in models.__all__ if dataclasses.is_dataclass(getattr(models, n))}
    assert results - checked == set(), f"types not compared with the schema: {results - checked}"


# Every API route that takes query-string parameters, with the ``Operations`` methods that call
# it and the parameters those methods set themselves instead of taking them from the caller.
CALLS: Dict[Tuple[str, str], Tuple[List[str], Dict[str, str]]] = {
    ("POST", "/v1/namespaces/{ns}/documents"): (["ingest"], {}),
    ("GET", "/v1/namespaces/{ns}/documents"): (["documents", "documents_pager"], {}),
    ("GET", "/v1/namespaces/{ns}/documents/{id}"): (["document"], {}),
    ("DELETE", "/v1/namespaces/{ns}/documents/{id}"): (
        ["retract_document", "erase"],
        {"erase": "erase() sends erase=true, retract_document() leaves it out"},
    ),
    ("GET", "/v1/namespaces/{ns}/facts"): (["facts", "facts_pager"], {}),
    ("GET", "/v1/namespaces/{ns}/facts/{id}"): (["fact"], {}),
    ("DELETE", "/v1/namespaces/{ns}/facts/{id}"): (
        ["retract_fact"],
        {"erase": "facts are only retracted; the server refuses erase=true on them"},
    ),
    ("GET", "/v1/namespaces/{ns}/entities"): (["entities", "entities_pager"], {}),
    ("GET", "/v1/namespaces/{ns}/entities/{id}"): (["entity"], {}),
    ("DELETE", "/v1/namespaces/{ns}/entities/{id}"): (
        ["erase"],
        {"erase": "erase() sends erase=true, which the server requires here"},
    ),
    ("GET", "/v1/namespaces/{ns}/entities/{id}/timeline"): (["entity_timeline"], {}),
    ("GET", "/v1/namespaces/{ns}/timeline"): (["timeline"], {}),
    ("GET", "/v1/namespaces/{ns}/timeline/{node}"): (["timeline"], {}),
    ("GET", "/v1/namespaces/{ns}/transactions"): (["transactions", "transactions_pager"], {}),
    ("GET", "/v1/namespaces/{ns}/diff"): (
        ["diff"],
        {"format": "the client reads the JSON diff; text is for people (`chronorag diff`)"},
    ),
    ("GET", "/v1/namespaces/{ns}/audit"): (
        ["audit_pager"],
        {
            "cursor": "the pager follows next_cursor itself",
            "limit": "audit_pager's page_size",
        },
    ),
    ("GET", "/v1/namespaces/{ns}/conflicts"): (["conflicts"], {}),
}


def python_name(param: str) -> str:
    """The keyword a documented parameter has in Python (``from`` is a keyword there)."""
    return "from_" if param == "from" else param


def test_every_query_parameter_of_the_contract_reaches_the_client() -> None:
    """A query parameter the server documents is a keyword argument of a client method that
    calls its route (or is listed above with what sets it); a route that gains its first
    parameter, or a parameter, without the client fails here."""
    import inspect

    from chronorag._common import Operations

    problems: List[str] = []
    seen: Set[Tuple[str, str]] = set()
    for path, ops in SPEC["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method, op in ops.items():
            params = [p["name"] for p in op.get("parameters", []) if p["in"] == "query"]
            if not params:
                continue
            key = (method.upper(), path)
            seen.add(key)
            if key not in CALLS:
                problems.append(f"{key}: no client method is listed for it")
                continue
            names, fixed = CALLS[key]
            keywords: Set[str] = set()
            for name in names:
                keywords |= set(inspect.signature(getattr(Operations, name)).parameters)
            for p in params:
                if python_name(p) not in keywords and p not in fixed:
                    problems.append(f"{key}: `{p}` is not a parameter of {names}")
            for p in fixed:
                if p not in params:
                    problems.append(f"{key}: `{p}` is listed as set by the client, "
                                    "but the route has no such parameter")
    stale = set(CALLS) - seen
    assert not stale, f"listed routes that take no query parameters (any more): {sorted(stale)}"
    assert not problems, "\n".join(problems)
