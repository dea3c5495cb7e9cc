"""Read an export as it arrives, a ZIP or a folder, without trusting it.

Members are read in place and streamed: nothing is extracted to a path taken from
the archive. Sizes are capped per member and in total, and ZIP members whose
compression ratio is absurd are refused, so a zip bomb costs an error line, not
the machine. Member names are normalised to forward-slash relative paths; names
that try to climb out ("../", absolute paths) are refused. A ZIP inside the export
(a chat app's own ZIP dropped in a folder, or zipped again) is opened in memory when
it is small enough, and its members are offered as `outer.zip!inner/path`; deeper
nesting is refused. Every refusal is kept in `Archive.refused` with its reason.

An export may also be a URL Beam has a filesystem for (`s3://bucket/export.zip`, or a prefix such as
`s3://bucket/exports/acme/` read as a folder): it is opened through `pipelines.storage`, a ZIP by seekable
range reads, with the same members, limits, refusals and hashes as the same export on local disk.
"""

from __future__ import annotations

import hashlib
import io
import os
import posixpath
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from pipelines import storage

HASH_CHUNK = 1 << 20
# A ZIP member is read through a buffer this big: format detection reads a few kilobytes of many members, and
# a 1 MiB buffer inflated each up to 1 MiB (133 MiB for a 62 MiB Slack ZIP, fetched whole from a bucket).
MEMBER_BUFFER = 64 << 10


class ArchiveError(Exception):
    """The export as a whole cannot be read (missing, not a ZIP or folder)."""


class UnsafeMember(Exception):
    """One member breaks a safety limit; the rest of the archive is still read."""


@dataclass(frozen=True)
class Limits:
    max_member_bytes: int = 4 << 30  # 4 GiB uncompressed, per member
    max_total_bytes: int = 64 << 30  # 64 GiB uncompressed, whole archive
    max_ratio: float = 200.0  # uncompressed / compressed, for members over 1 MiB
    max_nested_bytes: int = 256 << 20  # a ZIP inside the export is opened in memory up to this size


NESTED_SEPARATOR = "!"
RATIO_FLOOR = 1 << 20  # small members may compress well without being bombs ...
BOMB_FLOOR = 256 << 20  # ... unless the whole archive declares more than this at a bomb's ratio


@dataclass(frozen=True)
class Member:
    path: str  # forward-slash path inside the export; `outer.zip!inner/path` inside a nested ZIP
    size: int  # uncompressed bytes as declared
    container: str = ""  # the nested ZIP (a member of the export) holding this member, if any
    inner: str = ""  # the raw entry name inside the ZIP that holds it (may differ from the cleaned path)


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
    """Stops a member that inflates past the declared size or the cap, with one clear error."""

    def __init__(self, raw: BinaryIO, cap: int, name: str):
        self._raw, self._cap, self._name, self._read = raw, cap, name, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            data = self._raw.read(len(buffer))
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            # zipfile stops at the declared size and then fails the CRC: a member that inflates
            # beyond what it declares ends here, as does a corrupt one.
            raise UnsafeMember(f"{self._name}: corrupt, or inflates beyond its declared size ({exc})") from None
        self._read += len(data)
        if self._read > self._cap:
            raise UnsafeMember(f"{self._name}: inflates beyond {self._cap} bytes")
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()


def _is_zip_name(name: str) -> bool:
    return name.lower().endswith(".zip")


class Archive:
    """A ZIP file or a folder, opened lazily so workers can reopen it from its path."""

    def __init__(self, location: str | os.PathLike, limits: Limits | None = None):
        self.remote = storage.is_url(location)
        self.limits = limits or Limits()
        self._listing: list[tuple[str, int]] | None = None  # a prefix's objects (remote folders)
        if self.remote:
            self.location, self.kind = self._remote_kind(str(location))
        else:
            self.location = str(Path(location).resolve())
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
        self._nested: tuple[str, zipfile.ZipFile] | None = None  # the last nested ZIP opened, kept in memory
        self._members: dict[str, Member] | None = None
        self._containers: dict[str, Member] = {}  # nested ZIPs whose members are offered
        self.refused: list[tuple[str, str]] = []  # (name, reason) for members never offered

    def _remote_kind(self, location: str) -> tuple[str, str]:
        """(location, kind) of a URL: an object (a ZIP or a single file) or else a prefix (a folder)."""
        try:
            if not location.endswith("/") and storage.exists(location):
                with storage.open_read(location) as fh:
                    return location, "zip" if zipfile.is_zipfile(fh) else "file"
            prefix = location.rstrip("/")
            self._listing = storage.listing(prefix)
        except storage.StorageError as exc:
            raise ArchiveError(str(exc)) from None
        if not self._listing:
            if storage.bucket_missing(location):
                raise ArchiveError(f"{location}: the bucket {location.split('/')[2]} does not exist")
            raise ArchiveError(f"{location}: no such object, and no objects under it")
        return prefix, "folder"

    @property
    def name(self) -> str:
        """The export's own name: its file or folder name, the last part of a URL."""
        return storage.basename(self.location)

    def __getstate__(self):  # open handles stay behind; each worker reopens
        state = self.__dict__.copy()
        state["_zip"] = None
        state["_nested"] = None
        return state

    @property
    def zip(self) -> zipfile.ZipFile:
        if self._zip is None:
            self._zip = zipfile.ZipFile(storage.open_read(self.location) if self.remote else self.location)
        return self._zip

    def members(self) -> dict[str, Member]:
        if self._members is None:
            self._members = dict(sorted(self._scan().items()))
        return self._members

    def _refuse(self, name: str, reason: str) -> None:
        self.refused.append((name, reason))

    def _scan(self) -> dict[str, Member]:
        self.refused = []
        if self.kind == "file":
            name = self.name
            size = storage.size(self.location) if self.remote else Path(self.location).stat().st_size
            return {name: Member(name, size)}
        if self.kind == "folder":
            found = self._scan_prefix() if self.remote else self._scan_folder()
        else:
            found = self._scan_zip(self.zip, container="")
        for name in [n for n in found if _is_zip_name(n)]:
            found.update(self._scan_nested(found.pop(name)))
        return found

    def _scan_folder(self) -> dict[str, Member]:
        found: dict[str, Member] = {}
        root = Path(self.location)
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in [d for d in dirnames if Path(dirpath, d).is_symlink()]:
                # os.walk lists a linked folder but never enters it: a channel would vanish unreported.
                dirnames.remove(name)
                self._refuse(Path(dirpath, name).relative_to(root).as_posix(),
                             "symbolic link to a folder not followed (it may point outside the export)")
            for name in sorted(filenames):
                full = Path(dirpath, name)
                rel = full.relative_to(root).as_posix()
                if name.startswith("."):
                    continue
                if full.is_symlink():
                    self._refuse(rel, "symbolic link not followed (it may point outside the export)")
                    continue
                if not full.is_file():  # reading a FIFO waits forever, a device never ends
                    self._refuse(rel, "not a regular file (a FIFO, socket or device)")
                    continue
                size = full.stat().st_size
                if size > self.limits.max_member_bytes:
                    self._refuse(rel, f"size {size} exceeds the per-member cap")
                    continue
                found[rel] = Member(rel, size)
        return found

    def _scan_prefix(self) -> dict[str, Member]:
        """A folder on an object store: the objects under its prefix, named relative to it. There are no links
        or devices there; what a folder on disk skips (hidden names) or refuses (climbing, size) is skipped or
        refused alike."""
        found: dict[str, Member] = {}
        if self._listing is None:
            self._listing = storage.listing(self.location)
        for relative, size in self._listing:
            if any(part.startswith(".") for part in relative.split("/")):
                continue
            name = safe_name(relative)
            if name is None or name != relative:
                self._refuse(relative, "unsafe path (absolute or climbs out of the archive)")
                continue
            if size > self.limits.max_member_bytes:
                self._refuse(relative, f"size {size} exceeds the per-member cap")
                continue
            found[relative] = Member(relative, size)
        return found

    def _scan_zip(self, zf: zipfile.ZipFile, container: str) -> dict[str, Member]:
        """Safe members of one ZIP; `container` names the nested ZIP they sit in, if any."""
        found: dict[str, Member] = {}
        prefix = container + NESTED_SEPARATOR if container else ""
        total = 0
        for info in zf.infolist():
            if info.is_dir():
                continue
            name = safe_name(info.filename)
            if name is None:
                self._refuse(prefix + info.filename, "unsafe path (absolute or climbs out of the archive)")
                continue
            if posixpath.basename(name).startswith(".") or name.startswith("__MACOSX/"):
                continue
            reason = self._size_problem(info)
            if reason is None and prefix + name in found:
                # Two entries, one path: one would vanish unseen; say so instead.
                reason = "duplicate member path (one of them is refused)"
            if reason is None and total + info.file_size > self.limits.max_total_bytes:
                reason = "archive exceeds the total uncompressed cap"
            if reason:
                self._refuse(prefix + name, reason)
                continue
            total += info.file_size  # only what will be read counts toward the total
            found[prefix + name] = Member(prefix + name, info.file_size, container, info.filename)
        return self._without_small_bombs(zf, found, prefix)

    def _without_small_bombs(self, zf: zipfile.ZipFile, found: dict[str, Member], prefix: str) -> dict[str, Member]:
        """Thousands of small members that each inflate a thousandfold pass the per-member ratio (it spares
        members under RATIO_FLOOR) yet add up to gigabytes of nothing. When the archive as a whole declares
        more than BOMB_FLOOR at over max_ratio, its members over max_ratio are refused, whatever their size."""
        infos = {prefix + safe_name(i.filename): i for i in zf.infolist() if not i.is_dir() and safe_name(i.filename)}
        kept = [infos[name] for name in found if name in infos]
        declared = sum(i.file_size for i in kept)
        stored = max(1, sum(i.compress_size for i in kept))
        if declared <= BOMB_FLOOR or declared / stored <= self.limits.max_ratio:
            return found
        for name in list(found):
            info = infos.get(name)
            if info is not None and info.file_size / max(info.compress_size, 1) > self.limits.max_ratio:
                self._refuse(name, f"compression ratio {info.file_size / max(info.compress_size, 1):.0f}:1 in an "
                                   f"archive that inflates {declared / stored:.0f}:1 looks like a zip bomb")
                del found[name]
        return found

    def _size_problem(self, info: zipfile.ZipInfo) -> str | None:
        if info.file_size > self.limits.max_member_bytes:
            return f"declared size {info.file_size} exceeds the per-member cap"
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_FLOOR and ratio > self.limits.max_ratio:
            return f"compression ratio {ratio:.0f}:1 looks like a zip bomb"
        return None

    def _scan_nested(self, outer: Member) -> dict[str, Member]:
        """The members of a ZIP inside the export, when it is small and only one level deep."""
        if outer.container:
            self._refuse(outer.path, "a ZIP nested two levels deep is not opened")
            return {}
        if outer.size > self.limits.max_nested_bytes:
            self._refuse(outer.path, f"nested ZIP of {outer.size} bytes exceeds the in-memory cap "
                                     f"({self.limits.max_nested_bytes}); extract it and scan it on its own")
            return {}
        try:
            inner = self._open_nested(outer)
        except (zipfile.BadZipFile, UnsafeMember, OSError, EOFError) as exc:
            self._refuse(outer.path, f"nested ZIP cannot be opened: {exc}")
            return {}
        self._containers[outer.path] = outer
        found = self._scan_zip(inner, container=outer.path)
        for name in [n for n in found if _is_zip_name(n)]:
            self._refuse(found.pop(name).path, "a ZIP nested two levels deep is not opened")
        return found

    def _open_nested(self, outer: Member) -> zipfile.ZipFile:
        if self._nested is None or self._nested[0] != outer.path:
            self._nested = None  # let the previous one go before loading the next
            with self._open_plain(outer) as fh:
                data = fh.read(self.limits.max_nested_bytes + 1)
            if len(data) > self.limits.max_nested_bytes:
                raise UnsafeMember(f"{outer.path}: nested ZIP exceeds the in-memory cap")
            self._nested = (outer.path, zipfile.ZipFile(io.BytesIO(data)))
        return self._nested[1]

    def _open_plain(self, member: Member) -> BinaryIO:
        """A member of the export itself (not inside a nested ZIP)."""
        if self.kind == "folder":
            if self.remote:
                return storage.open_read(storage.join(self.location, member.path))
            return open(Path(self.location, member.path), "rb")  # noqa: SIM115 - caller closes
        if self.kind == "file":
            return storage.open_read(self.location)
        cap = min(member.size, self.limits.max_member_bytes)
        return io.BufferedReader(_CappedReader(self.zip.open(member.inner), cap, member.path), MEMBER_BUFFER)

    def open(self, name: str) -> BinaryIO:
        member = self.members().get(name)
        if member is None:
            raise UnsafeMember(f"{name}: not a readable member of {self.location}")
        if not member.container:
            return self._open_plain(member)
        raw = self._open_nested(self._containers[member.container]).open(member.inner)
        cap = min(member.size, self.limits.max_member_bytes)
        return io.BufferedReader(_CappedReader(raw, cap, name), MEMBER_BUFFER)

    def read_bytes(self, name: str) -> bytes:
        with self.open(name) as fh:
            return fh.read()

    def sha256(self) -> str:
        """The file's hash for a ZIP or single file; for a folder, a hash over its members' hashes."""
        digest = hashlib.sha256()
        if self.kind != "folder":
            with storage.open_read(self.location, storage.STREAM_BUFFER) as fh:
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
