"""Saving and loading state dicts as ``.npz`` files, never with pickle.

``save`` writes a flat mapping of names to arrays (a model's ``state_dict()``) as a plain
``.npz``: each array under its own dotted name, readable by ``np.load(path)`` anywhere. Nested
containers (an optimizer's ``state_dict()``, or ``{"model": ..., "optim": ..., "epoch": 3}``)
are stored as their arrays plus a JSON description of the structure; numbers, strings, booleans
and ``None`` go into that JSON. Loading never unpickles, so a file cannot run code.

Safety: ``save`` refuses what only pickle could store (object arrays, structured arrays with an
object field) before it writes anything, writes the archive itself (``zipfile`` and
``np.lib.format.write_array``, so no user key can collide with an argument of ``np.savez``),
and writes to a temporary file in the same directory that replaces ``path`` only once complete:
a failure leaves the previous file intact. ``load`` names the file and what is wrong with it
(missing, empty, a text file, a single array, a pickle, a damaged archive, garbled metadata).

Examples:
    >>> import os, tempfile
    >>> import autodiff as ad
    >>> from autodiff import nn
    >>> model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm2d(3))
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> ad.save(model.state_dict(), path)
    >>> sd = ad.load(path)
    >>> list(sd)[:3]
    ['0.weight', '0.bias', '1.weight']
    >>> model.load_state_dict(sd)
    <All keys matched successfully>
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
import zipfile
from collections import OrderedDict
from collections.abc import Mapping
from typing import IO, Any

import numpy as np

from autodiff.tensor import Tensor

__all__ = ["load", "save"]

_TREE = "__autodiff_tree__"
PathLike = str | os.PathLike | IO[bytes]
_TORCH_HINT = (
    " A PyTorch checkpoint (.pth/.pt) must be converted first, where torch is installed: "
    "python scripts/convert_torchvision.py CHECKPOINT.pth OUT.npz"
)
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header; an empty archive
_NPY_MAGIC = b"\x93NUMPY"


# ----------------------------------------------------------------------------------- save


def _leaf_array(value: Any, where: str) -> np.ndarray:
    if isinstance(value, Tensor):
        return value.detach().numpy()
    arr = np.asarray(value)
    if arr.dtype.hasobject:
        what = (
            f"{type(value).__name__} is not an array, a number or a string"
            if arr.dtype == object and not isinstance(value, np.ndarray)
            else f"its dtype {arr.dtype} holds Python objects"
        )
        raise TypeError(
            f"cannot save {where}: {what} (autodiff.save writes .npz files and never pickles)"
        )
    return arr


def _is_flat(obj: Mapping[Any, Any]) -> bool:
    return all(
        isinstance(k, str) and k != _TREE and isinstance(v, (np.ndarray, Tensor, np.generic))
        for k, v in obj.items()
    )


def _encode(obj: Any, arrays: dict[str, np.ndarray], path: str) -> Any:
    """The JSON description of ``obj``; its arrays go into ``arrays`` under numbered names."""
    if isinstance(obj, Mapping):
        items = []
        for k, v in obj.items():
            if not isinstance(k, (str, int)) or isinstance(k, bool):
                raise TypeError(f"cannot save {path}: keys must be str or int, got {k!r}")
            items.append([k, _encode(v, arrays, f"{path}[{k!r}]")])
        return {"dict": items}
    if isinstance(obj, (list, tuple)):
        kind = "list" if isinstance(obj, list) else "tuple"
        return {kind: [_encode(v, arrays, f"{path}[{i}]") for i, v in enumerate(obj)]}
    if obj is None or isinstance(obj, (bool, str)):
        return {"value": obj}
    if isinstance(obj, (int, float)) and not isinstance(obj, np.generic):
        if isinstance(obj, float) and not np.isfinite(obj):
            return {"float": repr(obj)}
        return {"value": obj}
    name = f"a{len(arrays)}"
    arrays[name] = _leaf_array(obj, path)
    return {"array": name}


def _write_npz(f: IO[bytes], arrays: Mapping[str, np.ndarray]) -> None:
    """The archive ``np.savez`` writes (one ``NAME.npy`` entry per array), never pickling."""
    with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, arr in arrays.items():
            with zf.open(name + ".npy", mode="w", force_zip64=True) as entry:
                np.lib.format.write_array(entry, arr, allow_pickle=False)


def _write_atomically(path: str | os.PathLike, arrays: Mapping[str, np.ndarray]) -> None:
    """Write to a new file beside ``path``, then rename it over ``path`` (``os.replace``)."""
    target = os.path.realpath(os.fspath(path))  # through a symlink, replace what it points to
    folder, base = os.path.split(target)
    if not os.path.isdir(folder or "."):
        raise FileNotFoundError(f"cannot save to {os.fspath(path)}: no directory {folder}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = os.path.join(folder, f".{base}.{secrets.token_hex(4)}.tmp")
        try:  # mode 0o666 less the umask, as open(path, "wb") would create it
            fd = os.open(tmp, flags, 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            _write_npz(f, arrays)
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(OSError):  # an existing file keeps its permissions
            os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def save(obj: Mapping[str, Any], path: PathLike) -> None:
    """Write a state dict (names → arrays or tensors, possibly nested) to ``path`` as ``.npz``.

    The file is written at exactly ``path`` (no ``.npz`` suffix is added), atomically: to a
    temporary file in the same directory that then replaces ``path``, so a failure leaves any
    previous file intact. A file object is written in place. Tensors are saved as their values;
    their autograd history is not saved.

    Raises:
        TypeError: ``obj`` is not a mapping, a key is not a string or an int, or a value would
            need pickle (an object array, a structured array with an object field, any other
            Python object); nothing is written then.

    Examples:
        >>> import os, tempfile, numpy as np, autodiff as ad
        >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.npz")
        >>> ad.save({"w": np.ones(2), "file": np.zeros(1), "epoch": 3}, path)
        >>> ad.load(path)["epoch"]
        3
    """
    if not isinstance(obj, Mapping):
        raise TypeError(
            f"autodiff.save expects a dict such as model.state_dict(), got {type(obj).__name__}"
        )
    if _is_flat(obj):
        arrays = {k: _leaf_array(v, repr(k)) for k, v in obj.items()}
    else:
        arrays = {}
        tree = _encode(obj, arrays, "state_dict")
        arrays[_TREE] = np.frombuffer(json.dumps(tree).encode("utf-8"), dtype=np.uint8)
    bad = next((k for k in arrays if "\x00" in k), None)
    if bad is not None:
        raise ValueError(f"cannot save key {bad!r}: a name in an .npz archive cannot hold NUL")
    if isinstance(path, (str, os.PathLike)):
        _write_atomically(path, arrays)
    else:
        _write_npz(path, arrays)


# ----------------------------------------------------------------------------------- load


class _Garbled(ValueError):
    """The structure metadata of a nested state dict is not what ``save`` writes."""


def _decode(node: Any, arrays: Mapping[str, np.ndarray]) -> Any:
    if not isinstance(node, dict) or len(node) != 1:
        raise _Garbled(f"a node is {node!r}, not an object with one key")
    ((kind, val),) = node.items()
    if kind == "dict" and isinstance(val, list):
        if not all(isinstance(kv, list) and len(kv) == 2 and isinstance(kv[0], (str, int))
                   for kv in val):  # fmt: skip
            raise _Garbled("a dict's items are not [key, value] pairs")
        return OrderedDict((k, _decode(v, arrays)) for k, v in val)
    if kind in ("list", "tuple") and isinstance(val, list):
        items = [_decode(v, arrays) for v in val]
        return items if kind == "list" else tuple(items)
    if kind == "float" and val in ("inf", "-inf", "nan"):
        return float(val)
    if kind == "array" and isinstance(val, str):
        if val not in arrays:
            raise _Garbled(f"it refers to an array {val!r} that the archive does not hold")
        return arrays[val]
    if kind == "value" and (val is None or isinstance(val, (bool, int, float, str))):
        return val
    raise _Garbled(f"unknown node {{{kind!r}: {val!r}}}"[:200])


def _name(path: PathLike) -> str:
    if isinstance(path, (str, os.PathLike)):
        return os.fspath(path)
    name = getattr(path, "name", None)
    return name if isinstance(name, str) else f"<{type(path).__name__}>"


def _what_is(head: bytes) -> str | None:
    """Why a file starting with ``head`` is not an ``.npz`` archive (``None``: it may be one)."""
    if head.startswith(_ZIP_MAGIC):
        return None
    if not head:
        return "is empty, not an .npz archive"
    if head.startswith(_NPY_MAGIC):
        return "holds a single array, not a state dict (.npz archive of named arrays)"
    if head[:1] == b"\x80":
        return (
            "is not an .npz archive of arrays: it holds pickled data, which autodiff never "
            f"loads.{_TORCH_HINT}"
        )
    if _looks_like_text(head):
        return f"is a text file (it starts with {head[:20]!r}), not an .npz archive"
    return f"is not an .npz archive (it starts with {head[:8]!r}, not a zip signature)"


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    for cut in range(4):  # the head may end inside a multi-byte character
        try:
            head[: len(head) - cut].decode("utf-8")
            return True
        except UnicodeDecodeError:
            continue
    return False


def _read_head(path: PathLike, n: int = 64) -> bytes:
    if isinstance(path, (str, os.PathLike)):
        with open(path, "rb") as f:
            return f.read(n)
    where = path.tell()
    head = path.read(n)
    path.seek(where)
    return head


def _read_arrays(path: PathLike, name: str) -> OrderedDict[str, np.ndarray]:
    arrays: OrderedDict[str, np.ndarray] = OrderedDict()
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
        raise ValueError(f"{name} is a damaged zip archive: {exc}") from None
    with zf:
        for info in zf.infolist():
            entry = info.filename
            if info.is_dir():
                continue
            if not entry.endswith(".npy"):
                raise ValueError(
                    f"{name} is a zip archive but not an .npz of arrays (entries such as "
                    f"{entry!r} are not .npy arrays).{_TORCH_HINT}"
                )
            key = entry[: -len(".npy")]
            try:
                with zf.open(info) as f:
                    arrays[key] = np.lib.format.read_array(f, allow_pickle=False)
            except ValueError as exc:
                if "pickle" in str(exc) or "Object arrays" in str(exc):
                    raise ValueError(
                        f"{name} is not an .npz archive of arrays: its entry {key!r} holds "
                        f"pickled data, which autodiff never loads (allow_pickle=False).{_TORCH_HINT}"
                    ) from None
                raise ValueError(f"{name}: the array {key!r} is damaged: {exc}") from None
            except (zipfile.BadZipFile, EOFError, OSError) as exc:
                raise ValueError(f"{name}: the array {key!r} is damaged: {exc}") from None
            except (RuntimeError, NotImplementedError) as exc:  # encrypted, unknown compression
                raise ValueError(f"{name}: the array {key!r} cannot be read: {exc}") from None
    return arrays


def load(path: PathLike) -> dict[str, Any]:
    """Read a file written by :func:`save` (or any ``.npz`` of arrays) into a dict of arrays.

    Never unpickles: object arrays are refused, as ``np.load(..., allow_pickle=False)`` does.
    Files written by earlier versions of :func:`save` load unchanged.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: naming the file and what is wrong with it: empty, a text file, a single
            ``.npy`` array, a pickle (such as an old PyTorch checkpoint), a damaged archive or
            array, an entry that is not an ``.npy`` array, or garbled structure metadata.

    Examples:
        >>> import io, numpy as np, autodiff as ad
        >>> buf = io.BytesIO()
        >>> ad.save({"w": np.arange(3.0)}, buf)
        >>> _ = buf.seek(0)
        >>> ad.load(buf)["w"]
        array([0., 1., 2.])
    """
    name = _name(path)
    why = _what_is(_read_head(path))
    if why is not None:
        raise ValueError(f"{name} {why}")
    arrays = _read_arrays(path, name)
    if _TREE not in arrays:
        return arrays
    meta = arrays.pop(_TREE)
    try:
        if meta.dtype != np.uint8 or meta.ndim != 1:
            raise _Garbled(f"it is a {meta.dtype} array of shape {meta.shape}, not UTF-8 bytes")
        try:
            tree = json.loads(meta.tobytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _Garbled(f"it is not UTF-8 JSON ({exc})") from None
        return _decode(tree, arrays)
    except _Garbled as exc:
        raise ValueError(
            f"{name}: the structure metadata ({_TREE!r}) of this nested state dict is garbled: "
            f"{exc}"
        ) from None
    except RecursionError:
        raise ValueError(f"{name}: the structure metadata ({_TREE!r}) nests too deeply") from None
