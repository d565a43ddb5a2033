"""Client-side reading of files and folders, and model parsing (no server needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chronorag import Document, IngestResult, Job, QueryResult, Tx, read_documents
from chronorag._common import RetryPolicy, parse_retry_after, time_param
from chronorag._documents import time_in_file_name


@pytest.mark.parametrize(
    "name,key",
    [
        ("report-2019.md", "2019"),
        ("call_2024-Q3.txt", "2024-Q3"),
        ("call_2024-q3.txt", "2024-Q3"),
        ("2024-07-15-notes.md", "2024-07-15"),
        ("minutes.2021-03.md", "2021-03"),
        ("notes.md", None),
        ("12345.md", None),  # five digits are not a year
        ("v1899.txt", None),  # out of range
        ("2023-02-30.md", "2023-02"),  # not a date, but its month prefix is
    ],
)
def test_time_in_file_name(name: str, key: "str | None") -> None:
    assert time_in_file_name(name) == key


def test_read_documents_walks_folders_in_name_order(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "z.md").write_text("zed")
    (tmp_path / "a.txt").write_text("alpha")
    (tmp_path / "c.jsonl").write_text(json.dumps({"text": "line one", "id": "l1"}) + "\n")
    (tmp_path / "skip.pdf").write_bytes(b"%PDF")
    (tmp_path / "link.md").symlink_to(tmp_path / "a.txt")
    docs, rejected = read_documents([tmp_path, Document(text="inline"), {"text": "dict"}])
    assert rejected == []
    assert [d.id for d in docs] == ["a.txt", "b:z.md", "l1", None, None]
    assert docs[2].source == f"{tmp_path / 'c.jsonl'}:1"
    assert docs[0].to_json() == {"text": "alpha", "id": "a.txt", "source": str(tmp_path / "a.txt")}


def test_read_documents_reports_bad_inputs(tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe")
    (tmp_path / "empty.md").write_text("   \n")
    (tmp_path / "x.jsonl").write_text('[1, 2]\n{"text": 3}\n')
    docs, rejected = read_documents([tmp_path, tmp_path / "nope.md", str(tmp_path / "bad.txt")])
    assert docs == []
    reasons = [(Path(r.file).name, r.line, r.reason.split(":")[0]) for r in rejected]
    assert ("bad.txt", None, "invalid UTF-8 at byte 0") in reasons
    assert ("empty.md", None, "empty text") in reasons
    assert ("x.jsonl", 1, "a line must be a JSON object") in reasons
    assert ("x.jsonl", 2, "a document needs a `text` string") in reasons
    assert ("nope.md", None, "no such file or directory") in reasons
    with pytest.raises(TypeError):
        read_documents([42])  # type: ignore[list-item]


def test_time_param_forms() -> None:
    import datetime

    assert time_param(None) is None
    assert time_param("2019") == {"at": "2019"}
    assert time_param(2019) == {"at": "2019"}
    assert time_param(datetime.date(2024, 7, 15)) == {"at": "2024-07-15"}
    assert time_param({"from": 2018, "to": "2020"}) == {"from": "2018", "to": "2020"}
    with pytest.raises(ValueError):
        time_param({})
    with pytest.raises(TypeError):
        time_param(True)


def test_retry_policy_and_retry_after() -> None:
    p = RetryPolicy(retries=3, backoff=0.5, max_backoff=3)
    assert [p.delay(i, None) for i in range(4)] == [0.5, 1.0, 2.0, 3.0]
    assert p.delay(0, 2.5) == 2.5 and p.delay(0, 100) == 3
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_models_are_frozen_and_tolerant() -> None:
    r = IngestResult.from_json({"tx": None, "documents": "3", "document_ids": ["a", 1]})
    assert r.tx is None and r.documents == 0 and r.document_ids == ("a",)
    with pytest.raises(Exception):
        r.tx = 5  # type: ignore[misc]
    assert Job.from_json(None).state == "" and not Job.from_json({"state": "failed"}).ok
    t = Tx.from_json({"id": 3, "kind": {"type": "rollback", "to": 1}, "counts": {"a": 1, "b": "x"}})
    assert (t.kind, t.kind_details["to"], dict(t.counts)) == ("rollback", 1, {"a": 1})
    q = QueryResult.from_json([])
    assert q.context == "" and q.facts == () and q.plan.time_scope is None
    # raw is kept but does not take part in equality
    assert IngestResult.from_json({"tx": 1, "x": 1}) == IngestResult.from_json({"tx": 1, "y": 2})
