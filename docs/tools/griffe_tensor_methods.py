"""A griffe extension for the API reference: the ``Tensor`` methods that autodiff generates from
the registry at import (``autodiff/tensor_methods.py``) exist only at run time, so griffe's static
reading of ``tensor.py`` cannot see them. After the static visit of ``Tensor``, this extension
inspects the imported class and adds every method the source does not spell out, with its real
signature and docstring."""

from __future__ import annotations

from typing import Any

import griffe


class TensorMethods(griffe.Extension):
    def on_class_members(self, *, cls: griffe.Class, **kwargs: Any) -> None:
        if cls.path != "autodiff.tensor.Tensor":
            return
        inspected = griffe.inspect("autodiff.tensor")["Tensor"]
        for name, member in inspected.members.items():
            if name in cls.members or name.startswith("_") or not member.is_function:
                continue
            member.parent = cls
            cls.set_member(name, member)
