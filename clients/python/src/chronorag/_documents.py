"""Client-side reading of ``.txt``, ``.md`` and ``.jsonl`` files into documents, following the
rules of ``chronorag ingest`` (``src/ingest/input.rs``):

* a folder is walked recursively in name order; only ``.txt``, ``.md``, ``.markdown`` and
  ``.jsonl`` files are read (symbolic links are not followed);
* a ``.txt``/``.md`` file becomes one document whose id is its path relative to the folder given,
  with ``:`` between folders (``reports:2019.md``), or its file name when the file itself was
  given; ``source`` is the path;
* a ``.jsonl`` file holds one document object per line (blank lines skipped); ``source``
  defaults to ``file:line``;
* a calendar key in a text file's name (``report-2019.md``, ``call_2024-Q3.txt``,
  ``2024-07-15-notes.md``) becomes the document's ``time``. (The CLI ranks a time found in the
  document's Markdown title above the file name; over HTTP the file name is not sent, so the
  client applies it directly.)
"""

from __future__ import annotations

import calendar
import dataclasses
import json
import os
import re
import unicodedata
from pathlib import Path
from typing import Any, Iterable, List, Mapping, Optional, Tuple, Union

from .models import Document, Rejected

PathLike = Union[str, "os.PathLike[str]"]
DocumentLike = Union[Document, Mapping[str, Any], str, "os.PathLike[str]"]

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".jsonl")
MAX_DOCUMENT_BYTES = 16 * 1024 * 1024

_YEAR = re.compile(r"^\d{4}$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def _calendar_key(cand: str) -> Optional[str]:
    """The normalised calendar key if ``cand`` is a year, quarter, month or date (1900-2100)."""
    cand = cand.upper()
    year: Optional[int] = None
    if _YEAR.match(cand):
        year = int(cand)
    elif _QUARTER.match(cand):
        year = int(cand[:4])
    elif _MONTH.match(cand):
        m = int(cand[5:7])
        if not 1 <= m <= 12:
            return None
        year = int(cand[:4])
    else:
        d = _DAY.match(cand)
        if not d:
            return None
        y, m, day = int(d.group(1)), int(d.group(2)), int(d.group(3))
        if not 1 <= m <= 12 or not 1 <= day <= calendar.monthrange(y, m)[1]:
            return None
        year = y
    if year is None or not 1900 <= year <= 2100:
        return None
    return cand


def time_in_file_name(name: str) -> Optional[str]:
    """A calendar key in a file name, as ``chronorag ingest`` finds it (weeks are not looked for)."""
    stem = Path(name).stem
    spaced = stem.replace("_", " ").replace(".", " ")
    for tok in spaced.split(" "):
        for i, ch in enumerate(tok):
            if not ch.isdigit() or not ch.isascii():
                continue
            if i > 0 and tok[i - 1].isdigit():
                continue
            for length in (10, 7, 4):
                cand = tok[i : i + length]
                if len(cand) != length:
                    continue
                after = tok[i + length : i + length + 1]
                if after and after.isdigit():
                    continue
                key = _calendar_key(cand)
                if key is not None:
                    return key
    return None


def _file_id(root: Optional[Path], file: Path) -> str:
    rel: Path
    if root is not None:
        try:
            rel = file.relative_to(root)
        except ValueError:
            rel = Path(file.name)
    else:
        rel = Path(file.name)
    ident = ":".join(rel.parts).replace("..", "_")
    ident = "".join(ch for ch in ident if ch != "\\" and unicodedata.category(ch) != "Cc")[:200]
    return ident or "file"


def _supported(p: Path) -> bool:
    return p.suffix.lower() in SUPPORTED_SUFFIXES


def _walk(d: Path, out: List[Path]) -> None:
    entries = sorted(os.scandir(d), key=lambda e: os.fsencode(e.name))
    for e in entries:
        p = Path(e.path)
        if e.is_dir(follow_symlinks=False):
            _walk(p, out)
        elif e.is_file(follow_symlinks=False) and _supported(p):
            out.append(p)


def _read_text_file(path: Path, ident: str) -> Union[Document, Rejected]:
    file = str(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        return Rejected(file=file, reason=f"cannot read: {e}")
    if len(data) > MAX_DOCUMENT_BYTES:
        return Rejected(file=file, reason=f"file is larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return Rejected(file=file, reason=f"invalid UTF-8 at byte {e.start}")
    if not text.strip():
        return Rejected(file=file, reason="empty text")
    return Document(text=text, id=ident, source=file, time=time_in_file_name(path.name))


def _read_jsonl(path: Path) -> Iterable[Union[Document, Rejected]]:
    file = str(path)
    try:
        fh = path.open("rb")
    except OSError as e:
        yield Rejected(file=file, reason=f"cannot open: {e}")
        return
    with fh:
        for line_no, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8").strip()
            except UnicodeDecodeError as e:
                yield Rejected(file=file, line=line_no, reason=f"invalid UTF-8 at byte {e.start}")
                continue
            if not line:
                continue
            try:
                obj = json.loads(line)
            except ValueError as e:
                yield Rejected(file=file, line=line_no, reason=f"invalid JSON: {e}")
                continue
            if not isinstance(obj, dict):
                yield Rejected(file=file, line=line_no, reason="a line must be a JSON object")
                continue
            try:
                doc = Document.from_mapping(obj)
            except (TypeError, ValueError) as e:
                yield Rejected(file=file, line=line_no, reason=str(e))
                continue
            if doc.source is None:
                doc = dataclasses.replace(doc, source=f"{file}:{line_no}")
            yield doc


def read_path(path: PathLike) -> Tuple[List[Document], List[Rejected]]:
    """Reads a file or a folder (recursively) into documents, with the inputs that could not be
    read. A missing path or a file of an unsupported type is a rejection, as in the CLI."""
    p = Path(path)
    docs: List[Document] = []
    rejected: List[Rejected] = []
    files: List[Tuple[Path, str]] = []
    if p.is_dir():
        found: List[Path] = []
        _walk(p, found)
        files = [(f, _file_id(p, f)) for f in found]
    elif p.is_file():
        if _supported(p):
            files = [(p, _file_id(None, p))]
        else:
            rejected.append(
                Rejected(file=str(p), reason="unsupported file type (use .txt, .md or .jsonl)")
            )
    else:
        rejected.append(Rejected(file=str(p), reason="no such file or directory"))
    for f, ident in files:
        results: Iterable[Union[Document, Rejected]]
        if f.suffix.lower() == ".jsonl":
            results = _read_jsonl(f)
        else:
            results = [_read_text_file(f, ident)]
        for r in results:
            (docs if isinstance(r, Document) else rejected).append(r)  # type: ignore[arg-type]
    return docs, rejected


def read_documents(
    inputs: Union[DocumentLike, Iterable[DocumentLike]],
) -> Tuple[List[Document], List[Rejected]]:
    """Turns what ``ingest`` accepts into documents.

    ``inputs`` is one item or an iterable of items, each a :class:`Document`, a dict with the
    server's document fields (``text``, ``id``, ``time``, ``title``, ``source``, ``metadata``),
    or a path (``str`` or :class:`os.PathLike`) to a ``.txt``/``.md``/``.jsonl`` file or a folder
    of them. Returns the documents and the inputs that could not be read (never raises for a bad
    file; a dict with unknown fields raises :class:`ValueError`).
    """
    if isinstance(inputs, (Document, Mapping, str, os.PathLike)):
        seq: Iterable[DocumentLike] = [inputs]
    else:
        seq = inputs
    docs: List[Document] = []
    rejected: List[Rejected] = []
    for item in seq:
        if isinstance(item, Document):
            docs.append(item)
        elif isinstance(item, Mapping):
            docs.append(Document.from_mapping(item))
        elif isinstance(item, (str, os.PathLike)):
            d, r = read_path(item)
            docs.extend(d)
            rejected.extend(r)
        else:
            raise TypeError(
                "ingest takes Document objects, dicts or paths; got "
                f"{type(item).__name__}"
            )
    return docs, rejected
