"""autodiff's side of every workload: all of autodiff's API that the benchmarks use is here.

Each function looks its API up with `need()` when the case is built, so that an API that does not
exist yet skips that one case ("autodiff.jacfwd not available yet") instead of failing the run.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

import autodiff as ad
from bench import problems as P
from bench.harness import Impl, Unavailable

VERSION = getattr(ad, "__version__", "unknown")


def need(path: str) -> Any:
    """``autodiff.<path>`` (dotted), or `Unavailable` naming it."""
    obj: Any = ad
    parts = path.split(".")
    for i, part in enumerate(parts):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            try:  # a subpackage that autodiff/__init__.py does not import
                obj = importlib.import_module("autodiff." + ".".join(parts[: i + 1]))
            except ImportError:
                raise Unavailable(f"autodiff.{path} not available yet") from None
    return obj


def _first(g: Any) -> Any:
    """The cotangent of the only input: ``pullback`` returns a tuple with one per input."""
    return g[0] if isinstance(g, tuple) and len(g) == 1 else g


# --------------------------------------------------------------------------- 1. per-op overhead


def perop(p: P.PerOp) -> list[Impl]:
    n = p.iterations

    def loop_with(sin):
        def loop(x):
            for _ in range(n):
                x = sin(x) * 1.01 + 0.1
            return x

        return loop

    def sin_of(flavor):
        return need("sin") if flavor == "ad.sin" else np.sin

    def record(flavor):
        def make():
            vjp, loop, x0 = need("vjp"), loop_with(sin_of(flavor)), p.x0

            def run():  # forward with recording: the tape is built, the pullback never called
                out, _ = vjp(loop, x0)
                return out

            return run

        return Impl("record", make, flavor)

    def fwd_bwd(flavor):
        def make():
            vjp, loop, x0, ct = need("vjp"), loop_with(sin_of(flavor)), p.x0, p.ones

            def run():
                _, pullback = vjp(loop, x0)
                return _first(pullback(ct))

            return run

        return Impl("fwd+bwd", make, flavor)

    def jvp(flavor):
        def make():
            jvp, loop, x0, t0 = need("jvp"), loop_with(sin_of(flavor)), p.x0, p.ones
            return lambda: jvp(loop, (x0,), (t0,))

        return Impl("jvp", make, flavor)

    def build_fwd_bwd():
        vjp, loop = need("vjp"), loop_with(np.sin)
        return (lambda x, ct: _first(vjp(loop, x)[1](ct))), (p.x0, p.ones)

    impls = [f(fl) for f in (record, fwd_bwd, jvp) for fl in ("ad.sin", "np.sin")]
    return [*impls, _compiled(Impl("fwd+bwd", None), build_fwd_bwd)]


# --------------------------------------------------------------------------- 2. MLP gradient


def _mlp_loss(X, Y):
    B = X.shape[0]

    def loss(W1, b1, W2, b2, W3, b3):
        h1 = ad.tanh(ad.matmul(X, W1) + b1)
        h2 = ad.tanh(ad.matmul(h1, W2) + b2)
        z = ad.matmul(h2, W3) + b3
        lse = ad.logsumexp(z, axis=1, keepdims=True)
        return -ad.sum(Y * (z - lse)) / B

    return loss


def mlp(p: P.MLP) -> list[Impl]:
    def record():
        vjp, loss, params = need("vjp"), _mlp_loss(p.X, p.Y), p.params
        return lambda: vjp(loss, *params)[0]

    def fwd_bwd():
        vjp, loss, params, one = need("vjp"), _mlp_loss(p.X, p.Y), p.params, np.ones(())

        def run():
            _, pullback = vjp(loss, *params)
            return pullback(one)

        return run

    def tensor_fwd_bwd():
        tensor = need("tensor")
        cross_entropy = need("nn.functional.cross_entropy")
        params = [tensor(a, requires_grad=True) for a in p.params]
        X, labels = tensor(p.X), tensor(p.labels)

        def run():
            for t in params:
                t.grad = None
            W1, b1, W2, b2, W3, b3 = params
            h1 = (X @ W1 + b1).tanh()
            h2 = (h1 @ W2 + b2).tanh()
            loss = cross_entropy(h2 @ W3 + b3, labels)
            loss.backward()
            return tuple(t.grad for t in params)

        return run

    def tensor_forward():
        tensor, no_grad = need("tensor"), need("no_grad")
        cross_entropy = need("nn.functional.cross_entropy")
        params = [tensor(a) for a in p.params]
        X, labels = tensor(p.X), tensor(p.labels)

        def run():
            with no_grad():
                W1, b1, W2, b2, W3, b3 = params
                h1 = (X @ W1 + b1).tanh()
                h2 = (h1 @ W2 + b2).tanh()
                return cross_entropy(h2 @ W3 + b3, labels)

        return run

    def build_fwd_bwd():
        vjp, loss = need("vjp"), _mlp_loss(p.X, p.Y)
        return (lambda *ps: vjp(loss, *ps)[1](np.ones(()))), tuple(p.params)

    return [
        Impl("record", record, "vjp"),
        Impl("fwd+bwd", fwd_bwd, "vjp"),
        _compiled(Impl("fwd+bwd", None, ref_flavor="Tensor"), build_fwd_bwd),
        Impl("forward", tensor_forward, "Tensor"),
        Impl("fwd+bwd", tensor_fwd_bwd, "Tensor"),
    ]


# --------------------------------------------------------------------------- 3. Jacobians


def _jac_fun(p: P.Jacobians, name: str):
    W, V = p.W, p.V
    if name == "f":
        return lambda x: ad.tanh(ad.matmul(W, x)) + x**2
    if name == "g":
        return lambda x: ad.sum(ad.tanh(ad.matmul(W, x)))
    return lambda x: ad.tanh(ad.matmul(V, x))


def jacobian(p: P.Jacobians, name: str) -> list[Impl]:
    x = p.xh if name == "h" else p.x

    def builder(kind, vectorize):
        def make():
            jac = need(kind)(_jac_fun(p, name), vectorize=vectorize)
            return lambda: jac(x)

        return Impl(kind, make, "vectorized" if vectorize else "looped")

    return [builder(k, v) for k in ("jacfwd", "jacrev") for v in (True, False)]


# --------------------------------------------------------------------------- 4. HVP


def hvp(p: P.HVP) -> list[Impl]:
    W, x, v = p.W, p.x, p.v

    def F(x):
        return ad.sum(ad.tanh(ad.matmul(W, x)) ** 2)

    def grad():
        g = need("grad")(F)
        return lambda: g(x)

    def hvp_builtin():
        hvp = need("hvp")

        def run():
            out = hvp(F, (x,), (v,))
            while isinstance(out, tuple):  # (Hv,) or (grad, Hv): the HVP comes last
                out = out[-1]
            return out

        return run

    def fwd_over_rev():
        jvp, g = need("jvp"), need("grad")(F)
        return lambda: jvp(g, (x,), (v,))[1]

    def rev_over_rev():
        grad, g = need("grad"), need("grad")(F)
        gv = grad(lambda x: ad.sum(g(x) * v))
        return lambda: gv(x)

    def build_grad():
        return need("grad")(F), (x,)

    def build_hvp():
        hvp = need("hvp")

        def hv(x, v):
            out = hvp(F, (x,), (v,))
            while isinstance(out, tuple):  # (Hv,) or (grad, Hv): the HVP comes last
                out = out[-1]
            return out

        return hv, (x, v)

    return [
        Impl("grad", grad),
        _compiled(Impl("grad", None), build_grad),
        _compiled(Impl("hvp", None, ref_flavor="ad.compile"), build_hvp),
        Impl("hvp", hvp_builtin, "ad.hvp", ref_flavor=""),
        Impl("hvp", fwd_over_rev, "jvp of grad", ref_flavor=""),
        Impl("hvp", rev_over_rev, "grad of grad", ref_flavor=""),
    ]


# --------------------------------------------------------------------------- 5. memory


def memory(p: P.DeepMLP) -> list[Impl]:
    def make():
        vjp, Ws, X, one = need("vjp"), p.Ws, p.X, np.ones(())

        def loss(*Ws):
            h = X
            for W in Ws:
                h = ad.tanh(ad.matmul(h, W))
            return ad.sum(h)

        def run():
            _, pullback = vjp(loss, *Ws)
            return pullback(one)

        return run

    def make_tensor():
        # the facade sweeps once and gives each node's saved values back as it goes
        tensor = need("tensor")
        X = tensor(p.X)
        Ws = [tensor(W, requires_grad=True) for W in p.Ws]  # the parameters exist before the step

        def run():
            h = X
            for W in Ws:
                h = (h @ W).tanh()
            h.sum().backward()
            grads = tuple(W.grad.numpy() for W in Ws)
            for W in Ws:  # the gradients go to the caller, as with torch.autograd.grad: a
                W.grad = None  # later run must not find the last run's memory to reuse
            return grads

        return run

    return [Impl("fwd+bwd", make, "vjp"), Impl("fwd+bwd", make_tensor, "Tensor")]


# --------------------------------------------------------------------------- 6. ResNet-18


def _resnet(p: P.ResNet):
    model = need("models.resnet18")(num_classes=p.num_classes)
    tensor = need("tensor")
    sd = {k: np.array(v) for k, v in p.state_dict.items()}
    try:
        model.load_state_dict(sd)
    except Exception:
        model.load_state_dict({k: tensor(v) for k, v in sd.items()})
    return model, tensor(p.x), tensor(p.labels)


def resnet(p: P.ResNet) -> list[Impl]:
    def forward():
        no_grad = need("no_grad")
        model, x, _ = _resnet(p)

        def run():
            with no_grad():
                return model(x)

        return run

    def step():
        SGD = need("optim.SGD")
        model, x, labels = _resnet(p)
        opt = SGD(model.parameters(), lr=1e-2, momentum=0.9)

        def run():
            opt.zero_grad()
            loss = (model(x) - labels).sum()
            loss.backward()
            grad = model.fc.weight.grad
            opt.step()
            return loss, grad

        return run

    return [Impl("forward", forward), Impl("step", step)]


# --------------------------------------------------------------------------- 7. per-example grads


def perexample(p: P.PerExample) -> list[Impl]:
    params, X, Y = p.params, p.X, p.Y

    def vmapped():
        vmap, grad = need("vmap"), need("grad")
        g = vmap(grad(P.per_example_loss), in_axes=(None, 0, 0))
        return lambda: g(params, X, Y)

    def looped():
        g = need("grad")(P.per_example_loss)

        def run():
            grads = [g(params, x, y) for x, y in zip(X, Y)]
            return tuple(np.stack(column) for column in zip(*grads))

        return run

    return [
        Impl("per-example grads", looped, "loop of grad"),
        Impl("per-example grads", vmapped, "vmap(grad)"),
    ]


# --------------------------------------------------------------------------- 8. simulation


def sim(p: P.Sim) -> list[Impl]:
    args = p.args

    def loss(theta, omega, g_l):
        return P.sim_forward(theta, omega, g_l, steps=p.steps, dt=p.dt)

    def eager():
        g = need("grad")(loss, argnums=(0, 1, 2))
        return lambda: g(*args)

    def compiled():
        g = need("compile")(need("grad")(loss, argnums=(0, 1, 2)))
        g(*args)  # the first call records; the second builds the replay; the timed calls replay
        g(*args)
        return lambda: g(*args)

    def first_call():
        compile_, grad = need("compile"), need("grad")

        def run():  # a new compiled function each time: the recording is what is timed
            return compile_(grad(loss, argnums=(0, 1, 2)))(*args)

        return run

    return [
        Impl("grad", eager, "eager"),
        Impl("grad", compiled, "ad.compile"),
        Impl("grad", first_call, "ad.compile, first call", ref_flavor="eager"),
    ]


def _compiled(impl: Impl, build: Any) -> Impl:
    """The same computation under ``ad.compile`` (recorded once before timing)."""

    def make():
        compile_ = need("compile")
        fn, args = build()
        compiled = compile_(fn)
        compiled(*args)  # records
        compiled(*args)  # builds the replay
        return lambda: compiled(*args)

    return Impl(impl.kind, make, "ad.compile", ref_flavor=impl.ref_flavor)


# --------------------------------------------------------------------------- 9. dask


def dask(p) -> list[Impl]:
    """``value_and_grad`` on the eager NumPy inputs and on the chunked dask ones (LocalCluster)."""
    from bench.dask_problem import lstsq_loss, tanh_loss

    eager, chunked = "NumPy arrays", "dask, LocalCluster 2×1"

    def tanh_numpy():
        f = need("value_and_grad")(tanh_loss)

        def run():
            v, g = f(p.x_np)
            return v, np.sum(g), np.sum(g * g)

        return run

    def tanh_dask():
        import dask

        f = need("value_and_grad")(tanh_loss)
        p.client()

        def run():
            v, g = f(p.x)
            lazy = type(g).__module__.startswith("dask")
            out = dask.compute(v, g.sum(), (g * g).sum())
            p.record(("autodiff", f"tanh value+grad [{chunked}]"), lazy)
            return out

        return run

    def lstsq_numpy():
        f = need("value_and_grad")(lstsq_loss)
        return lambda: f(p.w, p.A_np, p.b_np)

    def lstsq_dask():
        import dask

        f = need("value_and_grad")(lstsq_loss)
        p.client()

        def run():
            v, g = f(p.w, p.A, p.b)
            lazy = type(g).__module__.startswith("dask")
            out = dask.compute(v, g)
            p.record(("autodiff", f"lstsq value+grad [{chunked}]"), lazy)
            return out

        return run

    return [
        Impl("tanh value+grad", tanh_numpy, eager),
        Impl("tanh value+grad", tanh_dask, chunked),
        Impl("lstsq value+grad", lstsq_numpy, eager),
        Impl("lstsq value+grad", lstsq_dask, chunked),
    ]
