"""Writing a shared file safely, even while another program rewrites it in place.

:func:`update_file` holds the folder's lock (:mod:`awswidget.filelocks`), reads
the file fresh, lets the caller edit a round-trip document, writes a temporary
file in the same folder (fsynced, re-parsed by botocore and checked against
the untouched sections), checks that nobody changed the target meanwhile
(identity and bytes), then :func:`os.replace`.

Other programs take no lock: ``aws configure set`` truncates the file, then
writes it again, in place. Three guards keep such a writer's data:

* **Before committing**, a file that looks mid-rewrite -- empty, unparseable,
  or changed in place since this process last saw that inode -- while it was
  modified in the last :data:`SETTLE` seconds is waited for until it has stayed
  unchanged that long, and read again (:mod:`awswidget.settle`). A write is
  never based on the empty instant of someone else's rewrite.
* **After the rename**, every inode this write's renames replaced is checked
  through a descriptor kept open since its read: if another program wrote into
  one meanwhile (its write would otherwise vanish with the unlinked inode), its
  final content is read back and the edit applied again on top of it; a write
  into our own earlier version, replaced by such a retry, is merged key by key
  (:mod:`awswidget._merge3`).
* **Shortly after**, the file is checked once more (:data:`GRACE`): a writer
  that read the old version before our rename and wrote it back after, in
  place, dropped our change; the edit is applied again on what it wrote.

Writes cost what they change. configparser's reading of a file restarts at
every unindented ``[header]`` line: such a line is always a header (only an
indented line can continue a value) and it resets the reader's whole state. So
when an edit says which sections it targets (``edit.targets``, a predicate on
headers, as :mod:`awswidget.store`'s edits do), and the file has no indented
``[`` line, no ``[DEFAULT]`` section (whose keys reach every section) and no
lone-CR line ending, the round-trip document is built from the few sections
around the target alone (:func:`_window`), and the self-check parses the
written window, proves the old window parses to exactly the part of the known
parse it replaces, refuses a header repeated outside the window, and splices
botocore's reading of the whole file from the untouched sections' known parse
(:class:`_Window`). The bytes read back from the temporary file must still be
exactly the bytes meant. Anything else takes the whole-file path.

Nothing per write walks the whole file in Python: the header layout of a text
this process wrote is derived from the edited window (:class:`_Layout`), the
targets are found by a substring search over the joined headers (an edit's
``needles``), the splice copies the known parse in C, and the self-check
compares the window's sections -- those outside it are the known parse's own
objects, placed by the proven split (comparing an object with itself proves
nothing). A whole-file read-back is still compared section by section.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from . import _fastini, _merge, _merge3, fileowner
from ._ini import EditError, IniDocument
from .errors import ChangedAfterSaveError, ConfigFileError, FileChangedError, WriteError
from .filelocks import locked
from .fileowner import FILE_MODE, TMP_MARK, ensure_folder, fsync_dir, owner_for_new, temp_files, temp_name
from .fileread import FileSnapshot, expand_path, read_bytes, remember_written, stat_key, stat_regular
from .settle import Version, changed_since, foreign_writer_seen, open_version, parse_data, settled_version

__all__ = ["TMP_MARK", "WriteResult", "refuse_read_only", "temp_files", "update_file", "write_atomic"]

log = logging.getLogger(__name__)

# Seconds after our rename during which an in-place writer that read the old version may still
# write it back; waited only for files another program has been seen rewriting in place.
GRACE = 0.05
# Files smaller than this (characters) are edited and re-checked whole: it costs next to nothing there.
WINDOW_MIN = 65536


@dataclass(frozen=True)
class WriteResult:
    """What :func:`update_file` did; ``old_data``/``new_data`` are the bytes replaced and written (for an undo).

    ``old_data`` is ``None`` when no bytes can undo the write (another program's change was merged into it).
    """

    path: str
    changed: bool
    created: bool
    old_data: bytes | None = field(default=b"", repr=False, compare=False)
    new_data: bytes = field(default=b"", repr=False, compare=False)


def _check_result(doc: IniDocument, before: dict[str, Any], after: dict[str, Any], window: _Window | None = None) -> str | None:
    """Why the re-parsed temp file is wrong, or None when it is exactly what we meant.

    When ``after`` is a ``window``'s read-back, the sections outside it are the known parse's own
    objects, spliced in by :meth:`_Window.read_back` after proving the split: only the window's
    sections are compared (comparing an object with itself proves nothing). A whole-file parse
    is compared section by section.
    """
    if window is not None and window.spliced is after:
        before = {h: before[h] for h in window.inside}
        after = {h: after[h] for h in window.written}
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


# An unindented "[...]" line is always a section header (configparser's SECTCRE on the stripped line);
# an indented line that starts with "[" (group 1 empty) may be a header or a value's continuation.
_HEADER_LINE = re.compile(r"^(?:\[([^\r\n]+)\]|[^\S\r\n]+\[)", re.M)


@dataclass
class _Layout:
    """What the window needs to know of one exact text: its header lines in order, and a few counts.

    Computed with one regular expression over the whole text (8 ms at 10,000 profiles) when the
    text is new to this process; after a windowed write, derived from the edited window alone
    (every line outside it is unchanged, and no line, hence no match, spans its edges).
    """

    data: bytes  # the text's bytes: a layout is reused only for exactly these
    headers: list[str]  # _HEADER_LINE.findall: "" for an indented "[" line
    defaults: int  # occurrences of "[DEFAULT]"
    cr: int
    crlf: int
    lf: int
    # The parse whose headers ``headers`` was found equal to (the window shortcut needs them equal).
    verified: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(cls, data: bytes, text: str) -> _Layout:
        return cls(data, _HEADER_LINE.findall(text), *_counts(text))

    def edited(self, window: _Window, edited: str, data: bytes, base: dict[str, Any] | None, after: dict[str, Any]) -> _Layout:
        """The layout of the text with ``window`` replaced by ``edited`` (whose bytes are ``data``).

        ``after`` is what was read back from ``data``: when it is the window's splice of ``base``, and
        this layout's headers are ``base``'s, the new one's are ``after``'s (noted, not compared again).
        """
        old = _counts(window.text[window.start : window.end])
        new = _counts(edited)
        defaults, cr, crlf, lf = (a - b + c for a, b, c in zip((self.defaults, self.cr, self.crlf, self.lf), old, new, strict=True))
        lo, hi = window.lo, window.hi
        found = _HEADER_LINE.findall(edited)
        layout = _Layout(data, self.headers[:lo] + found + self.headers[hi:], defaults, cr, crlf, lf)
        if self.verified is base and window.spliced is after and found == window.written:
            layout.verified = after
        return layout


def _counts(text: str) -> tuple[int, int, int, int]:
    return text.count("[DEFAULT]"), text.count("\r"), text.count("\r\n"), text.count("\n")


# The layout of the last version of each file this process read for a write or wrote (by real path).
_layouts: dict[str, _Layout] = {}


def _layout_of(real: str, data: bytes, text: str) -> _Layout:
    known = _layouts.get(real)
    if known is not None and (known.data is data or known.data == data):
        return known
    layout = _layouts[real] = _Layout.of(data, text)
    return layout


@dataclass
class _Window:
    """The part ``[start, end)`` of a file's text an edit may change, and what is known outside it."""

    text: str  # the whole file
    start: int
    end: int
    headers: list[str] = field(repr=False)  # every header of the file, in order
    lo: int  # headers[lo:hi] are the ones the window holds before the edit
    hi: int
    eol: str
    written: list[str] = field(default_factory=list)  # the headers the window holds after the edit (read back)
    spliced: dict[str, Any] | None = field(default=None, repr=False)  # what read_back returned

    # The three parts, as lists only when asked (copying 10,000 headers costs a pass over them all).
    @property
    def before(self) -> list[str]:
        return self.headers[: self.lo]

    @property
    def inside(self) -> list[str]:
        return self.headers[self.lo : self.hi]

    @property
    def after(self) -> list[str]:
        return self.headers[self.hi :]

    def read_back(self, base: dict[str, Any], new_window: str, path: str) -> dict[str, Any]:
        """botocore's parse of the edited file, from the window's parse and the untouched sections' known one.

        Raises ``ConfigParseError`` like a whole-file parse when the edited window cannot be read
        or repeats a header of the untouched part, and :class:`_fastini.Unsupported` when the old
        window does not parse to exactly the part of ``base`` it replaces (the split did not hold).
        ``base``'s headers are ``before + inside + after`` in that order (:func:`_window` checks it).
        """
        if self.end < len(self.text) and not new_window.endswith("\n"):
            raise _fastini.Unsupported("the window's last line would run into the next header")
        old = _fastini.parse(self.text[self.start : self.end].encode("utf-8"), path)
        if list(old) != self.inside or any(base.get(h) != v for h, v in old.items()):
            raise _fastini.Unsupported("the window does not read as the whole file's part")
        new = _fastini.parse(new_window.encode("utf-8"), path)
        inside = set(self.inside)
        if any(h in base and h not in inside for h in new):
            import botocore.exceptions

            raise botocore.exceptions.ConfigParseError(path=path, error="a section appears twice")
        self.written = list(new)
        # A window section that reads as it did is kept as the known parse's object, like the untouched
        # ones: the next reading's diff (awswidget._merge) then sees only what changed, by identity.
        new = {h: base[h] if h in old and old[h] == v else v for h, v in new.items()}
        self.spliced = self._spliced(base, new)
        return self.spliced

    def _spliced(self, base: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
        """``before`` + ``new`` + ``after`` of ``base``, copying ``base`` in C where the order allows it."""
        inside = self.inside
        at_end = self.hi == len(self.headers)
        kept = [h for h in inside if h in new]
        if at_end or kept == list(new):  # appended at the end, or edited and removed in place
            merged = base.copy()
            for header in inside:
                if header not in new:
                    del merged[header]
            if not at_end:
                merged.update(new)  # every header already in place
                return merged
            for header in kept:
                del merged[header]  # re-added below in the window's own order
            merged.update(new)
            return merged
        merged = dict(islice(base.items(), self.lo))
        merged.update(new)
        merged.update(islice(base.items(), self.hi, None))
        return merged


def _read_window(window: _Window, base: dict[str, Any], edited: str, path: str, _back: bytes) -> dict[str, Any]:
    return window.read_back(base, edited, path)


def _header_line(text: str, header: str, from_end: bool = False) -> int | None:
    """Where the one unindented line whose header is ``header`` starts (headers are unique here)."""
    needle = f"[{header}]"
    at = text.rfind(needle) if from_end else text.find(needle)
    while at >= 0:
        eol = text.find("\n", at)  # no lone CR here: every line ends with a LF
        eol = len(text) if eol < 0 else eol
        if (at == 0 or text[at - 1] in "\r\n") and "]" not in text[at + len(needle) : eol]:
            return at
        at = text.rfind(needle, 0, at) if from_end else text.find(needle, at + 1)
    return None


def _hits(headers: list[str], sections: dict[str, Any], edit: Any) -> list[int]:
    """The first and last places of the headers ``edit.targets`` matches (one of them, or none).

    An edit that names ``needles`` (every header it targets holds one of them) is asked about those
    headers only, found by a substring search over the joined headers (:func:`_merge.headers_with`).
    """
    needles = getattr(edit, "needles", None)
    found = _merge.headers_with(sections, needles, getattr(edit, "name", None)) if needles else None
    if found is None:
        hits = [i for i, h in enumerate(headers) if edit.targets(h)]
        return hits[:1] + hits[1:][-1:]
    matched = [h for _key, h in found if edit.targets(h)]
    return [headers.index(h) for h in matched[:1] + matched[1:][-1:]]


def _window(text: str, sections: dict[str, Any], edit: Any, layout: _Layout | None = None) -> _Window | None:
    """The few sections around the ones ``edit.targets`` matches (a set's last match, or the end of the
    file for a new section; a removal's every match), or ``None``: edit the whole file."""
    targets = getattr(edit, "targets", None)
    if targets is None or len(text) < WINDOW_MIN:
        return None
    if layout is None:
        layout = _Layout.of(text.encode("utf-8"), text)
    if layout.defaults or layout.cr != layout.crlf:
        return None
    headers = layout.headers
    if layout.verified is not sections:
        if headers != list(sections):  # an indented "[" line ("") or a reading we do not know: no shortcut
            return None
        layout.verified = sections
    hits = _hits(headers, sections, edit)
    if getattr(edit, "all_matches", False):
        if not hits:
            return None
        first, last = hits[0], hits[-1]
    else:
        first = last = hits[-1] if hits else len(headers) - 1
    # One section more on each side: edits look at the line before and after what they change.
    lo, hi = max(first - 1, 0), last + 2
    late = lo * 2 > len(headers)  # search from the nearer end of the file
    start = _header_line(text, headers[lo], late) if lo > 0 else 0
    end = _header_line(text, headers[hi], late) if hi < len(headers) else len(text)
    if start is None or end is None or start > end:
        return None
    # New lines follow the whole file's convention, as IniDocument picks it (no lone CR here; a tie is LF).
    eol = "\r\n" if layout.crlf * 2 > layout.lf else "\n"
    return _Window(text, start, end, headers, lo, min(hi, len(headers)), eol)


def refuse_read_only(path: str, st: os.stat_result | None) -> None:
    """A file its owner made read-only (``chmod 400``) is never replaced, not even by root."""
    if st is None:
        return
    mode = stat.S_IMODE(st.st_mode)
    if not mode & stat.S_IWUSR or (os.geteuid() != 0 and not os.access(path, os.W_OK)):
        raise WriteError(
            path=path,
            reason=f"it is read-only (mode {mode:04o}), so awswidget does not replace it; "
            f"make it writable first (chmod u+w {path}) if it should change",
        )


def write_atomic(
    path: str,
    st: os.stat_result | None,
    data: bytes,
    new: bytes,
    check: Callable[[dict[str, Any]], str | None],
    read_back: Callable[[bytes], dict[str, Any]] | None = None,
) -> dict[str, Any] | None:
    """Replace ``path`` (a resolved real path, its lock held) by ``new``, atomically.

    ``st`` and ``data`` are the version the change was computed from (``None``
    and ``b""`` for a file that did not exist). The temporary file in the same
    folder gets the old mode (0600 when created) and owner (a file root creates
    goes to the folder's owner), is fsynced, re-parsed by botocore and passed
    to ``check`` (which returns why it is wrong, or ``None``). Returns
    botocore's parse of what was written, or ``None``, writing nothing, when
    the target no longer is that version (another program changed it); raises
    :class:`~awswidget.errors.WriteError` for any other failure -- a read-only
    target included -- leaving the target untouched and no temporary file behind.
    ``read_back(bytes)`` is botocore's parse of the bytes read back when they are
    exactly ``new`` (the windowed self-check); it may raise ``Unsupported``.
    """
    import botocore.configloader
    import botocore.exceptions

    refuse_read_only(path, st)
    folder = os.path.dirname(path)
    tmp = temp_name(path)
    mode = stat.S_IMODE(st.st_mode) if st is not None else FILE_MODE
    owner = owner_for_new(folder, st)
    problem: str | None = None
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except OSError as exc:
        raise WriteError(path=path, reason=f"cannot create a temporary file in {folder} ({exc.strerror})") from None
    try:
        try:
            with os.fdopen(fd, "wb") as f:
                os.fchmod(f.fileno(), mode)
                if owner is not None:
                    # root editing someone's file must not take it over
                    os.fchown(f.fileno(), *owner)
                f.write(new)
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            raise WriteError(path=path, reason=exc.strerror or type(exc).__name__) from None
        try:
            try:  # the bytes on disk, read back and parsed as botocore parses them
                back = read_bytes(tmp)
                try:
                    if read_back is None or back != new:
                        raise _fastini.Unsupported("a whole-file parse")
                    after = read_back(back)
                except _fastini.Unsupported:
                    after = _fastini.parse(back, tmp)
            except _fastini.Unsupported:
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
        now = stat_regular(path)
        if (now is None) != (st is None):
            return None
        if now is not None and st is not None:
            # Timestamps can miss a same-size edit within one clock tick: compare the bytes too.
            if stat_key(now) != stat_key(st) or read_bytes(path) != data:
                return None
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise WriteError(path=path, reason=exc.strerror or type(exc).__name__) from None
        tmp = ""
        fsync_dir(folder)
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
    version: Version | None = None,
) -> WriteResult:
    """Apply ``edit`` to a shared file safely.

    ``edit(doc, sections)`` receives the round-trip document and botocore's
    parse of a fresh read, and edits the document in place (it may raise to
    refuse). It is called again on a fresh read when another program changed
    the file meanwhile, so it must be idempotent (set or remove). A file
    botocore cannot parse is never rewritten
    (:class:`~awswidget.errors.ConfigFileError`), nor a read-only one
    (:class:`~awswidget.errors.WriteError`). Created files get mode 0600 and a
    created folder 0700; existing files keep their mode and owner. A symlinked
    file is written through to its target, and the link is kept.

    ``snapshot`` is the caller's read of the file under the same lock: when the
    file is still exactly that version (identity and content), its parse is
    reused instead of parsing again. ``version`` is the caller's settled read
    under the same lock (:func:`awswidget.settle.settled_version`, handed over:
    it is closed here), used as the first base instead of reading again; the
    rename still happens only if the file is exactly that version.

    Raises
    ------
    ConfigFileError
        The file is not a regular file, cannot be read, or botocore cannot parse it.
    WriteError
        The lock, the temporary file or the replacement failed (disk full,
        read-only folder or file...); the file is unchanged.
    FileChangedError
        Another program changed the file on every one of ``max_attempts`` tries.
    """
    path = expand_path(path)
    real = os.path.realpath(path)
    if not lock_held:
        ensure_folder(os.path.dirname(real))  # a WriteError when a file stands where the folder should be
        stat_regular(real)  # refuse a directory or a FIFO before locking
        with locked([real], lock_timeout):
            return update_file(path, edit, lock_held=True, max_attempts=max_attempts, snapshot=snapshot, version=version)

    fileowner.sweep_temp_files(real)
    base = version if version is not None and version.sections is not None else settled_version(real, path, snapshot)
    target: Version | None = None  # what the file must be at the rename, when it is not ``base``
    opened = [base]  # every version read here: their descriptors are closed on the way out
    watched: list[Version] = []  # every inode our renames replaced, with the content already taken into account
    theirs: list[_merge3.TheirChange] = []  # other programs' writes into versions of ours replaced since
    created = base.st is None
    changed = False
    old_data = base.data
    new = b""
    try:
        for _attempt in range(max_attempts):
            assert base.sections is not None
            sections = base.sections
            try:
                text = base.data.decode("utf-8")
                layout = _layout_of(real, base.data, text) if getattr(edit, "targets", None) and len(text) >= WINDOW_MIN else None
                window = None if theirs else _window(text, sections, edit, layout)  # their changes may be anywhere
                doc = IniDocument(text if window is None else text[window.start : window.end])
            except (UnicodeDecodeError, EditError):
                raise ConfigFileError(path, "awswidget cannot edit this file safely") from None
            read_back = None
            if window is not None:
                doc.eol = window.eol
            if theirs and not _merge3.apply(doc, theirs, sections):
                log.warning("another program's write into a replaced version of %s cannot be merged; kept our newest version", path)
                break
            try:
                if theirs:  # then the edit again, as on every retry: on the keys it sets, ours wins
                    _merge3.step(doc, sections, edit, sections)
                else:
                    edit(doc, sections)
            except EditError as exc:
                raise WriteError(path=path, reason=str(exc)) from None
            if window is None:
                new = doc.text().encode("utf-8")
            else:
                edited = doc.text()
                if len(text) == len(base.data):  # ASCII: the window's offsets are byte offsets, spliced in one copy
                    view = memoryview(base.data)
                    new = b"".join((view[: window.start], edited.encode("utf-8"), view[window.end :]))
                else:
                    new = (text[: window.start] + edited + text[window.end :]).encode("utf-8")
                read_back = functools.partial(_read_window, window, sections, edited, real)
            expect = target or base
            if new == expect.data:
                break  # nothing to change, or the file already says what we meant
            check = functools.partial(_check_result, doc, sections, window=window)
            after = write_atomic(real, expect.st, expect.data, new, check, read_back)
            if after is None:
                # Another program (the AWS CLI takes no lock) changed it: start again from a fresh read.
                log.info("%s changed while being written; retrying on a fresh read", path)
                base, target = _fresh(real, path, opened), None
                continue
            old_data = base.data  # what the file held but for our change (for an undo)
            changed = True
            remember_written(path, real, after, new)
            if window is not None and window.spliced is after:
                following = window.headers[window.hi] if window.hi < len(window.headers) else None
                _merge.spliced(sections, after, window.inside, window.written, following)
            if window is not None and layout is not None and (window.end == len(text) or edited.endswith("\n")):
                _layouts[real] = layout.edited(window, edited, new, sections, after)  # no line spans its edges
            written = open_version(real)
            opened.append(written)
            written.sections = after if written.data == new else None
            if all(v is not expect for v in watched):
                watched.append(expect)  # the inode this rename replaced: watched as long as we write
            if foreign_writer_seen(real):
                # A file another program rewrites in place: it may still write into an inode we replaced,
                # or write the old version it read back over ours, a moment after our rename.
                time.sleep(GRACE)
            late_base, merged = _merge3.late_writes(path, watched, base, after, theirs, functools.partial(_look, real, path, opened))
            if late_base is not None or merged:
                if written.sections is None:  # someone's write over ours, maybe half-written when read back
                    written = _over_ours(real, path, opened, written, new, after, theirs)
                base, target = late_base or base, written
                continue
            if written.data != new:
                base, target = _fresh(real, path, opened), None
                continue
            if foreign_writer_seen(real) and (late := changed_since(written, real)) is not None:
                opened.append(late)
                log.info("another program rewrote %s right after our write; applying the edit again", path)
                base, target = _fresh(real, path, opened), None
                continue
            break
        else:
            # After a rename of ours, "nothing was overwritten" would be untrue: our change is in the file.
            raise (ChangedAfterSaveError if changed else FileChangedError)(path=path, attempts=max_attempts)
    finally:
        for v in opened:
            v.close()
    # After a key-level merge, base's bytes lack the other program's merged change: putting them back would lose it.
    undo = None if theirs else old_data
    return WriteResult(path, changed=changed, created=created and changed, old_data=undo, new_data=new if changed else b"")


def _over_ours(real: str, path: str, opened: list[Version], written: Version, new: bytes, after: dict[str, Any],
               theirs: list[_merge3.TheirChange]) -> Version:
    """The file once settled (never a half-written one), when another program rewrote our new file in place
    before we read it back while a late write is merged: its change is merged too (:func:`_merge3.over_ours`),
    or the retry would rename over it. ``written`` (parsed when it can be) when it cannot be read settled."""
    with contextlib.suppress(ConfigFileError, FileChangedError):  # else the retry's own checks refuse it
        current = _fresh(real, path, opened)
        _merge3.over_ours(path, new, after, current, theirs)
        return current
    _parsed(real, path, written)
    return written


def _fresh(real: str, path: str, opened: list[Version]) -> Version:
    version = settled_version(real, path)
    opened.append(version)
    return version


def _parsed(real: str, path: str, version: Version) -> bool:
    """Give ``version`` (read from an inode that may have no name) botocore's parse; ``False`` when unreadable."""
    try:
        version.sections = parse_data(real, path, version.data)
    except ConfigFileError:
        # What it wrote cannot be read: there is nothing to merge; ours stays.
        log.warning("another program wrote an unreadable version of %s during our write; kept ours", path)
        return False
    return True


def _look(real: str, path: str, opened: list[Version], old: Version) -> Version | None:
    """What another program wrote into the inode of ``old`` since (with its parse, or None), or None."""
    late = changed_since(old, real)
    if late is not None:
        opened.append(late)
        _parsed(real, path, late)
    return late
