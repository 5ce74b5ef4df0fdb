"""Checkpoints for ``--resume``: how far a skip-mode import got, tied to its input.

After each committed batch a small JSON file beside the reject file records the input's size
and SHA-256 and the number of records done. A re-run with ``resume`` checks the input is the
same file and skips those records. The file is written to a temporary name and renamed, so it
is never half-written; it is removed when the import completes.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass

from .errors import BAD_CHECKPOINT, RESUME_OTHER_FILE, RESUME_OTHER_IMPORT, ImportFileError

VERSION = 1


@dataclass(frozen=True)
class Checkpoint:
    size: int
    sha256: str
    model: str
    mode: str
    records: int  # data records consumed (committed or rejected), header excluded
    line: int  # the last line they covered
    created: int
    updated: int
    rejected: int
    rejects_bytes: int = 0  # the reject file's size at this point (later lines are redone)
    version: int = VERSION


@dataclass(frozen=True)
class CheckpointFile:
    """Where a skip-mode import saves its checkpoints, for which input, and the one it
    resumes from (None for a fresh start)."""

    path: str
    size: int
    sha256: str
    resumed: Checkpoint | None = None

    @property
    def records_done(self) -> int:
        return self.resumed.records if self.resumed is not None else 0


def checkpoint_path(errors_path: str) -> str:
    return errors_path + ".checkpoint"


def load(path: str) -> Checkpoint | None:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        return Checkpoint(**data)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as exc:
        raise ImportFileError(BAD_CHECKPOINT.format(checkpoint=path, error=exc)) from None


def save(path: str, checkpoint: Checkpoint) -> None:
    tmp = path + ".part"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(asdict(checkpoint), handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def check_matches(
    checkpoint: Checkpoint, *, path: str, size: int, sha256: str, model: str, mode: str
) -> None:
    if checkpoint.size != size or checkpoint.sha256 != sha256:
        reason = f"size {checkpoint.size:,} and hash {checkpoint.sha256[:12]}…"
        raise ImportFileError(RESUME_OTHER_FILE.format(checkpoint=path, reason=reason))
    if checkpoint.model != model or checkpoint.mode != mode:
        reason = f"{checkpoint.model} in {checkpoint.mode} mode"
        raise ImportFileError(RESUME_OTHER_IMPORT.format(checkpoint=path, reason=reason))
