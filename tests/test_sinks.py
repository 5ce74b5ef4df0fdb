"""write_atomic(): a file appears complete or not at all."""

from __future__ import annotations

import gzip
import os
import stat

import pytest

from exports.sinks import write_atomic


def leftovers(directory) -> list[str]:
    return sorted(os.listdir(directory))


def test_writes_the_chunks_and_counts_bytes(tmp_path):
    target = tmp_path / "orders.csv"
    seen = []

    written = write_atomic(target, iter([b"id\n", b"1\n", b"", b"2\n"]), on_chunk=seen.append)

    assert target.read_bytes() == b"id\n1\n2\n"
    assert written == 7
    assert seen == [b"id\n", b"1\n", b"", b"2\n"]
    assert leftovers(tmp_path) == ["orders.csv"]


def test_gzip_follows_the_suffix_and_is_reproducible(tmp_path):
    first, second = tmp_path / "a.csv.gz", tmp_path / "b" / "a.csv.gz"
    second.parent.mkdir()

    written = write_atomic(first, [b"id\n", b"1\n"])
    write_atomic(second, [b"id\n", b"1\n"])

    assert written == 5
    assert gzip.decompress(first.read_bytes()) == b"id\n1\n"
    assert first.read_bytes() == second.read_bytes()  # mtime 0, same inner name
    with gzip.open(first) as handle:
        assert handle.read() == b"id\n1\n"


def test_compress_can_be_forced_either_way(tmp_path):
    write_atomic(tmp_path / "plain.gz", [b"x"], compress=False)
    write_atomic(tmp_path / "packed.bin", [b"x"], compress=True)

    assert (tmp_path / "plain.gz").read_bytes() == b"x"
    assert gzip.decompress((tmp_path / "packed.bin").read_bytes()) == b"x"


class Boom(Exception):
    pass


def failing(after: int):
    yield from [b"id\n"] * after
    raise Boom("database went away")


@pytest.mark.parametrize("name", ["orders.csv", "orders.csv.gz"])
@pytest.mark.parametrize("exception", [Boom, KeyboardInterrupt])
def test_a_failure_leaves_no_file(tmp_path, name, exception):
    def chunks():
        yield b"id\n"
        raise exception()

    with pytest.raises(exception):
        write_atomic(tmp_path / name, chunks())

    assert leftovers(tmp_path) == []


def test_a_failure_leaves_an_existing_file_as_it_was(tmp_path):
    target = tmp_path / "orders.csv"
    target.write_bytes(b"old\n")

    with pytest.raises(Boom):
        write_atomic(target, failing(after=3))

    assert target.read_bytes() == b"old\n"
    assert leftovers(tmp_path) == ["orders.csv"]


def test_success_replaces_an_existing_file(tmp_path):
    target = tmp_path / "orders.csv"
    target.write_bytes(b"old\n")

    write_atomic(target, [b"new\n"])

    assert target.read_bytes() == b"new\n"


def test_the_file_gets_the_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "orders.csv", [b"x"])
    finally:
        os.umask(old)

    assert stat.S_IMODE((tmp_path / "orders.csv").stat().st_mode) == 0o644


def test_the_temporary_file_is_hidden_beside_the_target(tmp_path):
    names = []

    def chunks():
        names.extend(os.listdir(tmp_path))
        yield b"x"

    write_atomic(tmp_path / "orders.csv", chunks())

    assert len(names) == 1
    assert names[0].startswith(".orders.csv.")
    assert names[0].endswith(".part")
