"""The shared AWS files: where they are, how they read, how they are written safely.

Reading goes through botocore's own parser (:mod:`botocore.configloader`), so
awswidget and boto3 agree on what a profile is. Problems botocore hides -- an
unreadable file reads as empty, one bad line rejects the whole file -- are
turned into a :class:`~awswidget.errors.ConfigFileError` naming the file and
line (never the line's text, which may hold a key), and the rest keeps working
with whatever can still be trusted.

Writing is done by :func:`update_file`: one writer at a time across processes
(a lock file beside the target), a fresh read under the lock, a round-trip
line edit, a temporary file in the same folder that is fsynced, re-parsed by
botocore and checked against the untouched sections, a last check that nobody
changed the target meanwhile (identity and content), then :func:`os.replace`.
"""

from __future__ import annotations

import configparser
import contextlib
import functools
import hashlib
import logging
import os
import re
import stat
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ._ini import EditError, IniDocument, _scan, nested_block_error_line
from .errors import ConfigFileError, FileChangedError, WriteError

__all__ = [
    "FileSnapshot",
    "SharedFiles",
    "WriteResult",
    "config_header",
    "config_profile_name",
    "locate",
    "locked",
    "permissive_mode_warning",
    "read_file",
    "read_file_cached",
    "update_file",
]

log = logging.getLogger(__name__)

TMP_MARK = ".awswidget-tmp"
_BOM = b"\xef\xbb\xbf"
FILE_MODE = 0o600
DIR_MODE = 0o700
# A run of key-like characters this long in a name read from a file may be a pasted secret.
_SECRETISH_RE = re.compile(r"[A-Za-z0-9/+=]{16,}")


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


def shown_name(name: str) -> str | None:
    """A section or key name read from a file, or ``None`` when it might be a pasted secret."""
    if len(name) > 64 or _SECRETISH_RE.search(name) or not name.isprintable():
        return None
    return name


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class FileSnapshot:
    """One file as botocore reads it, at one moment.

    ``sections`` is botocore's ``raw_config_parse`` result (empty when the file
    is missing or untrusted); ``error`` says why a file that exists cannot be
    used. ``key`` identifies the version read (device, inode, size, mtime,
    ctime) and ``digest`` its content (SHA-256).
    """

    path: str
    exists: bool
    sections: dict[str, dict[str, Any]] = field(repr=False)
    error: ConfigFileError | None = None
    key: tuple[int, ...] | None = None
    mode: int | None = None
    digest: str | None = field(default=None, repr=False)
    # The bytes parsed: comparing them is how a cached parse proves it is current
    # (several times cheaper than hashing again; the parse holds the same secrets anyway).
    data: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def real_path(self) -> str:
        return os.path.realpath(self.path)


class _Changed(Exception):
    """The file changed while it was being read."""


def _stat_key(st: os.stat_result) -> tuple[int, ...]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _stat_regular(path: str) -> os.stat_result | None:
    """stat() that refuses anything but a regular file; None when absent."""
    problem = None
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        problem = "a folder on its path is a file"
    except PermissionError:
        problem = "cannot be reached (permission denied)"
    except OSError as exc:  # a symlink loop, a name too long, an I/O error
        problem = f"cannot be reached ({exc.strerror or type(exc).__name__})"
    if problem is not None:
        raise ConfigFileError(path, problem)
    if stat.S_ISDIR(st.st_mode):
        raise ConfigFileError(path, "is a directory, not a file")
    if not stat.S_ISREG(st.st_mode):
        # A FIFO would block a reader forever; devices and sockets make no sense here.
        raise ConfigFileError(path, "is not a regular file (a pipe, socket or device); it is not read")
    return st


def _read_bytes(path: str) -> bytes:
    problem = None
    try:
        with open(path, "rb") as f:
            return f.read()
    except PermissionError:
        # botocore would silently read this file as empty: say so instead.
        problem = "cannot be read (permission denied); botocore would ignore it"
    except OSError as exc:
        problem = f"cannot be read ({exc.strerror or type(exc).__name__})"
    raise ConfigFileError(path, problem)


def _line_of_offset(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _parse_error(path: str, error: BaseException, data: bytes) -> ConfigFileError:
    """Translate a parser error into ours, keeping line numbers but never line text."""
    if not isinstance(error, (UnicodeDecodeError, configparser.ParsingError)):
        # configparser notes a line it cannot read and goes on, so a later duplicate can be what it
        # reports (an unclosed "[profile x" makes the next keys repeat the section before): name the
        # first line that cannot be read instead.
        try:
            _scan(data.decode("utf-8"))
        except EditError as exc:
            if exc.lineno is not None and exc.lineno < (getattr(error, "lineno", None) or exc.lineno + 1):
                return ConfigFileError(path, "this line is not 'key = value', a [section] or a comment", exc.lineno)
        except UnicodeDecodeError:
            pass
    if isinstance(error, configparser.MissingSectionHeaderError):
        return ConfigFileError(path, "this line is outside any [section]; the file must start with a header such as [default]", error.lineno)
    if isinstance(error, configparser.DuplicateSectionError):
        name = shown_name(error.section)
        what = f"section [{name}]" if name else "a section"
        return ConfigFileError(path, f"{what} appears twice (an earlier line has the same header)", error.lineno)
    if isinstance(error, configparser.DuplicateOptionError):
        key, section = shown_name(error.option), shown_name(error.section)
        what = f"key '{key}'" if key else "a key"
        where = f" of section [{section}]" if section else ""
        return ConfigFileError(path, f"{what}{where} appears twice", error.lineno)
    if isinstance(error, configparser.ParsingError):
        linenos = [lineno for lineno, _ in error.errors]
        more = f" (and {len(linenos) - 1} more line(s))" if len(linenos) > 1 else ""
        return ConfigFileError(path, f"this line is not 'key = value', a [section] or a comment{more}", linenos[0] if linenos else None)
    if isinstance(error, UnicodeDecodeError):
        lineno = None
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            lineno = _line_of_offset(data, exc.start)
        return ConfigFileError(path, "the file is not UTF-8 text", lineno)
    if isinstance(error, ValueError):
        lineno = nested_block_error_line(data.decode("utf-8", errors="replace"))
        return ConfigFileError(path, "a line of an indented (nested) block has no '='", lineno)
    return ConfigFileError(path, f"botocore cannot parse it ({type(error).__name__})")


def _botocore_parse(path: str, data: bytes) -> dict[str, dict[str, Any]]:
    """botocore's parse of ``path``, which must still hold ``data``; raises ConfigFileError.

    botocore opens the file itself, so the bytes are read again afterwards: a
    file changed meanwhile raises ``_Changed`` rather than pairing one
    version's bytes with another's parse.
    """
    import botocore.configloader
    import botocore.exceptions

    if data.startswith(_BOM):
        raise ConfigFileError(
            path,
            "starts with a UTF-8 byte-order mark (often left by a Windows editor); "
            "botocore rejects every profile in it",
            1,
        )
    problem: ConfigFileError | None = None
    try:
        sections = botocore.configloader.raw_config_parse(path)
    except botocore.exceptions.ConfigNotFound:
        raise _Changed from None
    except botocore.exceptions.ConfigParseError as exc:
        # exc.kwargs["error"] quotes the offending line, which may hold a key: it is
        # translated here and raised outside this block, so it is not even the __context__.
        problem = _parse_error(path, exc.kwargs.get("error", exc), data)
    if _read_bytes(path) != data:
        raise _Changed
    if problem is not None:
        raise problem
    return sections


def read_file(path: str | os.PathLike[str]) -> FileSnapshot:
    """Read one shared file with botocore's parser; never raises for a bad file.

    A missing file reads as empty (``exists=False``). Anything that stops
    botocore from trusting the file -- not a regular file (a directory, a FIFO,
    which is never opened), unreadable, not UTF-8, a line botocore rejects --
    is returned as ``error`` with empty ``sections``.
    """
    path = _expand(path)
    for _ in range(5):
        try:
            st = _stat_regular(path)
            if st is None:
                return FileSnapshot(path, False, {})
            data = _read_bytes(path)
            digest = hashlib.sha256(data).hexdigest()
            key, mode = _stat_key(st), stat.S_IMODE(st.st_mode)
            try:
                sections = _botocore_parse(path, data)
            except ConfigFileError as exc:
                # Kept without its traceback: its frames hold the file's bytes.
                return FileSnapshot(path, True, {}, exc.with_traceback(None), key, mode, digest, data)
            after = _stat_regular(path)
        except _Changed:
            continue
        except ConfigFileError as exc:
            return FileSnapshot(path, True, {}, exc.with_traceback(None))
        if after is not None and _stat_key(after) == key:
            return FileSnapshot(path, True, sections, None, key, mode, digest, data)
    # Changing under our feet on every try: report it rather than guess.
    return FileSnapshot(path, True, {}, ConfigFileError(path, "kept changing while being read; try again"))


_cache: dict[str, FileSnapshot] = {}
_cache_lock = threading.Lock()


def read_file_cached(path: str | os.PathLike[str]) -> FileSnapshot:
    """:func:`read_file`, reusing the last parse while the file is unchanged on disk.

    The file's identity (device, inode, size, mtime, ctime) and its content
    (SHA-256) are checked on every call -- timestamps alone can miss a
    same-size edit made within one clock tick -- so edits made by other
    programs are seen at once. Only botocore's parse is saved.
    """
    path = _expand(path)
    with _cache_lock:
        hit = _cache.get(path)
    if hit is not None:
        try:
            st = _stat_regular(path)
            if st is None:
                if not hit.exists:
                    return hit
            elif hit.key == _stat_key(st) and hit.data is not None and hit.data == _read_bytes(path):
                return hit
        except ConfigFileError:
            pass
    snap = read_file(path)
    with _cache_lock:
        _cache[path] = snap
    return snap


def _same_version(snapshot: FileSnapshot, st: os.stat_result, data: bytes) -> bool:
    """Whether ``snapshot`` parsed exactly this version of the file (identity and content)."""
    if snapshot.error is not None or snapshot.key != _stat_key(st):
        return False
    if snapshot.data is not None:
        return snapshot.data == data
    return snapshot.digest is None or snapshot.digest == hashlib.sha256(data).hexdigest()


def _remember_written(path: str, real: str, sections: dict[str, Any], data: bytes) -> None:
    """Cache what botocore read back from the file just written, so the next read need not parse it."""
    try:
        st = os.stat(real)
    except OSError:
        st = None
    with _cache_lock:
        _cache.pop(real, None)
        _cache.pop(path, None)
        if st is not None:
            # Should another program have replaced it since, the digest no longer matches and
            # read_file_cached parses the file again.
            _cache[path] = FileSnapshot(
                path, True, sections, None, _stat_key(st), stat.S_IMODE(st.st_mode), hashlib.sha256(data).hexdigest(), data
            )


# --------------------------------------------------------------------------- writing


def _lock(real_path: str, timeout: float) -> Any:
    from filelock import FileLock

    return FileLock(real_path + ".lock", timeout=timeout, mode=FILE_MODE)


@contextlib.contextmanager
def locked(paths: list[str], timeout: float = 30.0) -> Iterator[None]:
    """Hold the cross-process locks of several files (always taken in the same order).

    The lock of a file is ``<file>.lock`` beside it (beside the target of a
    symlink). Raises :class:`~awswidget.errors.WriteError` when a lock cannot
    be taken: held by another program for ``timeout`` seconds, or the folder
    does not allow creating the lock file.
    """
    from filelock import Timeout

    reals = sorted({os.path.realpath(_expand(p)) for p in paths})
    with contextlib.ExitStack() as stack:
        for real in reals:
            _ensure_folder(os.path.dirname(real))
            problem = None
            try:
                stack.enter_context(_lock(real, timeout))
            except Timeout:
                problem = f"another program holds its lock ({real}.lock) for over {timeout:.0f} s"
            except OSError as exc:
                problem = f"cannot create its lock file {real}.lock ({exc.strerror or type(exc).__name__})"
            if problem is not None:
                raise WriteError(path=real, reason=problem)
        yield


def _ensure_folder(folder: str) -> None:
    """Create ``folder`` (and missing parents) with mode 0700, whatever the umask."""
    if os.path.isdir(folder):
        return
    parent = os.path.dirname(folder)
    if parent and parent != folder:
        _ensure_folder(parent)
    problem = None
    try:
        os.mkdir(folder, DIR_MODE)
        os.chmod(folder, DIR_MODE)  # mkdir's mode is filtered by the umask
    except FileExistsError:
        if not os.path.isdir(folder):
            problem = "a file is where this folder should be"
    except OSError as exc:
        problem = f"cannot create the folder ({exc.strerror or type(exc).__name__})"
    if problem is not None:
        raise WriteError(path=folder, reason=problem)


def temp_files(real_path: str) -> list[str]:
    """Temporary files of interrupted writes of ``real_path`` (full paths)."""
    folder, base = os.path.split(real_path)
    prefix = f".{base}."
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return [os.path.join(folder, n) for n in names if n.startswith(prefix) and n.endswith(TMP_MARK)]


def _sweep_temp_files(real_path: str) -> None:
    # Called under the file's lock: no other writer of this file is running, so
    # any temporary file left is from a writer that died.
    for path in temp_files(real_path):
        with contextlib.suppress(OSError):
            os.unlink(path)
            log.info("Removed a temporary file left by an interrupted write: %s", os.path.basename(path))


def _fsync_dir(folder: str) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@dataclass(frozen=True)
class WriteResult:
    """What :func:`update_file` did."""

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


def write_atomic(
    path: str,
    st: os.stat_result | None,
    data: bytes,
    new: bytes,
    check: Callable[[dict[str, Any]], str | None],
) -> dict[str, Any] | None:
    """Replace ``path`` (a resolved real path, its lock held) by ``new``, atomically.

    ``st`` and ``data`` are the version the change was computed from (``None``
    and ``b""`` for a file that did not exist). The temporary file in the same
    folder gets the old mode (0600 when created) and owner, is fsynced,
    re-parsed by botocore and passed to ``check`` (which returns why it is
    wrong, or ``None``). Returns botocore's parse of what was written, or
    ``None``, writing nothing, when the target no longer is that version
    (another program changed it); raises
    :class:`~awswidget.errors.WriteError` for any other failure, leaving the
    target untouched and no temporary file behind.
    """
    import botocore.configloader
    import botocore.exceptions

    folder, base = os.path.split(path)
    tmp = os.path.join(folder, f".{base}.{uuid.uuid4().hex[:12]}{TMP_MARK}")
    mode = stat.S_IMODE(st.st_mode) if st is not None else FILE_MODE
    problem: str | None = None
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
                f.write(new)
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            raise WriteError(path=path, reason=exc.strerror or type(exc).__name__) from None
        try:
            after = botocore.configloader.raw_config_parse(tmp)
        except botocore.exceptions.ConfigParseError:
            # Its message quotes the line, which may hold the secret being written: no chaining.
            problem = "the edited file would not parse (an awswidget bug)"
        else:
            wrong = check(after)
            if wrong:
                problem = f"self-check failed: {wrong} (an awswidget bug)"
        if problem is not None:
            raise WriteError(path=path, reason=problem)
        now = _stat_regular(path)
        if (now is None) != (st is None):
            return None
        if now is not None and st is not None:
            # Timestamps can miss a same-size edit within one clock tick: compare the bytes too.
            if _stat_key(now) != _stat_key(st) or _read_bytes(path) != data:
                return None
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise WriteError(path=path, reason=exc.strerror or type(exc).__name__) from None
        tmp = ""
        _fsync_dir(folder)
        return after
    finally:
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


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
    parse of a fresh read, and edits the document in place (it may raise to
    refuse). It is called again on a fresh read when another program changed
    the file meanwhile. A file botocore cannot parse is never rewritten
    (:class:`~awswidget.errors.ConfigFileError`). Created files get mode 0600
    and a created folder 0700; existing files keep their mode and owner. A
    symlinked file is written through to its target, and the link is kept.

    ``snapshot`` is the caller's read of the file under the same lock: when the
    file is still exactly that version (identity and content), its parse is
    reused instead of parsing again.

    Raises
    ------
    ConfigFileError
        The file is not a regular file, cannot be read, or botocore cannot parse it.
    WriteError
        The lock, the temporary file or the replacement failed (disk full,
        read-only folder...); the file is unchanged.
    FileChangedError
        Another program changed the file on every one of ``max_attempts`` tries.
    """
    path = _expand(path)
    real = os.path.realpath(path)
    if not lock_held:
        _ensure_folder(os.path.dirname(real))  # a WriteError when a file stands where the folder should be
        _stat_regular(real)  # refuse a directory or a FIFO before creating a lock file beside it
        with locked([real], lock_timeout):
            return update_file(path, edit, lock_held=True, max_attempts=max_attempts, snapshot=snapshot)

    _sweep_temp_files(real)
    for _attempt in range(max_attempts):
        st = _stat_regular(real)
        if st is None:
            before: dict[str, Any] = {}
            data = b""
        else:
            data = _read_bytes(real)
            if snapshot is not None and _same_version(snapshot, st, data):
                before = snapshot.sections
            else:
                try:
                    before = _botocore_parse(real, data)
                except _Changed:
                    continue
        snapshot = None  # a retry always starts from a fresh parse
        try:
            doc = IniDocument(data.decode("utf-8"))
        except (UnicodeDecodeError, EditError):
            raise ConfigFileError(path, "awswidget cannot edit this file safely") from None
        try:
            edit(doc, before)
        except EditError as exc:
            raise WriteError(path=path, reason=str(exc)) from None
        new = doc.text().encode("utf-8")
        if new == data:
            return WriteResult(path, changed=False, created=False)
        after = write_atomic(real, st, data, new, lambda after, doc=doc, before=before: _check_result(doc, before, after))
        if after is None:
            # Another program (the AWS CLI takes no lock) changed it: start again from a fresh read.
            log.info("%s changed while being written; retrying on a fresh read", path)
            continue
        _remember_written(path, real, after, new)
        return WriteResult(path, changed=True, created=st is None)
    raise FileChangedError(path=path, attempts=max_attempts)


def permissive_mode_warning(path: str) -> str | None:
    """A warning when a credentials file is open to group or others (the target of a symlink counts)."""
    try:
        st = os.stat(_expand(path))
    except OSError:
        return None
    mode = stat.S_IMODE(st.st_mode)
    if stat.S_ISREG(st.st_mode) and mode & 0o077:
        what = "read" if mode & 0o044 else "changed"
        return f"{path} can be {what} by other users (mode {mode:04o}); run: chmod 600 {path}"
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
