"""Uploads for the admin import: streamed to a private directory in chunks, with a size cap.

An upload never sits in memory: :class:`LimitedUploadHandler` counts bytes as they arrive and
stops the request past ``IMPORT_MAX_UPLOAD_SIZE`` (the view answers 413; a request that
declares a larger ``Content-Length`` is refused before its body is read), and Django's
``TemporaryFileUploadHandler`` writes each chunk to a temporary file, which Django removes when
the request ends. A valid upload is moved to ``<staging>/<token>/upload`` (:func:`stage`); the
token (random, checked against the user and model) ties the validation page, the reject file
and the confirmation to that file. A staged directory whose check did not end in a validation
page with a Confirm button is removed before the response goes out.

The staging directory (``IMPORT_STAGING_DIR``, by default ``exports-imports-<uid>`` in the
system's temporary directory) is made private (0700) and refused when it is a symlink or owned
by another user: on a shared temporary directory anyone can create that name first.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import stat
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from django.core.files.move import file_move_safe
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict

from .. import conf

TOKEN_BYTES = 16
STALE_AFTER = 24 * 3600
# What a multipart body adds around the file (boundaries, the other fields) before a declared
# Content-Length is taken as over the limit.
MULTIPART_SLACK = 64 * 1024

STAGING_SYMLINK = "The import staging directory {path} is a symbolic link; refusing to use it."
STAGING_OWNER = (
    "The import staging directory {path} belongs to another user (uid {uid}); refusing to use it."
)
STAGING_NOT_DIR = "The import staging path {path} is not a directory; refusing to use it."


class UploadTooLarge(Exception):
    pass


class StagingError(Exception):
    """The staging directory is not safe to use (a symlink, someone else's, not a directory)."""


def staging_root() -> Path:
    configured = conf.get("IMPORT_STAGING_DIR")
    if configured:
        return Path(configured)
    uid = os.geteuid() if hasattr(os, "geteuid") else 0
    return Path(tempfile.gettempdir()) / f"exports-imports-{uid}"


def ensure_staging() -> Path:
    """Create the staging directory (0700) if needed, and check that it is ours and private.

    Raises :class:`StagingError` for a symlink, a non-directory or another user's directory;
    a directory of ours with wider permissions is narrowed to 0700.
    """
    root = staging_root()
    with contextlib.suppress(FileExistsError):
        os.mkdir(root, 0o700)
    info = os.lstat(root)
    if stat.S_ISLNK(info.st_mode):
        raise StagingError(STAGING_SYMLINK.format(path=root))
    if not stat.S_ISDIR(info.st_mode):
        raise StagingError(STAGING_NOT_DIR.format(path=root))
    if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
        raise StagingError(STAGING_OWNER.format(path=root, uid=info.st_uid))
    if stat.S_IMODE(info.st_mode) != 0o700:
        os.chmod(root, 0o700)
    return root


class LimitedUploadHandler(FileUploadHandler):
    """Stop the upload once more than ``limit`` bytes of file data have arrived."""

    def __init__(self, request, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.received = 0
        self.exceeded = False

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > self.limit + MULTIPART_SLACK:
            # Refuse without reading the body: an empty form (raising StopUpload here would
            # escape Django's parser, and the CSRF check reading request.POST, as a 500).
            self.exceeded = True
            return QueryDict(encoding=encoding), MultiValueDict()
        return None

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            self.exceeded = True
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size: int):
        return None


def stage(upload: TemporaryUploadedFile) -> str:
    """Move an upload's temporary file into a new private staging directory; its token.

    The file was written by Django's ``TemporaryFileUploadHandler`` (``FILE_UPLOAD_TEMP_DIR``,
    mode 0600, removed when the request ends unless moved here).
    """
    token = secrets.token_urlsafe(TOKEN_BYTES)
    directory = staging_dir(token)
    directory.mkdir(mode=0o700)
    try:
        file_move_safe(upload.temporary_file_path(), str(directory / "upload"))
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return token


def unstage(token: str) -> None:
    """Remove a staged upload's directory (the file, its metadata and rejects)."""
    shutil.rmtree(staging_dir(token), ignore_errors=True)


@dataclass(frozen=True)
class Staged:
    """What the validation page and the confirmation need to find and re-check an upload."""

    token: str
    user_id: str  # the user's pk as text (any pk type, JSON-safe)
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
        unstage(self.token)


def remove_stale(max_age: float = STALE_AFTER) -> None:
    """Remove staged uploads nobody confirmed (older than ``max_age`` seconds)."""
    root = ensure_staging()
    cutoff = time.time() - max_age
    for entry in root.iterdir():
        with contextlib.suppress(OSError):
            if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                if entry.is_symlink() or not entry.is_dir():
                    entry.unlink()
                else:
                    shutil.rmtree(entry, ignore_errors=True)


def staging_dir(token: str) -> Path:
    if not token.replace("-", "").replace("_", "").isalnum() or len(token) > 64:
        raise FileNotFoundError(token)
    return staging_root() / token


def load_staged(token: str, *, user_id: str, model: str) -> Staged:
    """The staged upload for ``token``; FileNotFoundError if missing or someone else's."""
    ensure_staging()
    meta = staging_dir(token) / "meta.json"
    data = json.loads(meta.read_text())
    staged = Staged(**data)
    mine = str(staged.user_id) == user_id and staged.model == model
    if not mine or not os.path.exists(staged.path):
        raise FileNotFoundError(token)
    return staged
