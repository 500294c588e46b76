"""Where a command's output goes: standard output, or a file written whole or not at all.

Every command that writes a report or a generated file (`-o/--output FILE`) goes through this
module: the target is checked before any work (`-` is standard output; a directory, a missing
folder, or any of the command's own input files, however spelled, is refused), the format may
follow the file's suffix, and the text is written to a temporary file in the same folder and
renamed over the target (`os.replace`), so a failure half-way leaves the old file as it was.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import IO

from convcalc.errors import SpecError
from convcalc.numbers import decimal_text
from convcalc.render.formats import Format

STDOUT = "-"
OPTION = "-o/--output"

SUFFIXES: dict[str, Format] = {
    ".html": Format.html, ".htm": Format.html, ".tex": Format.latex, ".md": Format.markdown,
    ".markdown": Format.markdown, ".csv": Format.csv, ".json": Format.json,
    ".mmd": Format.mermaid, ".mermaid": Format.mermaid, ".dot": Format.dot, ".gv": Format.dot,
    ".txt": Format.table,
}
"""The format a file's suffix names (any case), used when --format is not given."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where to write: `path` None is standard output. `option` is what the user typed, for
    messages."""

    path: str | None = None
    option: str = OPTION

    @property
    def is_stdout(self) -> bool:
        return self.path is None


def _shown(path: str) -> str:
    """A path for a message: as typed, its control characters escaped (one line, no escape
    sequence reaches the terminal)."""
    return re.sub(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069]",
                  lambda m: repr(m.group())[1:-1], path)


def _fail(target: str, what: str, option: str = OPTION) -> SpecError:
    return SpecError(f"option {option}: {_shown(target)}: {what}")


def _same(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def _same_as_stdin(path: str) -> bool:
    """Whether `path` is the file standard input reads (`convcalc net - -o s.yaml < s.yaml`)."""
    try:
        here, there = os.fstat(0), os.stat(path)
    except (OSError, ValueError):
        return False
    return stat.S_ISREG(here.st_mode) and (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def check_target(path: str | None, inputs: Iterable[str | os.PathLike[str] | None] = (), *,
                 option: str = OPTION) -> Target:
    """The output target, checked before any work: `None` or `-` is standard output; a file
    must be in an existing folder, must not be a folder, and must not be any of `inputs` (the
    same file by inode, however it is spelled: `./s.yaml`, a symlink, a hard link). Raises
    SpecError naming the option."""
    if path is None or path == STDOUT:
        return Target(None, option)
    if not path:
        raise SpecError(f"option {option}: '' is not a file name (give a path, or - for "
                        "standard output)")
    if "\x00" in path:
        raise _fail(path, "not a file name", option)
    for source in inputs:
        if source is not None and str(source) == STDOUT and _same_as_stdin(path):
            raise _fail(path, "is standard input of this command; write the output to another "
                        "file", option)
        if source is not None and str(source) != STDOUT and _same(path, os.fspath(source)):
            raise _fail(path, f"is an input of this command ({_shown(os.fspath(source))}); "
                        "write the output to another file", option)
    real = Path(os.path.realpath(path))
    if real.is_dir():
        raise _fail(path, "is a directory; name a file in it", option)
    folder = real.parent
    if not folder.is_dir():
        where = os.path.dirname(path) or "."
        raise _fail(path, f"no such directory {_shown(where)}", option)
    if real.exists() and not real.is_file():
        return Target(path, option)  # a device or a pipe (/dev/null, /dev/stdout): written as is
    if not os.access(folder, os.W_OK | os.X_OK):
        raise _fail(path, f"cannot write in {_shown(str(folder))}: permission denied", option)
    return Target(path, option)


def format_for(given: Format | None, target: Target, default: Format = Format.table,
               warn: Callable[[str], None] | None = None) -> Format:
    """The format to write: --format when given, else the one the file's suffix names, else
    `default`. When --format and the suffix disagree --format wins and `warn` says so."""
    suffix = Path(target.path).suffix.lower() if target.path else ""
    implied = SUFFIXES.get(suffix)
    if given is None:
        return implied or default
    if implied is not None and implied is not given and warn is not None:
        warn(f"--format {given.value} is written to {_shown(target.path or '')}, whose suffix "
             f"{suffix} means {implied.value}: the file holds {given.value} (--format wins)")
    return given


def size_text(n: int) -> str:
    """A file's size for the confirmation line: 812 bytes, 4.9 kB, 4.9 MB (decimal units)."""
    if n < 1000:
        return f"{n} byte{'s' if n != 1 else ''}"
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= scale:
            return f"{decimal_text(Fraction(n, scale), 1)} {unit}"
    return f"{n} bytes"  # pragma: no cover - the loop always returns


def write_file(target: Target, fill: Callable[[IO[str]], object]) -> int:
    """Write what `fill` writes into the target's file, atomically: a temporary file in the same
    folder, flushed, then renamed over the target (symlinks are written through, the file's
    permissions kept). If `fill` or the write fails, the temporary file is removed, the old file
    is left whole and the error is re-raised (an OSError as a one-line SpecError). Returns the
    bytes written."""
    assert target.path is not None
    if os.path.exists(target.path) and not os.path.isfile(target.path):
        # a device or a pipe, opened as named: /dev/stdout resolves to `pipe:[…]`, no path
        return _write_special(target, target.path, fill)
    real = os.path.realpath(target.path)
    folder = os.path.dirname(real)
    try:
        mode = stat.S_IMODE(os.stat(real).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    except OSError as e:
        raise _fail(target.path, f"cannot write: {e.strerror}", target.option) from None
    try:
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(real)}.",
                                         suffix=".tmp")
    except OSError as e:
        raise _fail(target.path, f"cannot write: {e.strerror}", target.option) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            fill(handle)
            handle.flush()
            os.fsync(handle.fileno())
            size = os.fstat(handle.fileno()).st_size
        os.chmod(temporary, mode)
        os.replace(temporary, real)
    except OSError as e:
        _remove(temporary)
        raise _fail(target.path, f"cannot write: {e.strerror or e}", target.option) from None
    except BaseException:
        _remove(temporary)
        raise
    return size


def _write_special(target: Target, real: str, fill: Callable[[IO[str]], object]) -> int:
    """A device or a named pipe (/dev/null, /dev/stdout) cannot be renamed over: written as is."""
    assert target.path is not None
    import io

    text = io.StringIO(newline="")
    fill(text)
    data = text.getvalue().encode("utf-8")
    try:
        with open(real, "wb") as handle:
            handle.write(data)
        size = len(data)  # a device's own size (/dev/null: 0) is not what was written
    except OSError as e:
        raise _fail(target.path, f"cannot write: {e.strerror or e}", target.option) from None
    return size


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def write_text(target: Target, text: str) -> int:
    """`text` into the target's file (atomically, see `write_file`). Returns the bytes written."""
    return write_file(target, lambda handle: handle.write(text))


def wrote_line(target: Target, size: int, what: str = "") -> str:
    """The one-line confirmation: `wrote r.html (4.9 MB)` (and what it holds)."""
    assert target.path is not None
    return f"wrote {_shown(target.path)} ({size_text(size)}){': ' + what if what else ''}\n"
