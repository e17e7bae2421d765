"""Join PDFs into one, a piece at a time: the pages of each piece are copied out as it comes, so only
the piece being copied and the finished bytes are ever held, never every piece at once.

A class set of 500 students is compiled a few students at a time (one Typst document per chunk) and
joined here: Typst keeps a whole document laid out in memory until it is written, so one 1,000-page
compile took gigabytes, and a chunk takes a few megabytes. Each piece keeps its own fonts (a chunk's
font subset covers the glyphs of its own pages), so a joined file is somewhat larger than one
compile would be.

The pieces are parsed with pypdf; their objects are renumbered and written out as they are reached
from each page (streams are copied as they are, still compressed). The output is deterministic: the
same pieces give the same bytes (the file identifier is a hash of the content).

    >>> joiner = PdfJoiner(title="Class set")                        # doctest: +SKIP
    >>> for pdf in chunks: joiner.add(pdf)                           # doctest: +SKIP
    >>> data = joiner.finish()                                       # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from typing import Any

from pypdf import PdfReader
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    StreamObject,
    TextStringObject,
)

from byhand.i18n import M_
from byhand.printing.errors import PrintError

#: Page keys that point into the piece's own document structure (rebuilt, or dropped, here).
_SKIP_PAGE_KEYS = ("/Parent", "/StructParents", "/Annots", "/B")


class PdfJoiner:
    """Append the pages of one PDF after another into a single PDF, writing as it goes."""

    def __init__(self, title: str | None = None, author: str = "byhand") -> None:
        self._out = io.BytesIO()
        self._offsets: dict[int, int] = {}
        self._next = 3  # 1: the catalog, 2: the page tree (written last)
        self._kids: list[int] = []
        self._bookmarks: list[tuple[str, int]] = []
        self._creator: str | None = None
        self.title, self.author = title, author
        self._out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")

    @property
    def pages(self) -> int:
        """Pages joined so far."""
        return len(self._kids)

    def _new(self) -> int:
        n = self._next
        self._next += 1
        return n

    def _write(self, num: int, obj: Any) -> None:
        self._offsets[num] = self._out.tell()
        self._out.write(b"%d 0 obj\n" % num)
        obj.write_to_stream(self._out)
        self._out.write(b"\nendobj\n")

    def add(self, pdf: bytes, bookmark: str | None = None) -> int:
        """Append every page of ``pdf``; returns how many. ``bookmark``: an entry in the joined file's
        outline (a PDF reader's bookmarks) that opens this piece's first page."""
        first = len(self._kids)
        fast = _Plain.parse(pdf)
        n = self._add_plain(fast) if fast is not None else self._add_parsed(pdf)
        if bookmark and n:
            self._bookmarks.append((bookmark, self._kids[first]))
        return n

    def _add_plain(self, doc: _Plain) -> int:
        """A PDF as Typst writes it (a plain xref table, direct stream lengths): its objects are copied
        as bytes, numbered after ours, with only the references in their dictionaries renumbered."""
        if self._creator is None:
            self._creator = doc.creator
        base = self._next - 1
        skip = {doc.root, doc.info, doc.pages_root, doc.metadata}

        def renumber(m: re.Match[bytes]) -> bytes:
            old = int(m.group(1))
            return b"2 0 R" if old == doc.pages_root else b"%d 0 R" % (base + old)

        out = self._out
        for num in range(1, doc.size):
            self._offsets[base + num] = out.tell()
            head, tail = doc.objects.get(num, (b"null", b"")) if num not in skip else (b"null", b"")
            out.write(b"%d 0 obj\n" % (base + num))
            out.write(_sub_refs(head, renumber))
            out.write(tail)
            out.write(b"\nendobj\n")
        self._next = base + doc.size
        self._kids += [base + k for k in doc.kids]
        return len(doc.kids)

    def _add_parsed(self, pdf: bytes) -> int:
        """Any other PDF: parsed with pypdf, its objects reached from each page rewritten."""
        try:
            reader = PdfReader(io.BytesIO(pdf))
            pages = list(reader.pages)
        except Exception as exc:  # a piece Typst wrote: never malformed, unless something is badly wrong
            raise PrintError(M_("could not read a compiled piece to join it: {exc}", exc=exc)) from exc
        if self._creator is None:
            info = reader.metadata
            self._creator = str(info.get("/Creator", "")) if info else ""
        mapping: dict[int, int] = {}
        queue: list[tuple[int, int]] = []  # (their number, our number)

        def ref(ind: IndirectObject) -> IndirectObject:
            ours = mapping.get(ind.idnum)
            if ours is None:
                ours = mapping[ind.idnum] = self._new()
                queue.append((ind.idnum, ours))
            return IndirectObject(ours, 0, None)  # type: ignore[arg-type]

        def copy(obj: Any) -> Any:
            if isinstance(obj, IndirectObject):
                return ref(obj)
            if isinstance(obj, StreamObject):
                out: Any = StreamObject()
                out._data = obj._data  # the stream as stored (still compressed): copied, not re-encoded
                for k, v in obj.items():
                    out[NameObject(k)] = copy(v)
                return out
            if isinstance(obj, DictionaryObject):
                d = DictionaryObject()
                for k, v in obj.items():
                    d[NameObject(k)] = copy(v)
                return d
            if isinstance(obj, ArrayObject):
                return ArrayObject(copy(v) for v in obj)
            return obj

        for page in pages:
            num = self._new()
            d = DictionaryObject()
            for k, v in page.items():
                if k not in _SKIP_PAGE_KEYS:
                    d[NameObject(k)] = copy(v)
            d[NameObject("/Parent")] = IndirectObject(2, 0, None)  # type: ignore[arg-type]
            self._write(num, d)
            self._kids.append(num)
            while queue:
                theirs, ours = queue.pop()
                self._write(ours, copy(reader.get_object(theirs)))
        return len(pages)

    def _outline(self) -> IndirectObject:
        """The bookmarks as a flat PDF outline; returns its root."""
        root = self._new()
        nums = [self._new() for _ in self._bookmarks]
        for i, ((title, page), num) in enumerate(zip(self._bookmarks, nums)):
            item = DictionaryObject({NameObject("/Title"): TextStringObject(title), NameObject("/Parent"): _ref(root),
                                     NameObject("/Dest"): ArrayObject([_ref(page), NameObject("/Fit")])})
            if i > 0:
                item[NameObject("/Prev")] = _ref(nums[i - 1])
            if i + 1 < len(nums):
                item[NameObject("/Next")] = _ref(nums[i + 1])
            self._write(num, item)
        tree = DictionaryObject({NameObject("/Type"): NameObject("/Outlines"), NameObject("/First"): _ref(nums[0]),
                                 NameObject("/Last"): _ref(nums[-1]), NameObject("/Count"): _int(len(nums))})
        self._write(root, tree)
        return _ref(root)

    def finish(self) -> bytes:
        """The joined PDF (the joiner cannot be used after)."""
        if not self._kids:
            raise PrintError("nothing to print: no pages")
        kids = ArrayObject(IndirectObject(k, 0, None) for k in self._kids)  # type: ignore[arg-type]
        tree = DictionaryObject({NameObject("/Type"): NameObject("/Pages"), NameObject("/Kids"): kids})
        tree[NameObject("/Count")] = _int(len(self._kids))
        self._write(2, tree)
        catalog = DictionaryObject({NameObject("/Type"): NameObject("/Catalog"),
                                    NameObject("/Pages"): IndirectObject(2, 0, None)})  # type: ignore[arg-type]
        catalog[NameObject("/Lang")] = TextStringObject("en")
        if self._bookmarks:
            catalog[NameObject("/Outlines")] = self._outline()
        self._write(1, catalog)
        info_num = self._new()
        info = DictionaryObject()
        if self.title:
            info[NameObject("/Title")] = TextStringObject(self.title)
        info[NameObject("/Author")] = TextStringObject(self.author)
        if self._creator:
            info[NameObject("/Creator")] = TextStringObject(self._creator)
        self._write(info_num, info)
        out = self._out
        xref = out.tell()
        size = self._next
        out.write(b"xref\n0 %d\n0000000000 65535 f \n" % size)
        for n in range(1, size):
            out.write(b"%010d 00000 n \n" % self._offsets[n])
        ident = hashlib.md5(out.getbuffer(), usedforsecurity=False).hexdigest().encode()
        out.write(b"trailer\n<</Size %d/Root 1 0 R/Info %d 0 R/ID[<%s><%s>]>>\nstartxref\n%d\n%%%%EOF\n"
                  % (size, info_num, ident, ident, xref))
        data = out.getvalue()
        self._out = io.BytesIO()
        return data


_REF = re.compile(rb"(\d+) 0 R\b")
_STRING = re.compile(rb"\((?:[^()\\]|\\.)*\)", re.S)


def _sub_refs(head: bytes, repl: Any) -> bytes:
    """``N 0 R`` renumbered everywhere in an object's dictionary part except inside its (string)s."""
    if b"(" not in head:
        return _REF.sub(repl, head)
    out, at = [], 0
    for m in _STRING.finditer(head):  # strings Typst writes here have no nested parentheses
        out.append(_REF.sub(repl, head[at:m.start()]))
        out.append(m.group(0))
        at = m.end()
    out.append(_REF.sub(repl, head[at:]))
    return b"".join(out)


@dataclass
class _Plain:
    """A PDF in the plain shape Typst writes: every object found through the xref table, its
    dictionary part (``head``) apart from its stream bytes (``tail``)."""

    objects: dict[int, tuple[bytes, bytes]]
    size: int
    root: int
    info: int
    pages_root: int
    metadata: int
    kids: list[int]
    creator: str

    @classmethod
    def parse(cls, pdf: bytes) -> _Plain | None:
        """The parts of ``pdf``, or None if it is not of that shape (then pypdf reads it)."""
        m = re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", pdf[-64:])
        if m is None or not pdf.startswith(b"%PDF-"):
            return None
        xref = int(m.group(1))
        head = re.match(rb"xref\r?\n0 (\d+)\r?\n", pdf[xref:xref + 32])
        if head is None:
            return None
        size = int(head.group(1))
        table_at = xref + head.end()
        trailer_at = table_at + 20 * size
        trailer = re.match(rb"trailer\s*<<(.*?)>>\s*startxref", pdf[trailer_at:], re.S)
        if trailer is None:
            return None
        root, info = re.search(rb"/Root (\d+) 0 R", trailer.group(1)), re.search(rb"/Info (\d+) 0 R", trailer.group(1))
        if root is None or info is None:
            return None
        objects: dict[int, tuple[bytes, bytes]] = {}
        for num in range(1, size):
            entry = pdf[table_at + 20 * num: table_at + 20 * num + 18]
            if entry[17:18] != b"n":
                continue
            at = int(entry[:10])
            start = re.match(rb"%d 0 obj\s" % num, pdf[at:at + 24])
            if start is None:
                return None
            body = at + start.end()
            end = pdf.find(b"endobj", body)
            stream = pdf.find(b"stream\n", body, end)
            if stream < 0:
                objects[num] = (pdf[body:end].rstrip(), b"")
                continue
            length = re.search(rb"/Length (\d+)(?! 0 R)\b", pdf[body:stream])
            if length is None:  # an indirect length: not Typst's shape
                return None
            data_at = stream + len(b"stream\n")
            data_end = data_at + int(length.group(1))
            if not pdf.startswith(b"\nendstream", data_end):
                return None
            objects[num] = (pdf[body:stream], pdf[stream:data_end] + b"\nendstream")
        catalog = objects.get(int(root.group(1)), (b"", b""))[0]
        pages = re.search(rb"/Pages (\d+) 0 R", catalog)
        metadata = re.search(rb"/Metadata (\d+) 0 R", catalog)
        if pages is None or b"/StructTreeRoot" in catalog or b"/Outlines" in catalog:
            return None
        tree = objects.get(int(pages.group(1)), (b"", b""))[0]
        kids_m = re.search(rb"/Kids\[([^\]]*)\]", tree)
        if kids_m is None:
            return None
        kids = [int(k) for k in re.findall(rb"(\d+) 0 R", kids_m.group(1))]
        if not all(re.search(rb"/Type/Page(?![a-zA-Z])", objects.get(k, (b"", b""))[0]) for k in kids):
            return None
        creator = re.search(rb"/Creator\(([^()\\]*)\)", objects.get(int(info.group(1)), (b"", b""))[0])
        return cls(objects, size, int(root.group(1)), int(info.group(1)), int(pages.group(1)),
                   int(metadata.group(1)) if metadata else -1, kids,
                   creator.group(1).decode("latin-1") if creator else "")


def _ref(num: int) -> IndirectObject:
    return IndirectObject(num, 0, None)  # type: ignore[arg-type]


def _int(n: int) -> Any:
    from pypdf.generic import NumberObject

    return NumberObject(n)


def page_count(pdf: bytes) -> int:
    """How many pages a PDF has."""
    fast = _Plain.parse(pdf)
    return len(fast.kids) if fast is not None else len(PdfReader(io.BytesIO(pdf)).pages)


def join_pdfs(pieces: list[bytes], title: str | None = None) -> bytes:
    """Join whole PDFs, in order, into one."""
    joiner = PdfJoiner(title=title)
    for p in pieces:
        joiner.add(p)
    return joiner.finish()
