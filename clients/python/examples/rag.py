import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from chronorag import Client

# 1. Start the server on a free port with a fresh data folder.
work = Path(tempfile.mkdtemp())
binary = os.environ.get("CHRONORAG_BIN", "chronorag")
server = subprocess.Popen(
    [binary, "--data", str(work / "data"), "serve", "--addr", "127.0.0.1:0"],
    stdout=subprocess.PIPE,
    text=True,
)
url = re.search(r"http://\S+", server.stdout.readline()).group(0)

try:
    # 2. A folder of dated documents: the time comes from the file name or the "time" field.
    corpus = work / "corpus"
    corpus.mkdir()
    (corpus / "acme-2023-Q2.md").write_text(
        "# Acme quarterly update\n\nAcme Corp reported revenue of $4.1 billion.\n"
    )
    (corpus / "acme-2023-Q3.md").write_text(
        "# Acme quarterly update\n\nAcme Corp reported revenue of $4.4 billion. "
        "Jane Doe, Chief Executive of Acme Corp, said demand was strong.\n"
    )
    (corpus / "news.jsonl").write_text(
        '{"id": "globex-2019", "time": "2019", "text": "In 2019, Globex Corporation '
        'opened a factory in Ohio."}\n'
    )

    with Client(url) as crag:
        report = crag.ingest(corpus, reason="example corpus")
        print(f"ingested {report.documents} documents as transaction {report.tx}")

        # 3. A time-scoped question: only evidence from Q3 2023 counts.
        question = "What revenue did Acme Corp report?"
        result = crag.query(question, time="2023-Q3", budget_chars=2000)

        # 4. The cited context goes into your LLM prompt.
        prompt = (
            "Answer the question using only the context below; cite the sources in brackets.\n\n"
            f"Context:\n{result.context}\n"
            f"Question: {question}\n"
        )
        print(prompt)
finally:
    server.terminate()
    server.wait()
    shutil.rmtree(work, ignore_errors=True)
