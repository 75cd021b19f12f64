"""Saving and loading state dicts as ``.npz`` files, never with pickle.

``save`` writes a flat mapping of names to arrays (a model's ``state_dict()``) as a plain
``.npz``: each array under its own dotted name, readable by ``np.load(path)`` anywhere. Nested
containers (an optimizer's ``state_dict()``, or ``{"model": ..., "optim": ..., "epoch": 3}``)
are stored as their arrays plus a JSON description of the structure; numbers, strings, booleans
and ``None`` go into that JSON. Loading always uses ``allow_pickle=False``, so a file cannot run
code.

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

import json
import os
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


def _leaf_array(value: Any, where: str) -> np.ndarray:
    if isinstance(value, Tensor):
        return value.detach().numpy()
    arr = np.asarray(value)
    if arr.dtype == object:
        raise TypeError(
            f"cannot save {where}: {type(value).__name__} is not an array, a number or a string "
            "(autodiff.save writes .npz files and never pickles)"
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


def _decode(node: dict[str, Any], arrays: Any) -> Any:
    if "dict" in node:
        return OrderedDict((k, _decode(v, arrays)) for k, v in node["dict"])
    if "list" in node:
        return [_decode(v, arrays) for v in node["list"]]
    if "tuple" in node:
        return tuple(_decode(v, arrays) for v in node["tuple"])
    if "float" in node:
        return float(node["float"])
    if "array" in node:
        return arrays[node["array"]]
    return node["value"]


def save(obj: Mapping[str, Any], path: PathLike) -> None:
    """Write a state dict (names → arrays or tensors, possibly nested) to ``path`` as ``.npz``.

    The file is written at exactly ``path`` (no ``.npz`` suffix is added). Tensors are saved as
    their values; their autograd history is not saved.
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
    if isinstance(path, (str, os.PathLike)):
        with open(path, "wb") as f:
            np.savez(f, **arrays)
    else:
        np.savez(path, **arrays)


def load(path: PathLike) -> dict[str, Any]:
    """Read a file written by :func:`save` (or any ``.npz``) into a dict of NumPy arrays.

    Uses ``np.load(..., allow_pickle=False)``: object arrays are refused.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is not an ``.npz`` archive, or holds pickled objects.
    """
    try:
        npz = np.load(path, allow_pickle=False)
        if not isinstance(npz, Mapping):
            raise ValueError(
                f"{path} holds a single array, not a state dict (.npz archive of named arrays)"
            )
        with npz:
            arrays = OrderedDict((k, npz[k]) for k in npz.files)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"{path} is not a readable .npz state dict: {exc}") from None
    except ValueError as exc:
        if "pickle" in str(exc):
            raise ValueError(
                f"{path} is not an .npz archive of arrays: it holds pickled data, which "
                f"autodiff never loads (allow_pickle=False).{_TORCH_HINT}"
            ) from None
        raise
    odd = [k for k, v in arrays.items() if not isinstance(v, np.ndarray)]
    if odd:
        raise ValueError(
            f"{path} is a zip archive but not an .npz of arrays (entries such as {odd[0]!r} are "
            f"not .npy arrays).{_TORCH_HINT}"
        )
    if _TREE in arrays:
        tree = json.loads(arrays.pop(_TREE).tobytes().decode("utf-8"))
        return _decode(tree, arrays)
    return arrays
