"""Tensor methods generated from the registry (PyTorch's names and argument names), the default
dtype of the Tensor factories, and the one-way imports of the facade."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import numpy as np
import pytest

import autodiff as ad
from autodiff import registry, tensor_methods
from autodiff.registry import defcomposite, defop

ROOT = Path(ad.__file__).parent


def _generated(name: str):
    return getattr(vars(ad.Tensor).get(name), "op", None)


# ---- real methods, visible to dir() -------------------------------------------------------------


def test_methods_are_real_attributes_visible_to_dir():
    names = dir(ad.Tensor)
    for name in ["sin", "exp", "tanh", "relu", "abs", "maximum", "atan2", "clamp", "amax",
                 "logsumexp", "softmax", "cumsum", "tril", "flip", "movedim"]:  # fmt: skip
        assert name in names, name
        assert name in vars(ad.Tensor), name
    assert "__getattr__" not in vars(ad.Tensor)
    with pytest.raises(AttributeError):
        _ = ad.tensor([1.0]).no_such_method


def test_methods_have_pytorchs_signatures_and_docs():
    sig = inspect.signature(ad.Tensor.clamp)
    assert list(sig.parameters) == ["self", "min", "max"]
    assert list(inspect.signature(ad.Tensor.amax).parameters) == ["self", "dim", "keepdim"]
    assert list(inspect.signature(ad.Tensor.atan2).parameters) == ["self", "other"]
    assert list(inspect.signature(ad.Tensor.diagonal).parameters) == [
        "self", "offset", "dim1", "dim2"
    ]  # fmt: skip
    assert ad.Tensor.clamp.__qualname__ == "Tensor.clamp"
    assert ad.Tensor.clamp.__module__ == "autodiff.tensor"
    assert "``min`` (NumPy's ``a_min``)" in ad.Tensor.clamp.__doc__


def test_pytorchs_aliases_are_the_same_method():
    assert ad.Tensor.arcsin is ad.Tensor.asin
    assert ad.Tensor.clip is ad.Tensor.clamp
    assert ad.Tensor.subtract is ad.Tensor.sub
    x = ad.tensor([0.25, 0.5])
    np.testing.assert_allclose(x.arcsin().numpy(), np.arcsin([0.25, 0.5]))


@pytest.mark.skipif("roll" not in [op.name for op in registry.ops()], reason="no roll op yet")
def test_roll_takes_pytorchs_argument_names():
    x = np.arange(6.0).reshape(2, 3)
    t = ad.tensor(x, requires_grad=True)
    out = t.roll(shifts=1, dims=0)
    np.testing.assert_array_equal(out.detach().numpy(), np.roll(x, 1, axis=0))
    np.testing.assert_array_equal(t.roll(1).detach().numpy(), np.roll(x, 1))
    w = np.arange(6.0).reshape(2, 3) ** 2
    (out * ad.tensor(w)).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), np.roll(w, -1, axis=0))
    with pytest.raises(TypeError, match="axis"):
        t.roll(1, axis=0)  # NumPy's name is not PyTorch's


def test_two_argument_ops_are_methods():
    a = ad.tensor([1.0, -2.0, 3.0], requires_grad=True)
    b = ad.tensor([2.0, 2.0, 2.0], requires_grad=True)
    np.testing.assert_array_equal(a.maximum(b).detach().numpy(), [2.0, 2.0, 3.0])
    np.testing.assert_array_equal(a.minimum(0.0).detach().numpy(), [0.0, -2.0, 0.0])
    y = a.atan2(b)
    np.testing.assert_allclose(y.detach().numpy(), np.arctan2([1.0, -2.0, 3.0], 2.0))
    y.sum().backward()
    av, bv = np.array([1.0, -2.0, 3.0]), 2.0
    np.testing.assert_allclose(a.grad.numpy(), bv / (av**2 + bv**2))
    np.testing.assert_allclose(b.grad.numpy(), -av / (av**2 + bv**2))
    assert y.grad_fn.name() == "Atan2Backward0"


def test_reductions_and_shapes_in_pytorchs_words():
    x = np.arange(12.0).reshape(3, 4) - 5
    t = ad.tensor(x)
    np.testing.assert_array_equal(t.amax(dim=1, keepdim=True).numpy(), x.max(1, keepdims=True))
    np.testing.assert_array_equal(t.prod(dim=0).numpy(), x.prod(0))
    np.testing.assert_array_equal(t.cumsum(dim=1).numpy(), np.cumsum(x, 1))
    np.testing.assert_allclose(t.logsumexp(dim=0).numpy(), np.log(np.exp(x).sum(0)))
    np.testing.assert_array_equal(t.clamp(min=0.0).numpy(), np.clip(x, 0, None))
    np.testing.assert_array_equal(t.tril(diagonal=-1).numpy(), np.tril(x, -1))
    np.testing.assert_array_equal(t.flip(dims=(1,)).numpy(), x[:, ::-1])
    np.testing.assert_array_equal(t.movedim(0, 1).numpy(), x.T)
    np.testing.assert_array_equal(t.diagonal(dim1=1, dim2=0).numpy(), np.diagonal(x, 0, 1, 0))
    np.testing.assert_array_equal(t.repeat_interleave(2, dim=0).numpy(), np.repeat(x, 2, 0))
    np.testing.assert_array_equal(t.tile((2, 1)).numpy(), np.tile(x, (2, 1)))
    np.testing.assert_allclose(t.softmax(dim=0).numpy().sum(0), np.ones(4))
    np.testing.assert_array_equal((t @ t.T).numpy(), t.matmul(t.T).numpy())


def test_hand_written_methods_keep_pytorchs_semantics():
    t = ad.tensor([[1.0, 5.0], [4.0, 2.0]])
    values, indices = t.max(dim=1)
    np.testing.assert_array_equal(values.numpy(), [5.0, 4.0])
    np.testing.assert_array_equal(indices.numpy(), [1, 0])
    assert float(t.var()) == pytest.approx(np.var(t.numpy(), ddof=1))  # unbiased, as PyTorch
    # Tensor.repeat tiles, as in PyTorch (NumPy's repeat is repeat_interleave)
    np.testing.assert_array_equal(ad.tensor([1.0, 2.0]).repeat(2).numpy(), [1.0, 2.0, 1.0, 2.0])
    assert ad.tensor([1.0, 2.0]).repeat(3, 1).shape == (3, 2)
    with pytest.raises(RuntimeError, match="can not be smaller"):
        t.repeat(2)
    np.testing.assert_array_equal(t.where(t > 2, 0.0).numpy(), [[0.0, 5.0], [4.0, 0.0]])
    np.testing.assert_array_equal(t.reshape(4).numpy(), [1.0, 5.0, 4.0, 2.0])
    np.testing.assert_array_equal(t.reshape((1, -1)).numpy(), [[1.0, 5.0, 4.0, 2.0]])


def test_grad_fn_names_follow_pytorch():
    x = ad.tensor([0.5, -0.5], requires_grad=True)
    assert x.clamp(0.0, 1.0).grad_fn.name() == "ClampBackward0"
    assert x.arcsin().grad_fn.name() == "AsinBackward0"
    assert (x * x).grad_fn.name() == "MulBackward0"
    assert (x - x).grad_fn.name() == "SubBackward0"


# ---- every generated method: the op's value and gradient ----------------------------------------


def _generated_ops():
    out = []
    for op in registry.ops():
        if op.torch and _generated(op.torch) is op and op.samples is not None:
            out.append(op)
    return out


@pytest.mark.parametrize("op", _generated_ops(), ids=lambda op: op.name)
def test_each_generated_method_gives_its_ops_value_and_gradient(op):
    rename = op.torch_args
    for args, params in op.samples(np.random.default_rng(0)):
        if not all(isinstance(a, np.ndarray) and a.dtype == np.float64 for a in args):
            continue
        tensors = [ad.tensor(a, requires_grad=True) for a in args]
        torch_params = {rename.get(k, k): v for k, v in params.items()}
        out = getattr(tensors[0], op.torch)(*tensors[1:], **torch_params)
        if isinstance(out, tuple):  # (slogdet's sign, logabsdet): the values only
            for got, want in zip(out, op.public(*args, **params)):
                got = got.detach().numpy() if isinstance(got, ad.Tensor) else got
                np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
            continue
        want, pullback = ad.vjp(lambda *xs, p=params: op.public(*xs, **p), *args)
        got = out.detach().numpy() if isinstance(out, ad.Tensor) else np.asarray(out)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
        if not isinstance(out, ad.Tensor) or not out.requires_grad:
            continue
        w = np.random.default_rng(1).standard_normal(np.shape(want))
        out.backward(ad.tensor(w))
        cotangents = pullback(w)
        cotangents = cotangents if isinstance(cotangents, tuple) else (cotangents,)
        for t, ct in zip(tensors, cotangents):
            grad = np.zeros(t.shape) if t.grad is None else t.grad.numpy()
            np.testing.assert_allclose(grad, ct, rtol=1e-12, atol=1e-12)


# ---- ops declared later: a method at once, and none after remove --------------------------------


def _cube(x, scale=1.0):
    return scale * x**3


def test_a_late_op_gets_a_method_and_remove_takes_it_away():
    defop(
        "late_cube", _cube, params={"scale": 1.0}, elementwise=True,
        partials=(lambda ans, x, scale: 3.0 * scale * x**2,),
        samples=lambda rng: [((rng.standard_normal(3),), {"scale": 2.0})],
        formula="d(s·x³) = 3s·x²·dx", vjp_formula="x̄ = 3s·x²·ḡ",
        torch="cube_it", torch_args={"scale": "alpha"},
    )  # fmt: skip
    try:
        assert "cube_it" in dir(ad.Tensor)
        assert list(inspect.signature(ad.Tensor.cube_it).parameters) == ["self", "alpha"]
        x = ad.tensor([1.0, 2.0], requires_grad=True)
        x.cube_it(alpha=2.0).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), [6.0, 24.0])
    finally:
        registry.remove("late_cube")
    assert "cube_it" not in dir(ad.Tensor)
    assert not hasattr(ad.tensor([1.0]), "cube_it")


def test_a_late_composite_gets_a_method_too():
    @defcomposite(torch="twice_shifted", torch_args={"amount": "shifts"})
    def late_shift(x, amount=1, *, scale=2.0):
        return ad.multiply(ad.add(x, float(amount)), scale)

    try:
        sig = inspect.signature(ad.Tensor.twice_shifted)
        assert list(sig.parameters) == ["self", "shifts", "scale"]
        assert sig.parameters["scale"].kind is inspect.Parameter.KEYWORD_ONLY
        x = ad.tensor([1.0, 2.0], requires_grad=True)
        y = x.twice_shifted(shifts=3, scale=0.5)
        np.testing.assert_allclose(y.detach().numpy(), [2.0, 2.5])
        y.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), [0.5, 0.5])
    finally:
        registry.remove("late_shift")
    assert not hasattr(ad.Tensor, "twice_shifted")


def test_hand_written_methods_win_and_the_first_declaration_keeps_a_name():
    hand_written_sum = vars(ad.Tensor)["sum"]
    first = defop("late_a", np.negative, jvp=(lambda t, ans, x: -t,),
                  vjp=(lambda g, ans, x: -g,), torch="late_name")  # fmt: skip
    second = defop("late_b", np.positive, linear=True, vjp=(lambda g, ans, x: g,),
                   torch="late_name")  # fmt: skip
    third = defop("late_c", np.positive, linear=True, vjp=(lambda g, ans, x: g,), torch="sum")
    defop("late_d", np.positive, linear=True, vjp=(lambda g, ans, x: g,), torch="shape")
    try:
        assert vars(ad.Tensor)["sum"] is hand_written_sum
        assert ad.tensor([1.0, 2.0]).shape == (2,)  # an inherited property stays itself
        assert ad.Tensor.late_name.op is first
        registry.remove("late_a")
        assert ad.Tensor.late_name.op is second  # the next op with that name takes it over
    finally:
        for name in ("late_a", "late_b", "late_c", "late_d"):
            if name in [op.name for op in registry.ops()]:
                registry.remove(name)
    assert not hasattr(ad.Tensor, "late_name")
    assert vars(ad.Tensor)["sum"] is hand_written_sum
    assert first is not second is not third


def test_torch_args_must_name_parameters():
    with pytest.raises(ValueError, match="late_bad: torch_args renames"):
        bad = {"axis": "dim", "dim": "axis"}
        tensor_methods.make_method(
            registry.Op("late_bad", np.negative, params={"axis": None}, torch="bad", torch_args=bad)
        )


# ---- the default dtype --------------------------------------------------------------------------


@pytest.fixture
def float32_default():
    ad.set_default_dtype(ad.float32)
    try:
        yield
    finally:
        ad.set_default_dtype(ad.float64)


def test_default_dtype_is_float64():
    assert ad.get_default_dtype() == np.float64
    assert ad.tensor([1.0]).dtype == np.float64
    assert ad.zeros(2).dtype == np.float64


def test_set_default_dtype_round_trip(float32_default):
    assert ad.get_default_dtype() == np.float32
    for t in [ad.tensor([1.5]), ad.tensor(2.0), ad.zeros(2), ad.ones(2, 3), ad.rand(2),
              ad.randn(2), ad.full((2,), 1.5), ad.arange(0, 1, 0.25), ad.linspace(0, 1, 3),
              ad.eye(2), ad.zeros_like([1.0, 2.0])]:  # fmt: skip
        assert t.dtype == np.float32, t
    assert ad.tensor([1.0 + 1j]).dtype == np.complex64
    # what is not a Python float keeps its dtype, as in PyTorch
    assert ad.tensor(np.array([1.0])).dtype == np.float64
    assert ad.tensor([1, 2]).dtype == np.int64
    assert ad.arange(3).dtype == np.int64
    assert ad.full((2,), 7).dtype == np.int64
    assert ad.zeros(2, dtype=ad.float64).dtype == np.float64
    ad.set_default_dtype(np.float64)
    assert ad.get_default_dtype() == np.float64
    assert ad.tensor([1.5]).dtype == np.float64


def test_set_default_dtype_refuses_other_types():
    with pytest.raises(TypeError, match="only floating-point types"):
        ad.set_default_dtype(ad.int64)
    assert ad.get_default_dtype() == np.float64


def test_float32_default_trains_end_to_end_in_float32(float32_default):
    _ = ad.manual_seed(0)
    model = ad.nn.Sequential(ad.nn.Linear(3, 4), ad.nn.Tanh(), ad.nn.Linear(4, 1))
    assert all(p.dtype == np.float32 for p in model.parameters())
    opt = ad.optim.Adam(model.parameters(), lr=0.01)
    x, y = ad.randn(8, 3), ad.randn(8, 1)
    loss = ad.nn.functional.mse_loss(model(x), y)
    assert loss.dtype == np.float32
    loss.backward()
    opt.step()
    assert all(p.dtype == np.float32 and p.grad.dtype == np.float32 for p in model.parameters())


# ---- the facade's imports run one way -----------------------------------------------------------


def _is_module(name: str) -> bool:
    base = ROOT.parent / Path(*name.split("."))
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def _imports_anywhere(path: Path) -> set[str]:
    """Every module the file imports, at module level or inside functions (``from autodiff
    import rng`` imports ``autodiff.rng``; ``from autodiff import Tensor`` the package root)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                found.add(sub if _is_module(sub) else node.module)
    return found


def test_autograd_never_imports_the_tensor_module():
    for name in ("autograd.py", "tensor_methods.py"):
        assert "autodiff.tensor" not in _imports_anywhere(ROOT / name), name


def test_nn_optim_models_import_concrete_modules_not_the_package_root():
    for path in [*ROOT.glob("nn/*.py"), *ROOT.glob("optim/*.py"), *ROOT.glob("models/*.py")]:
        assert "autodiff" not in _imports_anywhere(path), path


def test_the_package_imports_its_layers_without_a_deferred_block():
    deferred = [line for line in (ROOT / "__init__.py").read_text().splitlines() if "E402" in line]
    for layer in ("models", "nn", "optim", "io"):
        assert not [line for line in deferred if layer in line], layer


def test_tensor_nodes_own_their_fields():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    node = y._node
    assert node.versions == ((x._version, 0),)
    assert node.out_version is y._version and node.out_seen == 0
    assert node.freed is False and node.retain_ref is None
    assert x._node.tensor_ref() is x
