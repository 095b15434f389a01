"""Weight files the torch way: a ``state_dict`` saved with ``torch.save``, loaded with
``torch.load(..., weights_only=True)``.

Same public names as ``reference.weights``. A ``state_dict`` maps parameter names
("0.weight", "0.bias", … for a Sequential: nn.Linear first) to tensors, in torch's layout
(``weight`` (out, in), the transpose of the spec's W). It holds no architecture, so, as
with ``model.load_state_dict``, the weights are loaded *into* a model of the right
shape, e.g. one made by ``from_reference``; the activations are the model's.

Safety: ``torch.save`` writes a pickle. ``weights_only=True`` makes ``torch.load`` use a
restricted unpickler that rebuilds tensors and plain containers only and refuses every
other global, so a crafted file cannot run code.

Checks on load (``@checked``), before anything is copied: the names must be exactly
the model's (torch
would report them too) and every tensor must have the model's shape and dtype; a
BatchNorm weight (bias) the model holds frozen at 1 (0), Keras's scale=False
(center=False), must be 1 (0) in the file too.
``load_state_dict`` alone would cast a float32 file into a float64 model silently.

Integrity and memory: ``torch.save`` writes a zip of uncompressed records (``data.pkl``,
``data/0``, …). ``save_weights`` adds one record, ``nn_rosetta.sha256``, the SHA-256 of
every other record (name and bytes, in name order); ``torch.load`` ignores it, so the
file stays a plain ``state_dict`` file. ``load_weights`` first reads the zip's directory
only: every record must be stored uncompressed and all of them together no larger than
the model's tensors plus :data:`OVERHEAD` bytes, so a hostile file cannot make it read
more than the model holds. Then it streams the records through SHA-256 (which also
checks each record's CRC-32): truncation or a changed byte is a :class:`WeightFileError`
naming the file, and so is a file without the digest (written by ``torch.save`` alone).
Only then does ``torch.load`` run. Writes are atomic (``reference._files.atomic_write``).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import zipfile

import torch

from reference._files import atomically, check_regular_file
from reference._validation import check_memory, check_model, check_path, dtype_name
from reference.weights import WeightFileError
from torch_impl._inputs import checked
from torch_impl.normalization import fixed_affine

DIGEST = "nn_rosetta.sha256"
# What zipfile raises on a damaged archive, beside BadZipFile: a changed byte can make a
# record look compressed by an unknown method (NotImplementedError) or encrypted
# (RuntimeError), or make a name undecodable (UnicodeDecodeError).
ZIP_ERRORS = (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError,
              UnicodeDecodeError, ValueError)
OVERHEAD = 1 << 16  # bytes beyond the tensors: data.pkl's names and the small records
_PER_TENSOR = 1 << 10  # data.pkl's bytes per tensor, generously, and a record's alignment


def _digest(archive: zipfile.ZipFile, path: str | os.PathLike) -> str:
    """SHA-256 of every record but the digest, streamed: reading a record to its end
    checks its CRC-32 too."""
    digest = hashlib.sha256()
    try:
        for info in sorted(archive.infolist(), key=lambda i: i.filename):
            if info.filename.endswith(f"/{DIGEST}"):
                continue
            digest.update(f"\n{info.filename}\n".encode())
            with archive.open(info) as record:
                while chunk := record.read(1 << 20):
                    digest.update(chunk)
    except ZIP_ERRORS as error:
        raise WeightFileError(f"{path}: corrupted or truncated ({error})") from None
    return digest.hexdigest()


def _seal(path: str | os.PathLike) -> None:
    """Add the digest record to the ``torch.save`` file at ``path``."""
    with zipfile.ZipFile(path, "a") as archive:
        prefix = archive.namelist()[0].split("/")[0]
        archive.writestr(f"{prefix}/{DIGEST}", _digest(archive, path))


@atomically((torch.nn.Module, "a torch.nn.Module"), finish=_seal)
def save_weights(model: torch.nn.Module, path: str | os.PathLike) -> None:
    """``torch.save(model.state_dict(), path)``, written atomically and sealed with its
    digest (``@atomically``)."""
    torch.save(model.state_dict(), path)


def _check_file(path: str | os.PathLike, model: torch.nn.Module) -> None:
    """Sizes and digest from the zip's directory and records, before ``torch.load``."""
    expected = model.state_dict()
    limit = OVERHEAD + sum(_PER_TENSOR + t.numel() * t.element_size()
                           for t in expected.values())
    try:
        archive = zipfile.ZipFile(path)
    except OSError as error:
        raise WeightFileError(f"{path}: unreadable ({error})") from None
    except ZIP_ERRORS as error:
        raise WeightFileError(f"{path}: not a torch.save zip file, or its zip directory is "
                              f"damaged or cut off ({error})") from None
    with archive:
        infos = archive.infolist()
        declared = sum(info.file_size for info in infos)
        compressed = [i.filename for i in infos if i.compress_type != zipfile.ZIP_STORED]
        if compressed or declared > limit:
            raise WeightFileError(f"{path}: declares {declared} bytes in {len(infos)} "
                                  f"records ({len(compressed)} compressed); the model's "
                                  f"state_dict takes at most {limit}, uncompressed")
        check_memory(f"load_weights: {path}", "its records, read whole", declared,
                     WeightFileError)
        # torch's zip reader (miniz) reads a record whose MS-DOS attributes say "folder" as
        # empty, leaving its tensor's memory unset; Python's zipfile, which the digest
        # uses, reads it as it is: refused here, since the digest cannot see it
        folders = [i.filename for i in infos if i.external_attr & 0x10]
        if folders:
            raise WeightFileError(f"{path}: records marked as folders ({', '.join(folders)}); "
                                  "torch.load would read them as empty")
        seals = [i for i in infos if i.filename.endswith(f"/{DIGEST}")]
        if len(seals) != 1 or seals[0].file_size != 64:
            raise WeightFileError(f"{path}: no {DIGEST} record: not written by "
                                  "torch_impl.save_weights, so its integrity cannot be checked")
        try:
            stored = archive.read(seals[0]).decode("ascii")
        except ZIP_ERRORS as error:
            raise WeightFileError(f"{path}: its digest record is corrupted ({error})") from None
        if _digest(archive, path) != stored:
            raise WeightFileError(f"{path}: checksum mismatch: the file was changed or "
                                  "corrupted after it was written")


def _state_dict_file(where: str, path: str | os.PathLike, model: torch.nn.Module) -> None:
    """Sizes and digest first (:func:`_check_file`), then a state_dict with exactly the
    model's names, shapes and dtypes."""
    check_model(where, model, torch.nn.Module, "a torch.nn.Module")
    check_path(where, path)
    check_regular_file(path)
    _check_file(path, model)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise WeightFileError(f"{path}: refused by torch.load(weights_only=True), which "
                              f"unpickles tensors only ({str(error).splitlines()[0]})") from None
    except (OSError, RuntimeError, EOFError, ValueError, KeyError, TypeError, IndexError,
            AttributeError) as error:  # a crafted file that passed the digest
        raise WeightFileError(f"{path}: unreadable as a torch state_dict "
                              f"({type(error).__name__}: {error})") from None
    expected = model.state_dict()
    if not isinstance(state, dict) or set(state) != set(expected):
        found = sorted(map(str, state)) if isinstance(state, dict) else type(state).__name__
        raise WeightFileError(f"{path}: expected the tensors {sorted(expected)}, found {found}")
    for name, tensor in state.items():
        want = expected[name]
        if not isinstance(tensor, torch.Tensor) or tensor.shape != want.shape or \
                tensor.dtype != want.dtype:
            found = (f"{dtype_name(tensor.dtype)} of shape {tuple(tensor.shape)}"
                     if isinstance(tensor, torch.Tensor) else type(tensor).__name__)
            raise WeightFileError(f"{path}: {name} should be {dtype_name(want.dtype)} of shape "
                                  f"{tuple(want.shape)}, found {found}")
    for name, value in fixed_affine(model).items():
        if not bool(torch.all(state[name] == value)):
            raise WeightFileError(
                f"{path}: {name} holds values other than {value:g}, where the model's is "
                f"frozen at {value:g} (requires_grad=False: Keras's "
                f"{'scale' if name.endswith('weight') else 'center'}=False, a spec "
                "BatchNormalization without that array); load it into a model whose "
                f"{name} trains")


@checked(_state_dict_file)
def load_weights(path: str | os.PathLike, model: torch.nn.Module) -> torch.nn.Module:
    """``model`` with the weights of the ``state_dict`` file at ``path``, checked first."""
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model
