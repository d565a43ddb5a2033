"""The client's result types, field by field, against the server's contract
(``schema/openapi.json``, which the Rust test ``contract::every_response_fits_the_checked_in_schema``
checks against the live server's answers).

Every field the schema documents must be a field of the model (or be listed below as reshaped
or deliberately left in ``raw``), and every field of the model must come from the schema. A
field added to the server and its schema without the client fails here.
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
