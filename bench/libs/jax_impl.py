"""JAX on the CPU, float64 (``jax_enable_x64``): eager op-by-op and ``jax.jit`` variants.

Every thunk blocks until its result is ready (JAX dispatches asynchronously).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from bench import problems as P
from bench.harness import Impl

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_platforms", "cpu")

VERSION = jax.__version__


def J(a) -> jax.Array:
    return jnp.asarray(np.asarray(a, dtype=np.float64))


def ready(x):
    return jax.block_until_ready(x)


# --------------------------------------------------------------------------- 1. per-op overhead


def perop(p: P.PerOp) -> list[Impl]:
    n = p.iterations
    x0, ones = J(p.x0), J(p.ones)

    def loop(x):
        for _ in range(n):
            x = jnp.sin(x) * 1.01 + 0.1
        return x

    def loop_fori(x):
        return jax.lax.fori_loop(0, n, lambda _, x: jnp.sin(x) * 1.01 + 0.1, x)

    def record():
        return lambda: ready(jax.vjp(loop, x0)[0])

    def fwd_bwd():
        def run():
            _, pullback = jax.vjp(loop, x0)
            return ready(pullback(ones)[0])

        return run

    def jvp():
        return lambda: ready(jax.jvp(loop, (x0,), (ones,)))

    def fwd_bwd_jit():
        f = jax.jit(lambda x, ct: jax.vjp(loop_fori, x)[1](ct)[0])
        return lambda: ready(f(x0, ones))

    def jvp_jit():
        f = jax.jit(lambda x, t: jax.jvp(loop_fori, (x,), (t,)))
        return lambda: ready(f(x0, ones))

    return [
        Impl("record", record, "eager"),
        Impl("fwd+bwd", fwd_bwd, "eager"),
        Impl("jvp", jvp, "eager"),
        Impl("fwd+bwd", fwd_bwd_jit, "jit, fori_loop"),
        Impl("jvp", jvp_jit, "jit, fori_loop"),
    ]


# --------------------------------------------------------------------------- 2. MLP gradient


def mlp(p: P.MLP) -> list[Impl]:
    X, Y = J(p.X), J(p.Y)
    params = tuple(J(a) for a in p.params)
    B = p.batch

    def loss(*params):
        W1, b1, W2, b2, W3, b3 = params
        h1 = jnp.tanh(X @ W1 + b1)
        h2 = jnp.tanh(h1 @ W2 + b2)
        z = h2 @ W3 + b3
        return -jnp.sum(Y * jax.nn.log_softmax(z, axis=1)) / B

    grad = jax.grad(loss, argnums=tuple(range(6)))

    def thunk(f):
        return lambda: lambda: ready(f(*params))

    return [
        Impl("forward", thunk(loss), "eager"),
        Impl("fwd+bwd", thunk(grad), "eager"),
        Impl("forward", thunk(jax.jit(loss)), "jit"),
        Impl("fwd+bwd", thunk(jax.jit(grad)), "jit"),
    ]


# --------------------------------------------------------------------------- 3. Jacobians


def jacobian(p: P.Jacobians, name: str) -> list[Impl]:
    W, V = J(p.W), J(p.V)
    x = J(p.xh if name == "h" else p.x)
    fun = {
        "f": lambda x: jnp.tanh(W @ x) + x**2,
        "g": lambda x: jnp.sum(jnp.tanh(W @ x)),
        "h": lambda x: jnp.tanh(V @ x),
    }[name]

    def vec(builder, jit):
        def make():
            jac = jax.jit(builder(fun)) if jit else builder(fun)
            return lambda: ready(jac(x))

        return make

    def fwd_loop():
        jvp = jax.jit(lambda x, t: jax.jvp(fun, (x,), (t,))[1])
        eye = J(np.eye(x.size))
        return lambda: ready(jnp.stack([jvp(x, eye[j]) for j in range(x.size)], axis=-1))

    def rev_loop():
        vjp = jax.jit(lambda x, u: jax.vjp(fun, x)[1](u)[0])
        m = fun(x).size
        if m == 1:  # a scalar output has one row: one VJP with cotangent 1
            return lambda: ready(vjp(x, jnp.ones(())))
        eye = J(np.eye(m))
        return lambda: ready(jnp.stack([vjp(x, eye[i]) for i in range(m)]))

    return [
        Impl("jacfwd", vec(jax.jacfwd, True), "jit"),
        Impl("jacfwd", vec(jax.jacfwd, False), "eager"),
        Impl("jacfwd", fwd_loop, "looped jit(jvp)"),
        Impl("jacrev", vec(jax.jacrev, True), "jit"),
        Impl("jacrev", vec(jax.jacrev, False), "eager"),
        Impl("jacrev", rev_loop, "looped jit(vjp)"),
    ]


# --------------------------------------------------------------------------- 4. HVP


def hvp(p: P.HVP) -> list[Impl]:
    W, x, v = J(p.W), J(p.x), J(p.v)

    def F(x):
        return jnp.sum(jnp.tanh(W @ x) ** 2)

    grad = jax.grad(F)

    def hv(x, v):
        return jax.jvp(grad, (x,), (v,))[1]

    def thunk(f, *args):
        return lambda: lambda: ready(f(*args))

    return [
        Impl("grad", thunk(grad, x), "eager"),
        Impl("hvp", thunk(hv, x, v), "eager, jvp of grad", ref_flavor="eager"),
        Impl("grad", thunk(jax.jit(grad), x), "jit"),
        Impl("hvp", thunk(jax.jit(hv), x, v), "jit, jvp of grad", ref_flavor="jit"),
    ]


# --------------------------------------------------------------------------- 5. memory


def memory(p: P.DeepMLP) -> list[Impl]:
    def make():
        Ws, X = tuple(J(W) for W in p.Ws), J(p.X)

        def loss(Ws):
            h = X
            for W in Ws:
                h = jnp.tanh(h @ W)
            return jnp.sum(h)

        g = jax.jit(jax.grad(loss))
        return lambda: ready(g(Ws))

    return [Impl("fwd+bwd", make, "jit")]


# --------------------------------------------------------------------------- 7. per-example grads


def perexample(p: P.PerExample) -> list[Impl]:
    params, X, Y = tuple(J(a) for a in p.params), J(p.X), J(p.Y)

    def loss(params, x, y):
        W1, b1, W2, b2 = params
        z = jnp.tanh(x @ W1 + b1) @ W2 + b2
        return 0.5 * jnp.sum((z - y) ** 2)

    g = jax.vmap(jax.grad(loss), in_axes=(None, 0, 0))

    def thunk(f):
        return lambda: lambda: ready(f(params, X, Y))

    return [
        Impl("per-example grads", thunk(g), "vmap(grad), eager"),
        Impl("per-example grads", thunk(jax.jit(g)), "vmap(grad), jit"),
    ]


# --------------------------------------------------------------------------- 8. simulation


def sim(p: P.Sim) -> list[Impl]:
    args = tuple(J(a) for a in p.args)
    dt, steps = p.dt, p.steps

    def step(state):
        theta, omega, g_l = state
        omega = omega - dt * g_l * jnp.sin(theta)
        return theta + dt * omega, omega, g_l

    def unrolled(theta, omega, g_l):
        state = (theta, omega, g_l)
        for _ in range(steps):
            state = step(state)
        theta, omega, _ = state
        return theta * theta + 0.1 * omega * omega

    def fori(theta, omega, g_l):
        theta, omega, _ = jax.lax.fori_loop(0, steps, lambda _, s: step(s), (theta, omega, g_l))
        return theta * theta + 0.1 * omega * omega

    def jitted(fn, impl_box):
        def make():
            import time

            g = jax.jit(jax.grad(fn, argnums=(0, 1, 2)))
            start = time.perf_counter()
            ready(g(*args))
            impl_box[0].note = f"compile + first call {time.perf_counter() - start:.2f} s"
            return lambda: ready(g(*args))

        return make

    box_unrolled, box_fori = [None], [None]
    impls = [
        Impl("grad", jitted(unrolled, box_unrolled), "jit, unrolled"),
        Impl("grad", jitted(fori, box_fori), "jit, fori_loop"),
    ]
    box_unrolled[0], box_fori[0] = impls
    return impls
