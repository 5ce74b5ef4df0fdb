"""Sources: opening paths and streams, gzip on the fly, the first bytes checked, decoding."""

from __future__ import annotations

import gzip
import hashlib
import io

import pytest

from exports.imports import ImportFileError
from exports.imports import errors as E
from exports.imports.sources import SNIFF_SIZE, fingerprint, iter_text, open_source

BODY = b"email,name\n" + b"".join(b"u%d@example.com,U\n" % n for n in range(2000))


def read_all(source, **options) -> tuple[bytes, object]:
    options.setdefault("encoding", "utf-8")
    options.setdefault("format_name", "csv")
    with open_source(source, **options) as opened:
        return b"".join(opened.iter_bytes(read_size=1000)), opened


@pytest.mark.parametrize("kind", ["path", "stream"])
def test_the_whole_content_comes_back_in_order(tmp_path, kind):
    assert len(BODY) > 2 * SNIFF_SIZE
    path = tmp_path / "in.csv"
    path.write_bytes(BODY)
    if kind == "path":
        data, opened = read_all(path)
        assert (opened.name, opened.size) == (str(path), len(BODY))
    else:
        data, opened = read_all(io.BytesIO(BODY))
        assert opened.name == "<stream>"
    assert data == BODY
    assert opened.counter.bytes_read == len(BODY)


def test_gzip_is_undone_and_progress_counts_the_compressed_bytes(tmp_path):
    packed = gzip.compress(BODY)
    data, opened = read_all(io.BytesIO(packed))
    assert data == BODY
    assert opened.counter.bytes_read == len(packed)


def test_gzip_expansion_is_bounded():
    with pytest.raises(ImportFileError) as exc:
        read_all(io.BytesIO(gzip.compress(BODY)), max_decompressed=len(BODY) - 1)
    assert str(exc.value) == E.DECOMPRESSED_TOO_LARGE.format(limit=len(BODY) - 1)
    assert read_all(io.BytesIO(gzip.compress(BODY)), max_decompressed=len(BODY))[0] == BODY


def test_a_damaged_gzip_is_a_file_error():
    packed = gzip.compress(BODY)
    with pytest.raises(ImportFileError, match="^The compressed input is damaged: "):
        read_all(io.BytesIO(packed[: len(packed) // 2]))


@pytest.mark.parametrize(
    ("head", "what"),
    [
        (b"PK\x03\x04rest", "a ZIP archive (an Excel .xlsx or OpenDocument file?)"),
        (b"%PDF-1.7\n", "a PDF document"),
        (b"a\x00" * 40, "UTF-16 text without a byte order mark or binary data"),
        (bytes(range(1, 32)) * 4, "binary data"),
    ],
)
def test_files_that_are_not_text_are_refused_by_their_first_bytes(head, what):
    with pytest.raises(ImportFileError) as exc:
        read_all(io.BytesIO(head), format_name="tsv")
    assert str(exc.value) == E.BINARY_FILE.format(what=what, format="tsv")


def test_utf16_read_as_utf8_and_empty_files():
    with pytest.raises(ImportFileError) as exc:
        read_all(io.BytesIO("a,b\n".encode("utf-16")))
    assert str(exc.value) == E.UTF16_WITHOUT_OPTION.format(bom="UTF-16", encoding="utf-8")
    with pytest.raises(ImportFileError) as exc:
        read_all(io.BytesIO(b""))
    assert str(exc.value) == E.EMPTY_FILE
    assert read_all(io.BytesIO(b""), empty_ok=True)[0] == b""


def test_a_missing_file(tmp_path):
    with pytest.raises(ImportFileError, match=r'^Cannot read ".*nothing.csv": No such file'):
        read_all(tmp_path / "nothing.csv")


def test_decoding_drops_a_bom_and_keeps_characters_split_across_chunks():
    data = "name\nJosé ☃\n".encode()
    # The first chunk is the sniffed head (SNIFF_SIZE bytes or the whole file): it holds the BOM.
    chunks = [b"\xef\xbb\xbf" + data[:1]] + [data[i : i + 1] for i in range(1, len(data))]
    assert "".join(iter_text(iter(chunks), encoding="utf-8")) == "name\nJosé ☃\n"


def test_an_undecodable_byte_names_its_line_and_offset_after_the_good_text():
    chunks = iter([b"a\nb\r\n", b"ok\n\xffbad\n"])
    texts = iter_text(chunks, encoding="utf-8")
    assert next(texts) == "a\nb\r\n"
    assert next(texts) == "ok\n"
    with pytest.raises(ImportFileError) as exc:
        next(texts)
    assert str(exc.value) == E.DECODE_ERROR.format(line=4, offset=8, byte=0xFF, encoding="utf-8")


def test_a_truncated_character_at_the_end():
    with pytest.raises(ImportFileError) as exc:
        list(iter_text(iter([b"ab\n\xc3"]), encoding="utf-8"))
    assert str(exc.value) == E.DECODE_ERROR.format(line=2, offset=3, byte=0xC3, encoding="utf-8")


def test_fingerprint(tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes(BODY)
    assert fingerprint(path) == (len(BODY), hashlib.sha256(BODY).hexdigest())


def test_the_peeked_head_comes_first_as_a_chunk_of_its_own(tmp_path):
    """The header is read from it before a later problem (the gzip bound) can stop the import."""
    with open_source(io.BytesIO(gzip.compress(BODY)), encoding="utf-8", format_name="csv") as src:
        chunks = src.iter_bytes(read_size=len(BODY))
        assert next(chunks) == BODY[:SNIFF_SIZE]
        assert next(chunks) == BODY[SNIFF_SIZE:]
