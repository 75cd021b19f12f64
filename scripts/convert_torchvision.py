"""Convert a torchvision checkpoint (``.pth``) to an ``.npz`` state dict that autodiff loads.

Needs PyTorch, and only here: autodiff itself never imports torch. Nothing is downloaded; pass a
checkpoint you already have, for example torchvision's cached
``~/.cache/torch/hub/checkpoints/resnet18-f37072fd.pth``::

    python scripts/convert_torchvision.py resnet18-f37072fd.pth resnet18.npz
    python -c "import autodiff as ad; m = ad.models.resnet18(weights='resnet18.npz')"

The checkpoint is read with ``torch.load(..., weights_only=True)`` (no arbitrary code runs); a
dict wrapping the state dict under ``"state_dict"`` or ``"model"`` is unwrapped, and a
``"module."`` prefix (from ``DataParallel``) is removed. ``--check`` loads the result into
``autodiff.models.resnet18`` to prove the names and shapes match.
"""

from __future__ import annotations

import argparse
import sys
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def state_dict_from_checkpoint(obj: Any) -> dict[str, Any]:
    """The name → tensor mapping inside a loaded checkpoint."""
    for key in ("state_dict", "model"):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
    if not isinstance(obj, dict):
        raise SystemExit(f"the checkpoint holds a {type(obj).__name__}, not a state dict")
    return obj


def to_numpy(state_dict: dict[str, Any], dtype: str | None) -> OrderedDict[str, np.ndarray]:
    """Tensors to NumPy arrays; floating-point ones cast to ``dtype`` if given."""
    out: OrderedDict[str, np.ndarray] = OrderedDict()
    for name, value in state_dict.items():
        if name.startswith("module."):
            name = name[len("module.") :]
        arr = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
        if dtype is not None and np.issubdtype(arr.dtype, np.floating):
            arr = arr.astype(dtype)
        out[name] = np.ascontiguousarray(arr)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint", type=Path, help="a torchvision .pth file")
    ap.add_argument("output", type=Path, help="the .npz file to write")
    ap.add_argument(
        "--dtype",
        choices=("float32", "float64"),
        default=None,
        help="cast floating-point arrays (default: keep the checkpoint's float32)",
    )
    ap.add_argument(
        "--check",
        action="store_true",
        help="load the result into autodiff.models.resnet18 (num_classes from fc)",
    )
    args = ap.parse_args(argv)

    try:
        import torch
    except ImportError:
        print(
            "PyTorch is not installed; this converter needs it (autodiff does not).",
            file=sys.stderr,
        )
        return 1
    if not args.checkpoint.exists():
        print(f"no such checkpoint: {args.checkpoint}", file=sys.stderr)
        return 1
    obj = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
    arrays = to_numpy(state_dict_from_checkpoint(obj), args.dtype)

    from autodiff.io import save

    save(arrays, args.output)
    total = sum(a.size for k, a in arrays.items() if not k.endswith("num_batches_tracked"))
    print(f"wrote {args.output}: {len(arrays)} arrays, {total:,} numbers")
    if args.check:
        from autodiff.models import resnet18

        num_classes = arrays["fc.weight"].shape[0] if "fc.weight" in arrays else 1000
        resnet18(num_classes=num_classes, weights=args.output)
        print(f"loads into autodiff.models.resnet18(num_classes={num_classes})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
