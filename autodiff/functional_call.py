"""``functional_call``: run an ``nn.Module`` with parameters and buffers given as arguments.

This is ``torch.func.functional_call``: it turns a module into a function of its parameters,
which the function transforms can differentiate (``ad.grad``, ``ad.jacrev``, ``ad.hessian``),
while the module keeps its own parameters. For the call, each given name's entry in the module
tree is swapped for the given value (a NumPy array, a ``Tensor`` or a value traced by a
transform); the originals are put back afterwards, even if the call raises.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from autodiff.nn.module import Module

__all__ = ["functional_call"]


def functional_call(
    module: Module,
    parameter_and_buffer_dicts: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    args: Any = (),
    kwargs: dict[str, Any] | None = None,
    *,
    tie_weights: bool = True,
    strict: bool = False,
) -> Any:
    """Call ``module(*args, **kwargs)`` with the given parameters and buffers in place of its
    own, as ``torch.func.functional_call`` does.

    Args:
        module: the module to run.
        parameter_and_buffer_dicts: a dict (or a sequence of dicts) from the dotted names of
            ``module.named_parameters()`` and ``module.named_buffers()`` to values: NumPy arrays,
            ``Tensor``s, or values traced by ``ad.grad`` and the other transforms. Names left out
            keep the module's own value. A name the module does not have is an error.
        args: the positional arguments (a tuple; any other value is one argument).
        kwargs: the keyword arguments.
        tie_weights: a value given for a parameter that the module uses under several names
            (tied weights) replaces it under all of them, as in PyTorch.
        strict: every parameter and buffer must be given.

    Returns:
        What the module returns.

    Raises:
        TypeError: ``module`` is not an ``nn.Module``, or the parameters are not dicts.
        KeyError: an unknown name, or (``strict=True``) a missing one.
        ValueError: a name given twice, or two different values for tied weights.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> from autodiff import nn
        >>> _ = ad.manual_seed(0)
        >>> model = nn.Linear(3, 1)
        >>> params = {k: v.detach().numpy() for k, v in model.named_parameters()}
        >>> x = np.ones((4, 3))
        >>> loss = lambda p: np.mean(ad.functional_call(model, p, (x,)) ** 2)
        >>> grads = ad.grad(loss)(params)
        >>> sorted(grads), grads["weight"].shape
        (['bias', 'weight'], (1, 3))
    """
    if not isinstance(module, Module):
        raise TypeError(f"functional_call expects an nn.Module, got {type(module).__name__}")
    dicts = (
        [parameter_and_buffer_dicts]
        if isinstance(parameter_and_buffer_dicts, Mapping)
        else list(parameter_and_buffer_dicts)
    )
    given: dict[str, Any] = {}
    for d in dicts:
        if not isinstance(d, Mapping):
            raise TypeError(
                "functional_call expects a dict of parameters and buffers (or a sequence of "
                f"dicts), got {type(d).__name__}"
            )
        for name, value in d.items():
            if name in given:
                raise ValueError(f"functional_call got the name {name!r} in more than one dict")
            given[name] = value
    if not isinstance(args, tuple):
        args = (args,)
    slots = _slots(module)
    unknown = [name for name in given if name not in slots]
    if unknown:
        raise KeyError(
            f"functional_call: {type(module).__name__} has no parameter or buffer named "
            f"{', '.join(map(repr, unknown))}; its names are {', '.join(map(repr, slots))}"
        )
    if strict:
        missing = [name for name in slots if name not in given]
        if missing:
            raise KeyError(
                f"functional_call(strict=True): no value given for {', '.join(map(repr, missing))}"
            )
    swaps = _swaps(slots, given, tie_weights)
    originals = [(entries, key, entries[key]) for entries, key, _ in swaps]
    try:
        for entries, key, value in swaps:
            entries[key] = value
        return module(*args, **(kwargs or {}))
    finally:
        for entries, key, value in originals:
            entries[key] = value


def _slots(module: Module) -> dict[str, tuple[dict, str, Any]]:
    """Every parameter and buffer of the tree under every dotted name it has (tied ones and
    shared modules included): ``name -> (the dict holding it, its key there, its value)``."""
    slots: dict[str, tuple[dict, str, Any]] = {}
    for prefix, mod in module.named_modules(remove_duplicate=False):
        for kind in ("_parameters", "_buffers"):
            entries = getattr(mod, kind)
            for key, value in entries.items():
                if value is not None:
                    slots[f"{prefix}.{key}" if prefix else key] = (entries, key, value)
    return slots


def _swaps(slots: dict, given: dict[str, Any], tie_weights: bool) -> list[tuple[dict, str, Any]]:
    """``(dict, key, new value)`` for every entry to replace."""
    names_of: dict[int, list[str]] = {}
    for name, (_, _, value) in slots.items():
        names_of.setdefault(id(value), []).append(name)
    swaps = []
    chosen: dict[int, tuple[str, Any]] = {}
    for name, value in given.items():
        original = slots[name][2]
        targets = names_of[id(original)] if tie_weights else [name]
        if tie_weights and id(original) in chosen:
            other, before = chosen[id(original)]
            if before is not value:
                raise ValueError(
                    f"functional_call got different values for {other!r} and {name!r}, which "
                    "are tied (the same parameter); give one of them, or pass tie_weights=False"
                )
            continue
        chosen[id(original)] = (name, value)
        for target in targets:
            t_entries, t_key, _ = slots[target]
            swaps.append((t_entries, t_key, value))
    return swaps
