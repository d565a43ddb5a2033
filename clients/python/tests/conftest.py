"""Fixtures: the real ``chronorag serve`` binary on an ephemeral loopback port with a fresh data
folder (one per test session), and helpers shared by the tests.

The binary comes from ``$CHRONORAG_BIN``, else ``<repo>/target/debug/chronorag``. When it is
missing the tests fail with a message saying how to build it; they are never skipped.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Iterator, List, Optional

import pytest

from chronorag import Client

PACKAGE_DIR = Path(__file__).resolve().parents[1]
REPO_DIR = PACKAGE_DIR.parents[1]

# The small corpus most tests ingest (same texts as the repository's governance walkthrough).
ACME_DOCS = [
    {
        "id": "acme-q2",
        "time": "2023-Q2",
        "text": "In Q2 2023, Acme Corp reported revenue of $4.1 billion.",
    },
    {
        "id": "acme-q3",
        "time": "2023-Q3",
        "text": "In Q3 2023, Acme Corp reported revenue of $4.4 billion. Jane Doe, Chief "
        "Executive of Acme Corp, said demand was strong.",
    },
    {
        "id": "globex-2019",
        "time": "2019",
        "text": "In 2019, Globex Corporation opened a factory in Ohio. Globex Corporation "
        "reported revenue of $2.0 billion in 2019.",
    },
]

# Server settings that make the job and limit paths reachable with small requests.
SERVER_CONFIG = """
[server]
async_threshold_bytes = 65536
max_documents_per_request = 50
"""


def chronorag_bin() -> Path:
    """The server binary, or a test failure explaining how to get one."""
    env = os.environ.get("CHRONORAG_BIN")
    path = Path(env) if env else REPO_DIR / "target" / "debug" / "chronorag"
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(
            f"the chronorag binary was not found at {path} "
            + ("(from $CHRONORAG_BIN)" if env else "(default location)")
            + ": build it with `cargo build` in the repository, or set CHRONORAG_BIN",
            pytrace=False,
        )
    return path


class Server:
    """A running ``chronorag serve`` process."""

    def __init__(
        self,
        data: Path,
        extra: Optional[List[str]] = None,
        serve_args: Optional[List[str]] = None,
    ) -> None:
        self.data = data
        self.log = data.parent / (data.name + "-stderr.log")
        args = [str(chronorag_bin()), "--data", str(data)]
        args += list(extra or [])
        args += ["serve", "--addr", "127.0.0.1:0"] + list(serve_args or [])
        self._stderr = self.log.open("wb")
        self.proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=self._stderr, text=True
        )
        self.url = self._read_url()
        # Keep draining stdout so the server never blocks on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()

    def _read_url(self) -> str:
        assert self.proc.stdout is not None
        box: List[str] = []
        reader = threading.Thread(target=lambda: box.append(self.proc.stdout.readline()))  # type: ignore[union-attr]
        reader.daemon = True
        reader.start()
        reader.join(60)
        line = box[0] if box else ""
        m = re.search(r"chronorag listening on (http://\S+)", line)
        if not m:
            self.stop()
            pytest.fail(
                f"chronorag serve did not announce its address (got {line!r}); stderr:\n"
                + self.log.read_text(errors="replace")[-3000:],
                pytrace=False,
            )
        return m.group(1)

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for _ in self.proc.stdout:
            pass

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not stop within 20 s."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._stderr.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The session's server (auth off), with a small job threshold and document limit."""
    base = tmp_path_factory.mktemp("server")
    cfg = base / "chronorag.toml"
    cfg.write_text(SERVER_CONFIG)
    s = Server(base / "data", ["--config", str(cfg)])
    yield s
    s.stop()


@pytest.fixture
def ns() -> str:
    """A fresh namespace name for one test."""
    return "t-" + uuid.uuid4().hex[:12]


@pytest.fixture
def client(server: Server, ns: str) -> Iterator[Client]:
    """A client on a fresh namespace, with short retry delays."""
    with Client(server.url, namespace=ns, backoff=0.05) as c:
        yield c


@pytest.fixture
def acme(client: Client) -> Client:
    """``client`` with :data:`ACME_DOCS` ingested (transaction 1)."""
    r = client.ingest(ACME_DOCS, reason="fixture")
    assert getattr(r, "tx", None) == 1, r
    return client


def wait_until(pred, timeout: float = 10.0, interval: float = 0.05) -> bool:  # type: ignore[no-untyped-def]
    """Polls ``pred`` until it is true or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(interval)
    return bool(pred())
