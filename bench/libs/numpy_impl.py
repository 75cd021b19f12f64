"""Plain NumPy: the forward evaluations that the ratios divide by, and hand-written derivatives
(the floors: what a person who derives the gradient by hand gets)."""

from __future__ import annotations

import numpy as np

from bench import problems as P
from bench.harness import Impl

VERSION = np.__version__


def perop(p: P.PerOp) -> list[Impl]:
    n = p.iterations

    def forward():
        x = p.x0
        for _ in range(n):
            x = np.sin(x) * 1.01 + 0.1
        return x

    def fwd_bwd():  # keep what the backward needs (cos x_k), then sweep it backwards
        x, saved = p.x0, []
        for _ in range(n):
            saved.append(np.cos(x))
            x = np.sin(x) * 1.01 + 0.1
        g = p.ones
        for c in reversed(saved):
            g = g * 1.01 * c
        return g

    def jvp():  # carry the tangent along
        x, t = p.x0, p.ones
        for _ in range(n):
            t = t * 1.01 * np.cos(x)
            x = np.sin(x) * 1.01 + 0.1
        return x, t

    return [
        Impl("forward", lambda: forward),
        Impl("fwd+bwd", lambda: fwd_bwd, "hand-written"),
        Impl("jvp", lambda: jvp, "hand-written"),
    ]


def mlp(p: P.MLP) -> list[Impl]:
    params, X, Y = p.params, p.X, p.Y
    return [
        Impl("forward", lambda: lambda: P.mlp_forward(params, X, Y)),
        Impl(
            "fwd+bwd",
            lambda: lambda: P.mlp_backward(params, X, Y)[1],
            "hand-written",
            ref_flavor="",
        ),
    ]


def jacobian(p: P.Jacobians, name: str) -> list[Impl]:
    fun = getattr(p, name)
    x = p.xh if name == "h" else p.x
    W, V = p.W, p.V

    def closed_form():
        if name == "f":
            t = np.tanh(W @ x)
            J = (1 - t * t)[:, None] * W
            J[np.diag_indices_from(J)] += 2 * x
            return J
        if name == "g":
            t = np.tanh(W @ x)
            return W.T @ (1 - t * t)
        t = np.tanh(V @ x)
        return (1 - t * t)[:, None] * V

    # One vectorized sweep written by hand, the basis as the batch: the floor for autodiff's
    # vectorized builders, which do the same products (the n×n basis times W is a full GEMM).
    M = V if name == "h" else W

    def forward_sweep():
        t = np.tanh(M @ x)
        T = np.eye(x.size) @ M.T * (1 - t * t)  # row j: the tangent of out for e_j
        if name == "f":
            T += np.eye(x.size) * (2 * x)
        return T.T

    def reverse_sweep():
        t = np.tanh(M @ x)
        G = np.eye(1 if name == "g" else t.size)  # row i: the cotangent e_i of out
        X = (G * (1 - t * t)) @ M
        if name == "f":
            X += G * (2 * x)
        return X[0] if name == "g" else X

    sweeps = []
    note = "hand-written sweep, the basis as the batch"
    if name != "g":
        sweeps.append(Impl("jacfwd", lambda: forward_sweep, "basis sweep", note=note))
    if name != "h":
        sweeps.append(Impl("jacrev", lambda: reverse_sweep, "basis sweep", note=note))
    return [
        Impl("eval", lambda: lambda: fun(x)),
        Impl("jacobian", lambda: closed_form, "closed form"),
        *sweeps,
    ]


def hvp(p: P.HVP) -> list[Impl]:
    return [
        Impl("eval", lambda: lambda: p.F(p.x)),
        Impl("grad", lambda: lambda: p.grad(p.x), "closed form"),
        Impl("hvp", lambda: lambda: p.hvp(p.x, p.v), "closed form", ref_flavor="closed form"),
    ]


def memory(p: P.DeepMLP) -> list[Impl]:
    return [Impl("fwd+bwd", lambda: lambda: P.deep_backward(p.Ws, p.X), "hand-written")]


def resnet(p: P.ResNet) -> list[Impl]:
    sd, x = p.state_dict, p.x
    return [
        Impl("forward", lambda: lambda: P.resnet18_forward(sd, x)[0], note="im2col convolutions")
    ]


def perexample(p: P.PerExample) -> list[Impl]:
    params, X, Y = p.params, p.X, p.Y
    return [
        Impl(
            "per-example grads",
            lambda: lambda: P.per_example_backward(params, X, Y),
            "hand-written",
        )
    ]


def sim(p: P.Sim) -> list[Impl]:
    args = p.args
    return [
        Impl("forward", lambda: lambda: p.forward(*args)),
        Impl(
            "grad",
            lambda: lambda: P.sim_backward(*args, steps=p.steps, dt=p.dt),
            "hand-written",
        ),
    ]


# --------------------------------------------------------------------------- 9. dask


def dask(p) -> list[Impl]:
    """The eager floors of the ``dask`` workload: value and hand-written gradient in NumPy."""

    def tanh():
        def run():
            t = np.tanh(p.x_np)
            g = 2 * t * (1 - t * t)
            return np.sum(t * t), np.sum(g), np.sum(g * g)

        return run

    def lstsq():
        def run():
            r = p.A_np @ p.w - p.b_np
            return r @ r / p.rows, 2 * (p.A_np.T @ r) / p.rows

        return run

    return [Impl("tanh value+grad", tanh), Impl("lstsq value+grad", lstsq)]
