"""Authentication and roles: a second real server started with ``--auth keys.toml``."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Dict, Iterator

import pytest

from chronorag import AsyncClient, Client, Forbidden, IngestResult, Unauthorized

from .conftest import ACME_DOCS, Server, chronorag_bin


def create_key(keys: Path, name: str, role: str, namespace: str = "*") -> str:
    out = subprocess.run(
        [str(chronorag_bin()), "keys", "create", "--file", str(keys), "--name", name,
         "--role", role, "--namespace", namespace],
        cwd=keys.parent, capture_output=True, text=True, check=True,
    )
    key = out.stdout.strip()
    assert key.startswith("crk_"), out
    return key


@pytest.fixture(scope="module")
def auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, str]]:
    base = tmp_path_factory.mktemp("auth")
    keys = base / "keys.toml"
    found = {
        "admin": create_key(keys, "ops-admin", "admin"),
        "writer": create_key(keys, "rag-app", "write", "docs"),
        "reader": create_key(keys, "dashboard", "read"),
    }
    srv = Server(base / "data", serve_args=["--auth", str(keys)])
    found["url"] = srv.url
    yield found
    srv.stop()


def test_missing_or_wrong_key_is_unauthorized(auth: Dict[str, str]) -> None:
    with Client(auth["url"], namespace="docs") as anon:
        h = anon.health()  # public
        assert h.auth is True
        with pytest.raises(Unauthorized) as e:
            anon.namespaces()
        assert (e.value.status, e.value.code) == (401, "unauthorized")
        assert "API key" in e.value.message
    with Client(auth["url"], api_key="crk_wrong", namespace="docs") as bad:
        with pytest.raises(Unauthorized) as e:
            bad.facts()
        assert e.value.message == "the API key is not valid"


def test_roles_are_enforced_per_namespace(auth: Dict[str, str]) -> None:
    admin = Client(auth["url"], api_key=auth["admin"], namespace="docs")
    writer = Client(auth["url"], api_key=auth["writer"], namespace="docs")
    reader = Client(auth["url"], api_key=auth["reader"], namespace="docs")
    try:
        r = writer.ingest(ACME_DOCS[:2], reason="nightly load")
        assert isinstance(r, IngestResult) and r.tx is not None
        t = reader.transaction(r.tx)
        assert t.actor == "rag-app" and t.reason == "nightly load"
        assert "$4.4 billion" in reader.query("Acme revenue", time="2023-Q3").context
        with pytest.raises(Forbidden) as e:
            reader.ingest([{"text": "In 2020, Initech hired 5 people."}])
        assert (e.value.status, e.value.code) == (403, "forbidden")
        assert "write" in e.value.message
        with pytest.raises(Forbidden):
            reader.retract_fact(1, reason="not allowed")
        with pytest.raises(Forbidden):
            writer.rollback(0, reason="writers cannot roll back")
        with pytest.raises(Forbidden):
            writer.with_namespace("other").ingest([{"text": "x y z"}])
        with pytest.raises(Forbidden):
            writer.verify_audit()  # verify needs admin on "*"
        with pytest.raises(Forbidden):
            reader.audit_log()
        with pytest.raises(Forbidden):
            writer.create_namespace("elsewhere")
        assert admin.verify_audit().ok
        assert [e.actor for e in admin.audit_log()] == ["rag-app"]
        retract = admin.retract_fact(1, reason="admin fix")
        assert admin.transaction(retract.tx).actor == "ops-admin"
        assert "docs" in [n.name for n in reader.namespaces()]
    finally:
        for c in (admin, writer, reader):
            c.close()


async def test_async_client_sends_the_key(auth: Dict[str, str]) -> None:
    async with AsyncClient(auth["url"], api_key=auth["reader"], namespace="docs") as reader:
        assert [n.name for n in await reader.namespaces()] == ["docs"]
        with pytest.raises(Forbidden):
            await reader.assert_fact("Acme Corp", "Acme Corp did a thing", "2023")
    async with AsyncClient(auth["url"], namespace="docs") as anon:
        with pytest.raises(Unauthorized):
            await anon.facts()
