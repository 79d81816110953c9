"""The shared AWS files: where they are, how they read, how they are written safely.

Reading goes through botocore's own parser (:mod:`botocore.configloader`), so
awswidget and boto3 agree on what a profile is. Problems botocore hides -- an
unreadable file reads as empty, one bad line rejects the whole file -- are
turned into a :class:`~awswidget.errors.ConfigFileError` naming the file and
line, and the rest keeps working with whatever can still be trusted.

Writing is done by :func:`update_file`: one writer at a time across processes
(a lock file beside the target), a fresh read under the lock, a round-trip
line edit, a temporary file in the same folder that is fsynced, re-parsed by
botocore and checked against the untouched sections, a last check that nobody
changed the target meanwhile, then :func:`os.replace`.
"""

from __future__ import annotations

import configparser
import contextlib
import functools
import logging
import os
import stat
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ._ini import IniDocument
from .errors import ConfigFileError, FileChangedError, WriteError

__all__ = [
    "FileSnapshot",
    "SharedFiles",
    "config_profile_name",
    "locate",
    "read_file",
    "update_file",
]

log = logging.getLogger(__name__)

_TMP_MARK = ".awswidget-tmp"
_BOM = b"\xef\xbb\xbf"
FILE_MODE = 0o600
DIR_MODE = 0o700


def _expand(path: str | os.PathLike[str]) -> str:
    # Exactly botocore's expansion (configloader.raw_config_parse).
    return os.path.expanduser(os.path.expandvars(os.fspath(path)))


def locate(
    config_file: str | os.PathLike[str] | None = None,
    credentials_file: str | os.PathLike[str] | None = None,
) -> tuple[str, str]:
    """Return the (config, credentials) paths botocore would use.

    Explicit arguments win; then ``AWS_CONFIG_FILE`` and
    ``AWS_SHARED_CREDENTIALS_FILE``; then ``~/.aws/config`` and
    ``~/.aws/credentials``. Paths are expanded as botocore expands them.
    """
    if config_file is None:
        config_file = os.environ.get("AWS_CONFIG_FILE") or "~/.aws/config"
    if credentials_file is None:
        credentials_file = os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials"
    return _expand(config_file), _expand(credentials_file)


@functools.lru_cache(maxsize=65536)
def config_profile_name(header: str) -> str | None:
    """The profile a config-file section header defines, as botocore maps it.

    ``default`` -> ``default``; ``profile x`` -> ``x``; anything else (``sso-session x``,
    ``services x``, ``preview``...) -> ``None``.
    """
    from botocore.configloader import build_profile_map

    profiles = build_profile_map({header: {}})["profiles"]
    return next(iter(profiles), None)


def config_header(name: str) -> str:
    """The section header `aws configure` writes for a profile in the config file."""
    return "default" if name == "default" else f"profile {name}"


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class FileSnapshot:
    """One file as botocore reads it, at one moment.

    ``sections`` is botocore's ``raw_config_parse`` result (empty when the file
    is missing or untrusted); ``error`` says why a file that exists cannot be
    used. ``key`` identifies the version read (device, inode, size, mtime).
    """

    path: str
    exists: bool
    sections: dict[str, dict[str, Any]] = field(repr=False)
    error: ConfigFileError | None = None
    key: tuple[int, ...] | None = None
    mode: int | None = None

    @property
    def real_path(self) -> str:
        return os.path.realpath(self.path)


def _stat_key(st: os.stat_result) -> tuple[int, ...]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _stat_regular(path: str) -> os.stat_result | None:
    """stat() that refuses anything but a regular file; None when absent."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise ConfigFileError(path, "a folder on its path is a file") from None
    except PermissionError:
        raise ConfigFileError(path, "cannot be reached (permission denied)") from None
    if stat.S_ISDIR(st.st_mode):
        raise ConfigFileError(path, "is a directory, not a file")
    if not stat.S_ISREG(st.st_mode):
        # A FIFO would block a reader forever; devices and sockets make no sense here.
        raise ConfigFileError(path, "is not a regular file (a pipe, socket or device); it is not read")
    return st


def _line_of_offset(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _parse_error(path: str, error: BaseException, data: bytes | None) -> ConfigFileError:
    """Translate a parser error into our error, keeping line numbers but never line text."""
    if isinstance(error, configparser.MissingSectionHeaderError):
        return ConfigFileError(path, "this line is outside any [section]; the file must start with a header such as [default]", error.lineno)
    if isinstance(error, configparser.DuplicateSectionError):
        return ConfigFileError(path, f"section [{error.section}] appears twice", error.lineno)
    if isinstance(error, configparser.DuplicateOptionError):
        return ConfigFileError(path, f"key '{error.option}' appears twice in section [{error.section}]", error.lineno)
    if isinstance(error, configparser.ParsingError):
        linenos = [lineno for lineno, _ in error.errors]
        more = f" (and {len(linenos) - 1} more line(s))" if len(linenos) > 1 else ""
        return ConfigFileError(path, f"this line is not 'key = value', a [section] or a comment{more}", linenos[0] if linenos else None)
    if isinstance(error, UnicodeDecodeError):
        lineno = None
        if data is not None:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as exc:
                lineno = _line_of_offset(data, exc.start)
        return ConfigFileError(path, "the file is not UTF-8 text", lineno)
    if isinstance(error, ValueError):
        return ConfigFileError(path, "an indented (nested) block has a line without '='")
    return ConfigFileError(path, f"botocore cannot parse it ({type(error).__name__})")


def _parse(path: str) -> tuple[dict[str, dict[str, Any]], bytes]:
    """Parse with botocore; raise ConfigFileError. Returns (sections, bytes read)."""
    import botocore.configloader
    import botocore.exceptions

    try:
        with open(path, "rb") as f:
            data = f.read()
    except PermissionError:
        # botocore would silently read this file as empty: say so instead.
        raise ConfigFileError(path, "cannot be read (permission denied); botocore would ignore it") from None
    except OSError as exc:
        raise ConfigFileError(path, f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    if data.startswith(_BOM):
        raise ConfigFileError(
            path,
            "starts with a UTF-8 byte-order mark (often left by a Windows editor); "
            "botocore rejects every profile in it",
            1,
        )
    try:
        sections = botocore.configloader.raw_config_parse(path)
    except botocore.exceptions.ConfigNotFound:
        return {}, b""
    except botocore.exceptions.ConfigParseError as exc:
        # exc.kwargs["error"] quotes the offending line, which may hold a key: never chain it.
        raise _parse_error(path, exc.kwargs.get("error", exc), data) from None
    return sections, data


def read_file(path: str | os.PathLike[str]) -> FileSnapshot:
    """Read one shared file with botocore's parser; never raises for a bad file."""
    path = _expand(path)
    for _ in range(3):
        try:
            st = _stat_regular(path)
            if st is None:
                return FileSnapshot(path, False, {})
            sections, _ = _parse(path)
            after = _stat_regular(path)
        except ConfigFileError as exc:
            return FileSnapshot(path, True, {}, exc)
        if after is not None and _stat_key(after) == _stat_key(st):
            return FileSnapshot(path, True, sections, None, _stat_key(st), stat.S_IMODE(st.st_mode))
    # Changing under our feet on every try: report it rather than guess.
    return FileSnapshot(path, True, {}, ConfigFileError(path, "kept changing while being read; try again"))


_cache: dict[str, FileSnapshot] = {}
_cache_lock = threading.Lock()


def read_file_cached(path: str | os.PathLike[str]) -> FileSnapshot:
    """:func:`read_file`, reusing the last parse while the file is unchanged on disk.

    The file's identity (device, inode, size, mtime, ctime) is checked on every
    call, so edits made by other programs are seen at once.
    """
    path = _expand(path)
    try:
        st = _stat_regular(path)
    except ConfigFileError:
        st = None
        key = None
    else:
        key = _stat_key(st) if st is not None else ()
    with _cache_lock:
        hit = _cache.get(path)
    if hit is not None and key is not None and (hit.key == key or (key == () and not hit.exists)):
        return hit
    snap = read_file(path)
    with _cache_lock:
        _cache[path] = snap
    return snap


# --------------------------------------------------------------------------- writing


def _lock(real_path: str, timeout: float) -> Any:
    from filelock import FileLock

    return FileLock(real_path + ".lock", timeout=timeout, mode=FILE_MODE)


@contextlib.contextmanager
def locked(paths: list[str], timeout: float = 30.0) -> Iterator[None]:
    """Hold the cross-process locks of several files (always taken in the same order)."""
    from filelock import Timeout

    reals = sorted({os.path.realpath(_expand(p)) for p in paths})
    with contextlib.ExitStack() as stack:
        for real in reals:
            _ensure_folder(os.path.dirname(real))
            try:
                stack.enter_context(_lock(real, timeout))
            except Timeout:
                raise WriteError(path=real, reason=f"another program holds its lock ({real}.lock) for over {timeout:.0f} s") from None
        yield


def _ensure_folder(folder: str) -> None:
    if os.path.isdir(folder):
        return
    parent = os.path.dirname(folder)
    if parent and parent != folder:
        _ensure_folder(parent)
    try:
        os.mkdir(folder, DIR_MODE)
        os.chmod(folder, DIR_MODE)  # mkdir's mode is filtered by the umask
    except FileExistsError:
        pass
    except OSError as exc:
        raise WriteError(path=folder, reason=f"cannot create the folder ({exc.strerror})") from None


def _sweep_temp_files(real_path: str) -> None:
    folder, base = os.path.split(real_path)
    prefix = f".{base}."
    with contextlib.suppress(OSError):
        for name in os.listdir(folder):
            if name.startswith(prefix) and name.endswith(_TMP_MARK):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(folder, name))
                    log.info("Removed a temporary file left by an interrupted write: %s", name)


def _fsync_dir(folder: str) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@dataclass(frozen=True)
class WriteResult:
    path: str
    changed: bool
    created: bool


def _check_result(doc: IniDocument, before: dict[str, Any], after: dict[str, Any]) -> str | None:
    """Why the re-parsed temp file is wrong, or None when it is exactly what we meant."""
    for header, values in before.items():
        if header in doc.removed:
            if header in after:
                return f"section [{header}] is still present"
            continue
        if header not in doc.expected and after.get(header) != values:
            return f"untouched section [{header}] changed"
    for header in after:
        if header not in before and header not in doc.expected:
            return f"unexpected section [{header}]"
    for header, values in doc.expected.items():
        got = after.get(header, {})
        for key, value in values.items():
            if got.get(key) != value:
                return f"key '{key}' of [{header}] did not read back"
        for key, value in before.get(header, {}).items():
            if key not in values and got.get(key) != value:
                return f"untouched key '{key}' of [{header}] changed"
    return None


def update_file(
    path: str | os.PathLike[str],
    edit: Callable[[IniDocument, dict[str, Any]], None],
    *,
    lock_held: bool = False,
    max_attempts: int = 5,
    lock_timeout: float = 30.0,
    snapshot: FileSnapshot | None = None,
) -> WriteResult:
    """Apply ``edit`` to a shared file safely.

    ``edit(doc, sections)`` receives the round-trip document and botocore's
    parse of the fresh read, and edits the document in place (it may raise to
    refuse). A file botocore cannot parse is never rewritten. Created files
    get mode 0600 and a created folder 0700; existing files keep their mode.
    A symlinked file is written through to its target, and the link is kept.
    """
    path = _expand(path)
    real = os.path.realpath(path)
    if not lock_held:
        with locked([real], lock_timeout):
            return update_file(path, edit, lock_held=True, max_attempts=max_attempts, snapshot=snapshot)
    import botocore.configloader
    import botocore.exceptions

    _sweep_temp_files(real)
    for _attempt in range(max_attempts):
        st = _stat_regular(real)
        if st is None:
            before, data = {}, b""
        elif snapshot is not None and snapshot.error is None and snapshot.key == _stat_key(st):
            # The caller parsed this very version (same inode, size, mtime): don't parse it again.
            before = snapshot.sections
            with open(real, "rb") as f:
                data = f.read()
        else:
            before, data = _parse(real)
        snapshot = None  # a retry always starts from a fresh parse
        if st is not None and _stat_key(_stat_regular(real) or st) != _stat_key(st):
            continue  # changed while we read it
        doc = IniDocument(data.decode("utf-8"))
        edit(doc, before)
        new_text = doc.text()
        if new_text.encode("utf-8") == data:
            return WriteResult(path, changed=False, created=False)
        folder, base = os.path.split(real)
        tmp = os.path.join(folder, f".{base}.{uuid.uuid4().hex[:12]}{_TMP_MARK}")
        mode = stat.S_IMODE(st.st_mode) if st is not None else FILE_MODE
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        except OSError as exc:
            raise WriteError(path=path, reason=f"cannot create a temporary file in {folder} ({exc.strerror})") from None
        try:
            try:
                with os.fdopen(fd, "wb") as f:
                    os.fchmod(f.fileno(), mode)
                    if st is not None and os.geteuid() == 0 and st.st_uid != 0:
                        # root editing someone's file must not take it over
                        os.fchown(f.fileno(), st.st_uid, st.st_gid)
                    f.write(new_text.encode("utf-8"))
                    f.flush()
                    os.fsync(f.fileno())
            except OSError as exc:
                raise WriteError(path=path, reason=exc.strerror or type(exc).__name__) from None
            try:
                after = botocore.configloader.raw_config_parse(tmp)
            except botocore.exceptions.ConfigParseError:
                raise WriteError(path=path, reason="the edited file would not parse (an awswidget bug)") from None
            problem = _check_result(doc, before, after)
            if problem:
                raise WriteError(path=path, reason=f"self-check failed: {problem} (an awswidget bug)")
            now = _stat_regular(real)
            if (now is None) != (st is None) or (now is not None and st is not None and _stat_key(now) != _stat_key(st)):
                # Another program (the AWS CLI takes no lock) changed it: start again from a fresh read.
                log.info("%s changed while being written; retrying on a fresh read", path)
                continue
            os.replace(tmp, real)
            tmp = ""
            _fsync_dir(folder)
        finally:
            if tmp:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        with _cache_lock:
            _cache.pop(real, None)
            written = os.stat(real)
            # What botocore just read back from the temp file is the new content: cache it.
            _cache[path] = FileSnapshot(path, True, after, None, _stat_key(written), stat.S_IMODE(written.st_mode))
        return WriteResult(path, changed=True, created=st is None)
    raise FileChangedError(path=path, attempts=max_attempts)


def permissive_mode_warning(path: str) -> str | None:
    """A warning when a credentials file can be read by group or others."""
    try:
        st = os.stat(_expand(path))
    except OSError:
        return None
    if stat.S_ISREG(st.st_mode) and st.st_mode & 0o077:
        return (
            f"{path} can be read by other users (mode {stat.S_IMODE(st.st_mode):04o}); "
            f"run: chmod 600 {path}"
        )
    return None


# --------------------------------------------------------------------------- the pair


class SharedFiles:
    """The config and credentials files of one manager."""

    def __init__(
        self,
        config_file: str | os.PathLike[str] | None = None,
        credentials_file: str | os.PathLike[str] | None = None,
    ) -> None:
        self.config_file, self.credentials_file = locate(config_file, credentials_file)

    def __repr__(self) -> str:
        return f"SharedFiles(config_file={self.config_file!r}, credentials_file={self.credentials_file!r})"

    def read(self, cached: bool = True) -> tuple[FileSnapshot, FileSnapshot]:
        reader = read_file_cached if cached else read_file
        return reader(self.config_file), reader(self.credentials_file)

    def locked(self, timeout: float = 30.0) -> contextlib.AbstractContextManager[None]:
        return locked([self.config_file, self.credentials_file], timeout)
