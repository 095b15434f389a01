"""Writing files atomically, and the error every weight file raises (shared by the spec's
weight files and both mirrors')."""

from __future__ import annotations

import contextlib
import functools
import os
import stat
import tempfile
from collections.abc import Callable

from reference._validation import check_model, check_path


class WeightFileError(ValueError):
    """A weight file that is unsafe, malformed, corrupted, or does not describe the
    expected model; or a weight file that could not be written."""


def dangling_link(path: str | os.PathLike) -> str | None:
    """Where ``path`` goes through a symbolic link that leads nowhere (its target is
    missing, or links loop), said as a phrase ("/a/b is a symbolic link to /gone, which
    does not exist"); ``None`` otherwise. The operating system says only "No such file"
    or "File exists" of such a path, naming neither the link nor its target."""
    absolute = os.path.abspath(os.fspath(path))
    parts = absolute.split(os.sep)
    for end in range(2, len(parts) + 1):
        here = os.sep.join(parts[:end])
        if os.path.islink(here) and not os.path.exists(here):
            try:
                target = os.readlink(here)
            except OSError:  # removed meanwhile
                return None
            return f"{here} is a symbolic link to {target}, which does not exist"
        if not os.path.lexists(here):  # nothing below a missing folder is a link
            return None
    return None


def check_name(path: str | os.PathLike) -> None:
    """A weight file's path names a file: not empty (``""`` is no file; the system's
    error named nothing) and without a NUL character (Python's "embedded null byte")."""
    text = os.fspath(path)
    if not text:
        raise WeightFileError("the path is empty; give the name of a weight file")
    if "\0" in text:
        raise WeightFileError(f"{text!r}: a path cannot hold a NUL character")


def check_regular_file(path: str | os.PathLike) -> None:
    """A weight file to read is a regular file: a folder, a device (``/dev/zero`` never
    ends, and a zip reader reads it into memory) or a pipe (which blocks until someone
    writes) is refused before it is opened, and so is a path through a symbolic link that
    leads nowhere (:func:`dangling_link`), and an empty one or one holding NUL
    (:func:`check_name`). Any other path that cannot be read is left to the reader's own
    message."""
    check_name(path)
    try:
        mode = os.stat(path).st_mode
    except OSError:
        if (link := dangling_link(path)) is not None:
            raise WeightFileError(f"{path}: cannot be read: {link}") from None
        return
    if not stat.S_ISREG(mode):
        kind = "a directory" if stat.S_ISDIR(mode) else \
            "not a regular file (a device, a pipe or a socket)"
        raise WeightFileError(f"{path}: is {kind}; give the path of a weight file")


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> None:
    """Run ``write(temporary_path)``, then move the result over ``path`` in one step.

    The temporary file lies in ``path``'s folder (``os.replace`` is atomic only within a
    file system) and keeps ``path``'s suffix (Keras insists on ``.weights.h5``). It is
    ``fsync``-ed before the move, so a crash cannot leave a renamed but empty file. On
    any failure, an interruption included, the temporary file is removed and ``path`` is
    untouched. A ``path`` that is a device, a pipe or a socket, or a link to one, is
    refused: the move would replace ``/dev/null`` itself (run as root). The temporary
    name keeps at most 64 characters of ``path``'s: a name near the system's limit (255
    bytes) is written, one beyond it refused by name. A ``path`` that is a symbolic link
    to a file is replaced by the file, its target left as it was (a documented
    limitation: ``os.replace`` moves onto the link itself).
    """
    check_name(path)
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    with contextlib.suppress(OSError):  # a path that does not exist yet is written
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise WeightFileError(f"{path}: is a directory; give the path of a file to write")
        if not stat.S_ISREG(mode):  # the move would replace /dev/null itself, or a pipe
            raise WeightFileError(f"{path}: is not a regular file (a device, a pipe or a "
                                  "socket), which a save would replace; give the path of a "
                                  "file to write")
    if not os.path.isdir(folder):
        missing = dangling_link(folder) or f"the folder {folder} does not exist"
        raise WeightFileError(f"{path}: cannot write: {missing}")
    suffix = "".join(part for part in (".weights.h5", ".npz", ".pt") if name.endswith(part))
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{name[:64]}.", suffix=f".tmp{suffix}",
                                             dir=folder)
    except OSError as error:  # a read-only or full file system
        raise WeightFileError(f"{path}: could not be written ({error})") from error
    os.close(handle)
    try:
        write(temporary)
        with open(temporary, "rb+") as file:
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        if isinstance(error, OSError):
            raise WeightFileError(f"{path}: could not be written ({error})") from error
        raise


def atomically(model_kind: tuple[type, str], finish: Callable[[str], None] | None = None,
               suffix: str = "", ready: Callable[[str, object], None] | None = None
               ) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Decorate ``save(model, path)`` so that it writes through :func:`atomic_write`: the
    body (the framework's own save, e.g. ``torch.save``) writes the temporary file, then
    ``finish(temporary)`` (adding a digest, say) before it replaces ``path``. ``suffix``:
    the ending the framework requires of ``path`` (Keras: ``.weights.h5``). ``model_kind``:
    the class the model must be and its name in the error, checked first, with the path;
    ``ready(where, model)``: any further check of the model, before anything is written."""
    def decorate(save: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(save)
        def run(model: object, path: str | os.PathLike) -> None:
            check_model(save.__name__, model, *model_kind)
            if ready is not None:
                ready(save.__name__, model)
            check_path(save.__name__, path)
            check_name(path)
            if not os.fspath(path).endswith(suffix):
                raise WeightFileError(f"{path}: the name of this kind of weight file must end "
                                      f"in {suffix}")

            def write(temporary: str) -> None:
                save(model, temporary)
                if finish is not None:
                    finish(temporary)

            atomic_write(path, write)
        return run
    return decorate
