"""HIPS autograd: reverse mode by tracing NumPy calls, plus its forward mode (``make_jvp``)."""

from __future__ import annotations

import importlib.metadata

import autograd
import autograd.numpy as anp
import numpy as np
from autograd.differential_operators import make_jvp, make_vjp
from autograd.scipy.special import logsumexp

from bench import problems as P
from bench.harness import Impl

VERSION = importlib.metadata.version("autograd")


# --------------------------------------------------------------------------- 1. per-op overhead


def perop(p: P.PerOp) -> list[Impl]:
    n = p.iterations
    x0, ones = p.x0, p.ones

    def loop(x):
        for _ in range(n):
            x = anp.sin(x) * 1.01 + 0.1
        return x

    def record():
        return lambda: make_vjp(loop)(x0)[1]

    def fwd_bwd():
        def run():
            vjp, _ = make_vjp(loop)(x0)
            return vjp(ones)

        return run

    def jvp():
        return lambda: make_jvp(loop)(x0)(ones)

    return [Impl("record", record), Impl("fwd+bwd", fwd_bwd), Impl("jvp", jvp, "make_jvp")]


# --------------------------------------------------------------------------- 2. MLP gradient


def _mlp_loss(X, Y):
    B = X.shape[0]

    def loss(params):
        W1, b1, W2, b2, W3, b3 = params
        h1 = anp.tanh(anp.dot(X, W1) + b1)
        h2 = anp.tanh(anp.dot(h1, W2) + b2)
        z = anp.dot(h2, W3) + b3
        return -anp.sum(Y * (z - logsumexp(z, axis=1, keepdims=True))) / B

    return loss


def mlp(p: P.MLP) -> list[Impl]:
    loss, params = _mlp_loss(p.X, p.Y), tuple(p.params)

    def record():
        return lambda: make_vjp(loss)(params)[1]

    def fwd_bwd():
        g = autograd.grad(loss)
        return lambda: g(params)

    return [Impl("record", record), Impl("fwd+bwd", fwd_bwd)]


# --------------------------------------------------------------------------- 3. Jacobians


def jacobian(p: P.Jacobians, name: str) -> list[Impl]:
    W, V = p.W, p.V
    x = p.xh if name == "h" else p.x
    fun = {
        "f": lambda x: anp.tanh(anp.dot(W, x)) + x**2,
        "g": lambda x: anp.sum(anp.tanh(anp.dot(W, x))),
        "h": lambda x: anp.tanh(anp.dot(V, x)),
    }[name]

    def rev():
        jac = autograd.jacobian(fun)
        return lambda: jac(x)

    def fwd():
        eye = np.eye(x.size)

        def run():
            jvp = make_jvp(fun)(x)
            return np.stack([jvp(eye[j])[1] for j in range(x.size)], axis=-1)

        return run

    return [
        Impl("jacfwd", fwd, "looped make_jvp"),
        Impl("jacrev", rev, "autograd.jacobian (looped)"),
    ]


# --------------------------------------------------------------------------- 4. HVP


def hvp(p: P.HVP) -> list[Impl]:
    W, x, v = p.W, p.x, p.v

    def F(x):
        return anp.sum(anp.tanh(anp.dot(W, x)) ** 2)

    def grad():
        g = autograd.grad(F)
        return lambda: g(x)

    def rev_rev():
        h = autograd.hessian_vector_product(F)
        return lambda: h(x, v)

    def fwd_rev():
        g = autograd.grad(F)
        return lambda: make_jvp(g)(x)(v)[1]

    return [
        Impl("grad", grad),
        Impl("hvp", rev_rev, "hessian_vector_product", ref_flavor=""),
        Impl("hvp", fwd_rev, "make_jvp of grad", ref_flavor=""),
    ]


# --------------------------------------------------------------------------- 5. memory


def memory(p: P.DeepMLP) -> list[Impl]:
    X, Ws = p.X, tuple(p.Ws)

    def loss(Ws):
        h = X
        for W in Ws:
            h = anp.tanh(anp.dot(h, W))
        return anp.sum(h)

    def make():
        g = autograd.grad(loss)
        return lambda: g(Ws)

    return [Impl("fwd+bwd", make)]


# --------------------------------------------------------------------------- 8. simulation


def sim(p: P.Sim) -> list[Impl]:
    args = p.args

    def loss(theta, omega, g_l):
        for _ in range(p.steps):
            omega = omega - p.dt * g_l * anp.sin(theta)
            theta = theta + p.dt * omega
        return theta * theta + 0.1 * omega * omega

    def grad():
        g = autograd.grad(lambda a: loss(a[0], a[1], a[2]))
        return lambda: tuple(g(np.array(args)))

    return [Impl("grad", grad)]
