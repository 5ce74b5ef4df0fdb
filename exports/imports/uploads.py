"""Uploads for the admin import: streamed to a private directory in chunks, with a size cap.

An upload never sits in memory: :class:`LimitedUploadHandler` counts bytes as they arrive and
stops the request past ``IMPORT_MAX_UPLOAD_SIZE`` (the view answers 413), and
:class:`DiskUploadHandler` writes each chunk straight to ``<staging>/<token>/upload``. The
token (random, checked against the user and model) ties the validation page, the reject file
and the confirmation to that file.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload

STAGING = Path(tempfile.gettempdir()) / "exports-imports"
TOKEN_BYTES = 16
STALE_AFTER = 24 * 3600


class UploadTooLarge(Exception):
    pass


class LimitedUploadHandler(FileUploadHandler):
    """Stop the upload once more than ``limit`` bytes of file data have arrived."""

    def __init__(self, request, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.received = 0
        self.exceeded = False

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > self.limit + 64 * 1024:
            self.exceeded = True
            raise StopUpload(connection_reset=True)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            self.exceeded = True
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size: int):
        return None


class StagedFile(UploadedFile):
    def __init__(self, path: Path, name: str, size: int) -> None:
        super().__init__(file=None, name=name, size=size)
        self.path = path


class DiskUploadHandler(FileUploadHandler):
    """Write the uploaded file's chunks to a fresh staging directory as they arrive."""

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.token = secrets.token_urlsafe(TOKEN_BYTES)
        self.directory = staging_dir(self.token)
        self.directory.mkdir(parents=True, mode=0o700)
        self.path = self.directory / "upload"
        # Named "file" so Django's parser closes it if the upload is stopped.
        self.file = open(self.path, "wb")  # noqa: SIM115  (closed in file_complete)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.file.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> StagedFile:
        self.file.close()
        staged = StagedFile(self.path, self.file_name, file_size)
        staged.token = self.token
        return staged

    def upload_interrupted(self) -> None:
        if hasattr(self, "file"):
            self.file.close()
            shutil.rmtree(self.directory, ignore_errors=True)


@dataclass(frozen=True)
class Staged:
    """What the validation page and the confirmation need to find and re-check an upload."""

    token: str
    user_id: int
    model: str
    name: str
    size: int
    format: str
    encoding: str
    delimiter: str | None
    mode: str

    @property
    def directory(self) -> Path:
        return staging_dir(self.token)

    @property
    def path(self) -> Path:
        return self.directory / "upload"

    @property
    def rejects(self) -> Path:
        return self.directory / "rejects.csv"

    def save(self) -> None:
        (self.directory / "meta.json").write_text(json.dumps(asdict(self)))

    def discard(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def remove_stale(max_age: float = STALE_AFTER) -> None:
    """Remove staged uploads nobody confirmed (older than ``max_age`` seconds)."""
    if not STAGING.is_dir():
        return
    cutoff = time.time() - max_age
    for entry in STAGING.iterdir():
        with contextlib.suppress(OSError):
            if entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry, ignore_errors=True)


def staging_dir(token: str) -> Path:
    if not token.replace("-", "").replace("_", "").isalnum() or len(token) > 64:
        raise FileNotFoundError(token)
    return STAGING / token


def load_staged(token: str, *, user_id: int, model: str) -> Staged:
    """The staged upload for ``token``; FileNotFoundError if missing or someone else's."""
    meta = staging_dir(token) / "meta.json"
    data = json.loads(meta.read_text())
    staged = Staged(**data)
    if staged.user_id != user_id or staged.model != model or not os.path.exists(staged.path):
        raise FileNotFoundError(token)
    return staged
