"""Read an export as it arrives, a ZIP or a folder, without trusting it.

Members are read in place and streamed: nothing is extracted to a path taken from
the archive. Sizes are capped per member and in total, and ZIP members whose
compression ratio is absurd are refused, so a zip bomb costs an error line, not
the machine. Member names are normalised to forward-slash relative paths; names
that try to climb out ("../", absolute paths) are refused.
"""

from __future__ import annotations

import hashlib
import io
import os
import posixpath
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

HASH_CHUNK = 1 << 20


class ArchiveError(Exception):
    """The export as a whole cannot be read (missing, not a ZIP or folder)."""


class UnsafeMember(Exception):
    """One member breaks a safety limit; the rest of the archive is still read."""


@dataclass(frozen=True)
class Limits:
    max_member_bytes: int = 4 << 30  # 4 GiB uncompressed, per member
    max_total_bytes: int = 64 << 30  # 64 GiB uncompressed, whole archive
    max_ratio: float = 200.0  # uncompressed / compressed, for members over 1 MiB


@dataclass(frozen=True)
class Member:
    path: str  # forward-slash path inside the export
    size: int  # uncompressed bytes as declared


def safe_name(name: str) -> str | None:
    """A clean relative path, or None when the name tries to leave the archive."""
    name = name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    clean = posixpath.normpath(name)
    if clean in (".", "") or clean.startswith("../") or clean == "..":
        return None
    return clean


class _CappedReader(io.RawIOBase):
    """Stops a member that inflates past the declared size or the cap."""

    def __init__(self, raw: BinaryIO, cap: int, name: str):
        self._raw, self._cap, self._name, self._read = raw, cap, name, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._raw.read(len(buffer))
        self._read += len(data)
        if self._read > self._cap:
            raise UnsafeMember(f"{self._name}: inflates beyond {self._cap} bytes")
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()


class Archive:
    """A ZIP file or a folder, opened lazily so workers can reopen it from its path."""

    def __init__(self, location: str | os.PathLike, limits: Limits | None = None):
        self.location = str(Path(location).resolve())
        self.limits = limits or Limits()
        path = Path(self.location)
        if path.is_dir():
            self.kind = "folder"
        elif path.is_file() and zipfile.is_zipfile(path):
            self.kind = "zip"
        elif path.is_file():
            self.kind = "file"  # a single export file (an mbox, a JSON dump)
        else:
            raise ArchiveError(f"{location}: no such file or folder")
        self._zip: zipfile.ZipFile | None = None
        self._members: dict[str, Member] | None = None
        self.refused: list[tuple[str, str]] = []  # (name, reason) for members never offered

    def __getstate__(self):  # open handles stay behind; each worker reopens
        state = self.__dict__.copy()
        state["_zip"] = None
        return state

    @property
    def zip(self) -> zipfile.ZipFile:
        if self._zip is None:
            self._zip = zipfile.ZipFile(self.location)
        return self._zip

    def members(self) -> dict[str, Member]:
        if self._members is None:
            self._members = dict(sorted(self._scan().items()))
        return self._members

    def _scan(self) -> dict[str, Member]:
        found: dict[str, Member] = {}
        refused: list[tuple[str, str]] = []
        total = 0
        if self.kind == "folder":
            root = Path(self.location)
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    full = Path(dirpath, name)
                    if name.startswith(".") or full.is_symlink():
                        continue  # hidden files and links that may point outside the export
                    rel = full.relative_to(root).as_posix()
                    found[rel] = Member(rel, full.stat().st_size)
            return found
        if self.kind == "file":
            name = Path(self.location).name
            return {name: Member(name, Path(self.location).stat().st_size)}
        for info in self.zip.infolist():
            if info.is_dir():
                continue
            name = safe_name(info.filename)
            if name is None:
                refused.append((info.filename, "unsafe path (absolute or climbs out of the archive)"))
                continue
            if posixpath.basename(name).startswith(".") or name.startswith("__MACOSX/"):
                continue
            if info.file_size > self.limits.max_member_bytes:
                refused.append((name, f"declared size {info.file_size} exceeds the per-member cap"))
                continue
            if info.file_size > 1 << 20 and info.file_size > self.limits.max_ratio * max(info.compress_size, 1):
                refused.append((name, f"compression ratio {info.file_size / max(info.compress_size, 1):.0f}:1 "
                                      "looks like a zip bomb"))
                continue
            total += info.file_size
            if total > self.limits.max_total_bytes:
                refused.append((name, "archive exceeds the total uncompressed cap"))
                continue
            found[name] = Member(name, info.file_size)
        self.refused = refused
        return found

    def open(self, name: str) -> BinaryIO:
        member = self.members().get(name)
        if member is None:
            raise UnsafeMember(f"{name}: not a readable member of {self.location}")
        if self.kind == "folder":
            return open(Path(self.location, name), "rb")  # noqa: SIM115 - caller closes
        if self.kind == "file":
            return open(self.location, "rb")  # noqa: SIM115
        cap = min(member.size, self.limits.max_member_bytes)
        return io.BufferedReader(_CappedReader(self.zip.open(name), cap, name), HASH_CHUNK)

    def read_bytes(self, name: str) -> bytes:
        with self.open(name) as fh:
            return fh.read()

    def sha256(self) -> str:
        """The file's hash for a ZIP or single file; for a folder, a hash over its members' hashes."""
        digest = hashlib.sha256()
        if self.kind != "folder":
            with open(self.location, "rb") as fh:
                while chunk := fh.read(HASH_CHUNK):
                    digest.update(chunk)
            return digest.hexdigest()
        for name in self.members():
            digest.update(f"{name}\0{self.member_sha256(name)}\n".encode())
        return digest.hexdigest()

    def member_sha256(self, name: str) -> str:
        digest = hashlib.sha256()
        with self.open(name) as fh:
            while chunk := fh.read(HASH_CHUNK):
                digest.update(chunk)
        return digest.hexdigest()


class HashingReader(io.RawIOBase):
    """Hashes a member while a parser streams it, so custody costs no second read."""

    def __init__(self, raw: BinaryIO):
        self._raw = raw
        self.digest = hashlib.sha256()
        self.bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._raw.read(len(buffer))
        self.digest.update(data)
        self.bytes += len(data)
        buffer[: len(data)] = data
        return len(data)

    def drain(self) -> None:
        """Read what the parser left so the hash covers the whole member."""
        while chunk := self._raw.read(HASH_CHUNK):
            self.digest.update(chunk)
            self.bytes += len(chunk)

    def hexdigest(self) -> str:
        return self.digest.hexdigest()
