"""``Module`` and ``Parameter``: PyTorch's way of bundling tensors into a model.

A :class:`Module` registers what is assigned to it: a :class:`Parameter` becomes a parameter,
another module becomes a child, and :meth:`Module.register_buffer` adds state that is saved but
not trained (BatchNorm's running statistics). Everything else (``parameters()``,
``state_dict()``, ``train()``/``eval()``, the printed tree) walks that registry, with PyTorch's
dotted names.

Examples:
    >>> import autodiff as ad
    >>> from autodiff import nn
    >>> class Affine(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.w = nn.Parameter(ad.ones(2))
    ...         self.b = nn.Parameter(ad.zeros(2))
    ...
    ...     def forward(self, x):
    ...         return x * self.w + self.b
    >>> m = Affine()
    >>> [name for name, _ in m.named_parameters()]
    ['w', 'b']
    >>> m(ad.tensor([1.0, 2.0]))
    tensor([1., 2.], grad_fn=<AddBackward0>)
"""

from __future__ import annotations

import copy
from collections import OrderedDict, namedtuple
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from autodiff.autograd import no_grad
from autodiff.tensor import Tensor, format_tensor

__all__ = ["Module", "Parameter"]


class Parameter(Tensor):
    """A tensor that a :class:`Module` registers as trainable: a leaf with ``requires_grad=True``.

    Assigning a ``Parameter`` to a module attribute adds it to ``module.parameters()``.

    Examples:
        >>> import autodiff as ad
        >>> from autodiff import nn
        >>> nn.Parameter(ad.tensor([0.5]))
        Parameter containing:
        tensor([0.5000], requires_grad=True)
    """

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            data = np.empty(0)
        value = data.detach().numpy() if isinstance(data, Tensor) else data
        super().__init__(value, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + format_tensor(self)

    __str__ = __repr__

    def __deepcopy__(self, memo: dict[int, Any]) -> Parameter:
        if id(self) not in memo:
            memo[id(self)] = _copy_tensor(self)
        return memo[id(self)]


def _copy_tensor(t: Tensor) -> Tensor:
    """An independent copy of a parameter or buffer: same class, values, flag and ``.grad``."""
    value = t.detach().numpy().copy()
    new = Parameter(value, t.requires_grad) if isinstance(t, Parameter) else Tensor(value)
    if t.grad is not None:
        new.grad = Tensor(t.grad.detach().numpy().copy())
    return new


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict(..., strict=False)`` could not match, like PyTorch's result."""

    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _addindent(text: str, spaces: int) -> str:
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return lines[0] + "\n" + "\n".join(" " * spaces + line for line in lines[1:])


def _as_array(value: Any, key: str) -> np.ndarray:
    """A state-dict entry (array, Tensor, number) as a NumPy array, or a clear error."""
    if isinstance(value, Tensor):
        return value.detach().numpy()
    try:
        arr = np.asarray(value)
    except Exception as exc:
        raise TypeError(f"state_dict entry {key!r} is not an array: {exc}") from None
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise TypeError(
            f"state_dict entry {key!r} must be a numeric array or Tensor, got "
            f"{type(value).__name__} with dtype {arr.dtype}"
        )
    return arr


class Module:
    """Base class of every layer and model, like ``torch.nn.Module``.

    Subclasses call ``super().__init__()`` first, assign parameters, buffers and sub-modules as
    attributes, and define :meth:`forward`; calling the module calls ``forward``.

    Examples:
        >>> from autodiff import nn
        >>> net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 1))
        >>> [(name, tuple(p.shape)) for name, p in net.named_parameters()]
        [('0.weight', (3, 4)), ('0.bias', (3,)), ('2.weight', (1, 3)), ('2.bias', (1,))]
        >>> net.fc = nn.Linear(1, 2)                     # assigning registers a child
        >>> [name for name, _ in net.named_children()]
        ['0', '1', '2', 'fc']
    """

    training: bool
    _parameters: dict[str, Parameter | None]
    _buffers: dict[str, Tensor | None]
    _non_persistent_buffers: set[str]
    _modules: dict[str, Module | None]

    def __init__(self) -> None:
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())

    # ---- calling ---------------------------------------------------------------------------------

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation of the module; every subclass defines it."""
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function'
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # ---- registration ----------------------------------------------------------------------------

    def _check_init(self, what: str) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {what} before Module.__init__() call: call super().__init__() "
                f"first in {type(self).__name__}.__init__"
            )

    @staticmethod
    def _check_name(name: Any, what: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"{what} name should be a string, got {type(name).__name__}")
        if not name:
            raise KeyError(f'{what} name can\'t be empty string ""')
        if "." in name:
            raise KeyError(f'{what} name can\'t contain ".", got {name!r}')

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or ``None``, a declared but absent one such as a missing bias)."""
        self._check_init("parameters")
        self._check_name(name, "parameter")
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                "(nn.Parameter or None required); wrap it: nn.Parameter(tensor)"
            )
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Any, persistent: bool = True) -> None:
        """Add state that is not a parameter (saved in ``state_dict`` unless not persistent).

        Examples:
            >>> import autodiff as ad
            >>> from autodiff import nn
            >>> m = nn.Module()
            >>> m.register_buffer("count", ad.tensor(0))
            >>> dict(m.state_dict())
            {'count': array(0)}
        """
        self._check_init("buffers")
        self._check_name(name, "buffer")
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            tensor = Tensor(tensor)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module, named ``name``."""
        self._check_init("child modules")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_name(name, "module")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name: str, value: Any) -> None:
        params = self.__dict__.get("_parameters")
        if isinstance(value, Parameter):
            self._check_init("parameters")
            self._forget(name)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                    "(nn.Parameter or None expected)"
                )
            params[name] = None
        elif isinstance(value, Module):
            self._check_init("child modules")
            self._forget(name)
            self._modules[name] = value
        elif params is not None and name in self._modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as child module '{name}' "
                    "(nn.Module or None expected)"
                )
            self._modules[name] = None
        elif params is not None and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                    "(Tensor or None expected)"
                )
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name: str) -> None:
        self.__dict__.pop(name, None)
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        self._non_persistent_buffers.discard(name)

    def __getattr__(self, name: str) -> Any:
        # only called when normal lookup fails: parameters, buffers and children live in dicts
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            entries = d.get(registry)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        keys = set(super().__dir__())
        keys.update(self._parameters, self._buffers, self._modules)
        return sorted(keys)

    # ---- walking the tree ------------------------------------------------------------------------

    def named_modules(
        self, memo: set[int] | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """Every module in the tree (this one first, named ``""``), with dotted names."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from module.named_modules(memo, sub, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        """Every module in the tree, this one first."""
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct sub-modules with their attribute names."""
        seen: set[int] = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        """The direct sub-modules."""
        for _, module in self.named_children():
            yield module

    def _named_members(
        self, kind: str, prefix: str, recurse: bool, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Any]]:
        seen: set[int] = set()
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mod_prefix, module in mods:
            for name, value in getattr(module, kind).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield mod_prefix + ("." if mod_prefix else "") + name, value

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """``(dotted name, parameter)`` pairs, in registration order (each parameter once).

        Examples:
            >>> from autodiff import nn
            >>> [n for n, _ in nn.Sequential(nn.Linear(2, 2)).named_parameters()]
            ['0.weight', '0.bias']
        """
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every parameter of the tree, each once (what an optimizer is given)."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        """``(dotted name, buffer)`` pairs (running statistics and other non-trained state)."""
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """Every buffer of the tree."""
        for _, buf in self.named_buffers(recurse=recurse):
            yield buf

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every sub-module (children first) and then on this one."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    def get_submodule(self, target: str) -> Module:
        """The sub-module at a dotted path, e.g. ``model.get_submodule("layer1.0.conv1")``."""
        module: Module = self
        if not target:
            return module
        for item in target.split("."):
            child = module._modules.get(item)
            if child is None:
                raise AttributeError(f"{type(module).__name__} has no submodule `{item}`")
            module = child
        return module

    # ---- modes, gradients, dtypes ----------------------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        """Set training mode (``mode=True``) or evaluation mode on the whole tree; returns self."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: BatchNorm uses its running statistics, Dropout does nothing."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Turn gradient recording on or off for every parameter (freezing); returns self."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the ``.grad`` of every parameter: to ``None`` (default, like PyTorch) or zeros."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                g = p.grad.detach()
                g.zero_()
                p.grad = g

    def to(self, dtype: Any) -> Module:
        """Cast every floating-point parameter and buffer to ``dtype`` (``ad.float32``, ...)."""
        dtype = np.dtype(dtype)
        if not np.issubdtype(dtype, np.floating):
            raise TypeError(f"nn.Module.to only accepts floating point dtypes, got {dtype}")
        for module in self.modules():
            for name, t in list(module._parameters.items()) + list(module._buffers.items()):
                if t is None or not np.issubdtype(t.dtype, np.floating) or t.dtype == dtype:
                    continue
                grad = t.grad
                t.data = t.detach().to(dtype)
                if grad is not None:
                    t.grad = grad.detach().to(dtype)
                if name in module._buffers:
                    module._buffers[name] = t
        return self

    def float(self) -> Module:
        """Cast floating-point parameters and buffers to float32."""
        return self.to(np.float32)

    def double(self) -> Module:
        """Cast floating-point parameters and buffers to float64."""
        return self.to(np.float64)

    # ---- state dict ------------------------------------------------------------------------------

    def state_dict(
        self, destination: dict[str, Any] | None = None, prefix: str = "", keep_vars: bool = False
    ) -> dict[str, Any]:
        """Parameters and persistent buffers by dotted name, as NumPy arrays (copies).

        The order is PyTorch's: a module's own parameters, then its buffers, then its children.
        With ``keep_vars=True`` the tensors themselves are returned instead of copies.

        Examples:
            >>> from autodiff import nn
            >>> sd = nn.BatchNorm2d(3).state_dict()
            >>> list(sd)
            ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']
            >>> sd["running_var"]
            array([1., 1., 1.])
        """
        if destination is None:
            destination = OrderedDict()
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach().numpy().copy()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers:
                destination[prefix + name] = b if keep_vars else b.detach().numpy().copy()
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination, prefix + name + ".", keep_vars)
        return destination

    def _load_from_state_dict(
        self,
        state_dict: Mapping[str, Any],
        prefix: str,
        strict: bool,
        missing_keys: list[str],
        unexpected_keys: list[str],
        error_msgs: list[str],
    ) -> None:
        """Copy this module's own entries (not its children's) from ``state_dict``."""
        persistent = {
            k: v for k, v in self._buffers.items() if k not in self._non_persistent_buffers
        }
        local = {**{k: v for k, v in self._parameters.items()}, **persistent}
        for name, target in local.items():
            if target is None:
                continue
            key = prefix + name
            if key not in state_dict:
                missing_keys.append(key)
                continue
            try:
                value = _as_array(state_dict[key], key)
            except TypeError as exc:
                error_msgs.append(str(exc))
                continue
            if value.shape != tuple(target.shape):
                error_msgs.append(
                    f"size mismatch for {key}: copying a param with shape {value.shape} from "
                    f"checkpoint, the shape in current model is {tuple(target.shape)}."
                )
                continue
            with no_grad():
                target.copy_(Tensor(value))

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True
    ) -> _IncompatibleKeys:
        """Copy parameters and buffers from ``state_dict`` (arrays or tensors, dotted names).

        With ``strict=True`` (default) every key must match: missing keys, unexpected keys and
        shape mismatches are all listed in one ``RuntimeError``. With ``strict=False`` only shape
        mismatches raise; the unmatched keys are returned.

        Examples:
            >>> from autodiff import nn
            >>> a, b = nn.Linear(2, 3), nn.Linear(2, 3)
            >>> b.load_state_dict(a.state_dict())
            <All keys matched successfully>
            >>> bool((a.weight == b.weight).all())
            True
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(
                f"Expected state_dict to be dict-like, got {type(state_dict).__name__}."
            )
        missing: list[str] = []
        unexpected: list[str] = []
        errors: list[str] = []
        expected: set[str] = set()
        for prefix, module in self.named_modules(remove_duplicate=False):
            p = prefix + "." if prefix else ""
            module._load_from_state_dict(state_dict, p, strict, missing, unexpected, errors)
            expected.update(p + k for k, v in module._parameters.items() if v is not None)
            expected.update(
                p + k
                for k, v in module._buffers.items()
                if v is not None and k not in module._non_persistent_buffers
            )
        unexpected.extend(k for k in state_dict if k not in expected)
        if strict:
            if unexpected:
                listed = ", ".join(f'"{k}"' for k in unexpected)
                errors.insert(0, f"Unexpected key(s) in state_dict: {listed}. ")
            if missing:
                listed = ", ".join(f'"{k}"' for k in missing)
                errors.insert(0, f"Missing key(s) in state_dict: {listed}. ")
        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                + "\n\t".join(errors)
            )
        return _IncompatibleKeys(missing, unexpected)

    # ---- copying -------------------------------------------------------------------------------

    def __deepcopy__(self, memo: dict[int, Any]) -> Module:
        """``copy.deepcopy(model)``: an independent model with copied parameters and buffers."""
        for module in self.modules():
            for t in (*module._parameters.values(), *module._buffers.values()):
                if t is not None and id(t) not in memo:
                    memo[id(t)] = _copy_tensor(t)
        new = object.__new__(type(self))
        memo[id(self)] = new
        for key, value in self.__dict__.items():
            object.__setattr__(new, key, copy.deepcopy(value, memo))
        return new

    # ---- printing --------------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The text inside the parentheses of this module's line (its settings)."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [
            f"({key}): " + _addindent(repr(module), 2) for key, module in self._modules.items()
        ]
        lines = extra_lines + child_lines
        text = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                text += extra_lines[0]
            else:
                text += "\n  " + "\n  ".join(lines) + "\n"
        return text + ")"
