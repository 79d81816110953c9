"""A fast reader of the shared AWS files, equal to botocore's own.

:func:`parse` returns exactly what ``botocore.configloader.raw_config_parse``
returns for a file holding the given bytes, and raises exactly where it raises
(``botocore.exceptions.ConfigParseError`` around the same configparser error,
same line number); :func:`profile_map` returns exactly what
``build_profile_map`` returns. botocore reads through
``configparser.RawConfigParser`` (no inline comments, ``=`` and ``:``
delimiters, strict duplicates, blank lines kept inside values, a special
``[DEFAULT]`` section whose keys every other section inherits), so this is a
line-for-line replay of ``RawConfigParser._read`` without its per-line
regular expressions, per-option lists and the deep copy of the profile map.

It is a guard, never a guess: where the code it replays may differ from the
code installed (another botocore or configparser, a locale that does not read
UTF-8), or where botocore's answer depends on how its file object chunks the
bytes, it raises :class:`Unsupported` and the caller asks botocore itself.
tests/test_fastini.py proves the equality against botocore as the oracle.
"""

from __future__ import annotations

import codecs
import configparser
import hashlib
import locale
import re
import threading
from itertools import chain
from typing import Any

__all__ = ["Unsupported", "parse", "profile_map"]

# sha256 of the sources replayed here (see _fingerprint); a new botocore or Python whose code differs makes every
# call Unsupported until tests/test_fastini.py has been run against it and the new value recorded.
BOTOCORE_VERIFIED = frozenset({"079fa55c64a410453cef04aacff5ee7102143aed88a723e051657b679dba36e2"})  # 1.43.11
STDLIB_VERIFIED = frozenset({
    "d87e5853a4979a6a74ea687b2858c1d203c626a75132ede0a8a49720ab44f410",  # CPython 3.10, 3.11
    "d359fd905d14faadbb06ec21f0dad4d9764a014c2a7b004f8519bab926989205",  # CPython 3.12 (shlex.split(None) raises)
})

_NESTED_ERROR = "not enough values to unpack (expected 2, got 1)"  # what `key, value = line.split("=", 1)` says
# Without quotes and backslashes, shlex.split is a split on its whitespace: then a header is two words or not.
_SHLEX_SPECIAL = re.compile(r"[\"'\\]").search
_TWO_WORDS = re.compile(r"[ \t\r\n]*([^ \t\r\n\"'\\]+)[ \t\r\n]+([^ \t\r\n\"'\\]+)[ \t\r\n]*").fullmatch
# The common header, "profile x" (or "sso-session x", "services x"): its kind and name in one match.
_PLAIN_HEADER = re.compile(r"(profile|sso-session|services)[^ \t\r\n\"'\\]*[ \t\r\n]+([^ \t\r\n\"'\\]+)[ \t\r\n]*").fullmatch


# The last parses made here, with the ids of their sections that hold a nested dict. Their shape is the
# plain one by construction (a parse is never changed once made: it is shared), so profile_map copies them
# without walking 50,000 values to check it (a third of the table's build at 10,000 profiles; issue 17).
# Two: a config file and a credentials file; an older parse is checked as any other structure is.
_made: list[tuple[dict[str, dict[str, Any]], set[str] | None]] = []
_made_lock = threading.Lock()


class Unsupported(Exception):
    """This input or this environment is not one the fast reader is proven on: ask botocore."""


def _botocore_source() -> str:
    """The code of botocore's reader that :func:`parse` and :func:`profile_map` replay."""
    import inspect

    import botocore.configloader as cl

    return "\0".join(inspect.getsource(f) for f in (cl.raw_config_parse, cl._parse_nested, cl.build_profile_map, cl._parse_section))


def _stdlib_source() -> str:
    """The code of configparser (and shlex.split) that botocore's reader runs, with the settings it uses."""
    import inspect
    import shlex

    raw: Any = configparser.RawConfigParser  # private attributes: typeshed does not list them
    code = [inspect.getsource(f) for f in (raw.read, raw._read, raw._handle_error, raw._join_multiline_values,
                                           raw.sections, raw.options, raw.get, raw._unify_values, raw.optionxform,
                                           configparser.Interpolation.before_get, configparser.Interpolation.before_read,
                                           shlex.split, shlex.shlex.read_token)]
    init: Any = raw.__init__
    settings = [init.__defaults__[:2], *(init.__kwdefaults__[k] for k in ("delimiters", "comment_prefixes",
                "inline_comment_prefixes", "strict", "empty_lines_in_values", "default_section"))]
    code += [raw._SECT_TMPL, raw._OPT_TMPL, raw.NONSPACECRE.pattern, configparser.DEFAULTSECT,
             type(raw._DEFAULT_INTERPOLATION).__name__, repr(settings)]
    return "\0".join(code)


def _replayed() -> list[Any]:
    """The functions whose code :func:`_botocore_source` and :func:`_stdlib_source` read."""
    import shlex

    import botocore.configloader as cl

    raw: Any = configparser.RawConfigParser
    return [cl.raw_config_parse, cl._parse_nested, cl.build_profile_map, cl._parse_section, raw.read, raw._read,
            raw._handle_error, raw._join_multiline_values, raw.sections, raw.options, raw.get, raw._unify_values,
            raw.optionxform, configparser.Interpolation.before_get, configparser.Interpolation.before_read,
            shlex.split, shlex.shlex.read_token, raw.__init__]


def _code_digest() -> str:
    """sha256 of the compiled code of every replayed function (constants, names, defaults), and the settings.

    Computed in a millisecond, where reading the sources costs ten: it stands for the source fingerprints it
    was recorded with (CODE_FINGERPRINTS). Line numbers are left out; what a repr shows differently in each
    process (a frozenset's order, an object's address) is hashed by content or by type.
    """
    import types

    digest = hashlib.sha256()

    def add(value: Any) -> None:
        if isinstance(value, types.CodeType):
            digest.update(value.co_code + getattr(value, "co_exceptiontable", b""))
            digest.update(repr((value.co_names, value.co_varnames, value.co_freevars, value.co_cellvars, value.co_flags,
                                value.co_argcount, value.co_posonlyargcount, value.co_kwonlyargcount)).encode())
            for const in value.co_consts:
                add(const)
        elif isinstance(value, (tuple, list)):
            digest.update(b"(")
            for item in value:
                add(item)
            digest.update(b")")
        elif isinstance(value, dict):
            add(sorted(value.items(), key=repr))
        elif isinstance(value, frozenset):
            digest.update(repr(sorted(map(repr, value))).encode())
        elif value is None or isinstance(value, (str, bytes, int, float, complex, type(...))):
            digest.update(repr(value).encode())
        else:  # a sentinel object() or a class: its repr holds an address, its type is what counts
            digest.update(f"<{type(value).__qualname__} {getattr(value, '__qualname__', '')}>".encode())

    for function in _replayed():
        add(function.__code__)
        add((function.__defaults__, function.__kwdefaults__))
    raw: Any = configparser.RawConfigParser
    add((raw._SECT_TMPL, raw._OPT_TMPL, raw.NONSPACECRE.pattern, configparser.DEFAULTSECT, type(raw._DEFAULT_INTERPOLATION).__name__))
    return digest.hexdigest()


# _code_digest() -> the (botocore, stdlib) source fingerprints it was recorded with, on the same code.
CODE_FINGERPRINTS = {
    "72dea4040575cfd9c6b498214490eeba2615d530a1181e477603498bc61f2f0a": (  # CPython 3.11, botocore 1.43.117
        "079fa55c64a410453cef04aacff5ee7102143aed88a723e051657b679dba36e2",
        "d87e5853a4979a6a74ea687b2858c1d203c626a75132ede0a8a49720ab44f410",
    ),
}


# The objects the last fingerprint was computed from, held (so no id is reused) and compared by identity at
# every parse: a reader patched after the first parse (a function, its code, a class attribute) is a new object.
_last: list[Any] = [(), ("", "")]


def _watched() -> tuple[Any, ...]:
    raw: Any = configparser.RawConfigParser
    functions = _replayed()
    return (*functions, *(f.__code__ for f in functions), *(f.__defaults__ for f in functions),
            *(f.__kwdefaults__ for f in functions),
            *(getattr(raw, name, None) for name in ("SECTCRE", "OPTCRE", "OPTCRE_NV", "NONSPACECRE", "_SECT_TMPL",
                                                     "_OPT_TMPL", "_OPT_NV_TMPL", "_DEFAULT_INTERPOLATION")))


def _fingerprint() -> tuple[str, str]:
    try:
        now = _watched()
    except (ImportError, AttributeError):
        return "", ""
    seen, known = tuple(_last)
    if len(now) == len(seen) and all(a is b for a, b in zip(now, seen, strict=True)):
        return known  # type: ignore[no-any-return]
    result = _computed_fingerprint()
    _last[:] = [now, result]  # one assignment: a thread reading meanwhile sees the old pair or the new one
    return result


def _computed_fingerprint() -> tuple[str, str]:
    raw: Any = configparser.RawConfigParser
    # The class's compiled patterns must be the ones configparser compiles from its templates (they are not hashed).
    patterns = ((raw.SECTCRE, raw._SECT_TMPL), (raw.OPTCRE, raw._OPT_TMPL.format(delim="=|:")),
                (raw.OPTCRE_NV, raw._OPT_NV_TMPL.format(delim="=|:")))
    if any(not isinstance(p, re.Pattern) or p.pattern != t or p.flags != re.compile(t, re.VERBOSE).flags for p, t in patterns):
        return "", ""
    try:
        known = CODE_FINGERPRINTS.get(_code_digest())
    except (ImportError, AttributeError, TypeError):
        known = None
    if known is not None:
        return known
    try:
        boto, std = _botocore_source(), _stdlib_source()
    except (ImportError, AttributeError, OSError, TypeError, KeyError):  # code moved or renamed, no source
        return "", ""
    return hashlib.sha256(boto.encode()).hexdigest(), hashlib.sha256(std.encode()).hexdigest()


def _check_environment() -> None:
    boto, std = _fingerprint()
    if boto not in BOTOCORE_VERIFIED or std not in STDLIB_VERIFIED:
        raise Unsupported("botocore's or configparser's reader is not the verified one")
    # configparser opens the file with the locale's encoding (io.text_encoding(None)); decoding UTF-8 is ours.
    if codecs.lookup(locale.getpreferredencoding(False)).name != "utf-8":
        raise Unsupported("open() would not decode the file as UTF-8")


def _lines(text: str) -> tuple[list[str], bool]:
    """The lines open() yields (universal newlines), without their '\\n'; and whether the last one had it."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    ended = lines[-1] == ""
    if ended:
        lines.pop()
    return lines, ended


def _read(lines: list[str], ended: bool, path: str) -> tuple[dict[str, dict[str, Any]], dict[str, Any], list[Any]]:
    """RawConfigParser._read: the sections, the DEFAULT section, and the values continued on later lines.

    A value is its stripped text, or the list of its lines when it is continued (that list is then
    also in the third result, to be joined): configparser makes a list of every value, then joins.
    """
    sections: dict[str, dict[str, Any]] = {}
    defaults: dict[str, Any] = {}
    continued: list[tuple[dict[str, Any], str, Any]] = []  # (options, key, section name)
    cursect: dict[str, Any] | None = None
    sectname: Any = None
    optname: str | None = None
    indent_level = 0
    blanks = 0  # blank lines since the current option's last line: they count only if a continuation follows
    errors: list[tuple[int, str]] = []
    for lineno, line in enumerate(lines, 1):
        value = line.strip()
        if not value:
            blanks += 1
            continue
        first = value[0]
        if first == "#" or first == ";":  # a comment line keeps the value open, but adds nothing to it
            continue
        # strip() returns the line itself when there is nothing to strip (the common case): no indent then.
        indent = 0 if value is line else len(line) - len(line.lstrip())
        if optname and indent > indent_level and cursect is not None:
            values = cursect[optname]
            if type(values) is str:
                values = cursect[optname] = [values]
                continued.append((cursect, optname, sectname))
            if blanks:
                values += [""] * blanks
                blanks = 0
            values.append(value)
            continue
        indent_level = indent
        end = value.rfind("]") if first == "[" else -1
        if end >= 2:  # SECTCRE: "[", at least one character, up to the last "]"
            sectname, optname, blanks = value[1:end], None, 0
            if sectname in sections:
                raise configparser.DuplicateSectionError(sectname, path, lineno)
            if sectname == configparser.DEFAULTSECT:
                cursect = defaults  # may appear again: only its keys are checked for duplicates
            else:
                cursect = sections[sectname] = {}
            continue
        if cursect is None:
            raise configparser.MissingSectionHeaderError(path, lineno, _raw(lines, lineno, ended))
        key, sep, rest = value.partition("=")
        if not sep or ":" in key:  # the first delimiter is a ':'
            key, sep, rest = value.partition(":")
            if not sep:  # not an option: noted, and parsing goes on (optname stays, as in configparser)
                errors.append((lineno, repr(_raw(lines, lineno, ended))))
                continue
        if not key:
            errors.append((lineno, repr(_raw(lines, lineno, ended))))
        optname = key.rstrip().lower()
        if not optname.isascii() and optname.lower() != optname:
            # configparser lowers the key again to look it up (cp.get): that must find the same key.
            raise Unsupported("a key whose lower case is not stable")
        if optname in cursect:
            raise configparser.DuplicateOptionError(sectname, optname, path, lineno)
        cursect[optname] = rest.strip()
        blanks = 0
    if errors:
        error = configparser.ParsingError(path)
        for lineno, text in errors:
            error.append(lineno, text)
        raise error
    return sections, defaults, continued


def _raw(lines: list[str], lineno: int, ended: bool) -> str:
    """The line as open() yields it, for messages."""
    return lines[lineno - 1] + "\n" if ended or lineno < len(lines) else lines[lineno - 1]


def _nested(value: str) -> dict[str, str]:
    """botocore's _parse_nested (it splits with str.splitlines, and only on '=')."""
    parsed = {}
    for line in value.splitlines():
        line = line.strip()
        if not line:
            continue
        key, sep, rest = line.partition("=")
        if not sep:
            raise ValueError(_NESTED_ERROR)
        parsed[key.strip()] = rest.strip()
    return parsed


def parse(data: bytes, path: str) -> dict[str, dict[str, Any]]:
    """Exactly ``botocore.configloader.raw_config_parse(path)`` for a file at ``path`` holding ``data``.

    ``path`` is the expanded path botocore would open; it appears only in error messages.
    Raises ``botocore.exceptions.ConfigParseError`` wherever botocore does (its ``error``
    keyword is the same kind of configparser error, with the same line number), or
    :class:`Unsupported` where the answer is not proven equal to botocore's.
    """
    _check_environment()
    try:
        return _parse(data, path)
    except (configparser.Error, ValueError) as exc:  # UnicodeDecodeError is a ValueError too
        import botocore.exceptions

        raise botocore.exceptions.ConfigParseError(path=path, error=exc) from None


def _parse(data: bytes, path: str) -> dict[str, dict[str, Any]]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # botocore decodes in chunks as it reads: it meets this error unless a line before it already
        # raised (a missing header, a duplicate), and which comes first then depends on the chunking.
        head, ended = _lines(data[: exc.start].decode("utf-8"))
        if not ended and head:
            head.pop()  # the start of the line the bad bytes are on: never read as a line
        try:
            _read(head, True, path)
        except configparser.Error as early:
            # Lines it cannot read are reported at the end of the file, after this error; but a missing
            # header (a ParsingError too) or a duplicate stops reading at once.
            if type(early) is not configparser.ParsingError:
                raise Unsupported("an earlier line may fail first, depending on read chunks") from None
        raise
    sections, defaults, continued = _read(*_lines(text), path)
    nested: set[str] = set()  # the sections holding a nested dict
    every = False  # a nested DEFAULT value: perhaps every section
    for options, key, name in continued:
        options[key] = value = "\n".join(options[key]).rstrip()
        if value[:1] == "\n" and options is not defaults:  # an indented block: one level of nesting
            options[key] = _nested(value)
            nested.add(name)
    for section in sections.values() if defaults else ():
        for key, value in defaults.items():  # cp.options(): the section's keys, then DEFAULT's others
            if key not in section:
                section[key] = _nested(value) if value[:1] == "\n" else value
                every = every or value[:1] == "\n"
    with _made_lock:
        _made[:] = [*_made[-1:], (sections, None if every else nested)]
    return sections


def _copied(parsed: Any) -> list[tuple[str, dict[str, Any]]] | None:
    """``copy.deepcopy(parsed).items()`` for the plain shape :func:`parse` returns, else None.

    Plain: str section names to dicts of str keys to str values or dicts of str; no dict in two places
    (deepcopy would keep the sharing, a copy per place would not). Checked with whole-file type sets.
    """
    if type(parsed) is not dict:
        return None
    with _made_lock:
        made = [nested for known, nested in _made if known is parsed]
    if made:  # made by parse(): plain, nothing shared; only the nested dicts need a copy of their own
        fresh = dict(zip(parsed, map(dict.copy, parsed.values()), strict=True))
        for name in parsed if made[0] is None else made[0]:
            section = fresh[name]
            section.update([(key, value.copy()) for key, value in section.items() if type(value) is dict])
        return list(fresh.items())
    sections = list(parsed.values())
    values = set(map(type, chain.from_iterable(map(dict.values, sections)))) if set(map(type, sections)) <= {dict} else {None}
    if values - {str, dict} or set(map(type, chain(parsed, chain.from_iterable(sections)))) - {str}:
        return None
    copies = list(map(dict.copy, sections))
    seen = set(map(id, sections))
    if len(seen) != len(sections):
        return None
    for section in (s for s in copies if dict in map(type, s.values())) if dict in values else ():
        for key, value in section.items():
            if type(value) is dict:
                if id(value) in seen or set(map(type, chain(value, value.values()))) - {str}:
                    return None
                seen.add(id(value))
                section[key] = value.copy()
    return list(zip(parsed, copies, strict=True))


def _name(header: str) -> str | None:
    """The second word of ``profile x``, as botocore's _parse_section finds it (shlex), or None."""
    two = _TWO_WORDS(header)
    if two:
        return two.group(2)
    if not _SHLEX_SPECIAL(header):
        return None
    import shlex

    try:
        parts = shlex.split(header)
    except ValueError:  # an unclosed quote
        return None
    return parts[1] if len(parts) == 2 else None


def plain_header(header: str) -> tuple[str, str] | None:
    """``(kind, name)`` of a plain header ("profile x", "sso-session x", "services x"), as :func:`profile_map` files it; else None."""
    plain = _PLAIN_HEADER(header)
    return None if plain is None else (plain.group(1), plain.group(2))


def profile_map(parsed: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Exactly ``botocore.configloader.build_profile_map(parsed)``: a new structure sharing nothing with ``parsed``.

    ``{"profiles": {...}, "sso_sessions": {...}, "services": {...}}`` after the other sections. Anything but the
    plain shape :func:`parse` returns (other types, a dict shared by two sections) is handed to botocore itself.
    """
    items = _copied(parsed)
    if items is None:
        from botocore.configloader import build_profile_map

        return build_profile_map(parsed)  # type: ignore[no-any-return]
    profiles: dict[str, Any] = {}
    sso_sessions: dict[str, Any] = {}
    services: dict[str, Any] = {}
    final: dict[str, Any] = {}
    kinds = {"profile": profiles, "sso-session": sso_sessions, "services": services}
    for key, values in items:
        plain = _PLAIN_HEADER(key)
        if plain:
            kinds[plain.group(1)][plain.group(2)] = values
            continue
        if key.startswith("profile"):
            target = profiles
        elif key.startswith("sso-session"):
            target = sso_sessions
        elif key.startswith("services"):
            target = services
        else:
            # [default] is a profile without the "profile " prefix; a [profile default] after it wins.
            (profiles if key == "default" else final)[key] = values
            continue
        name = _name(key)
        if name is not None:
            target[name] = values
    final["profiles"] = profiles
    final["sso_sessions"] = sso_sessions
    final["services"] = services
    return final
