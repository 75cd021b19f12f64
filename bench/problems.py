"""The workloads' data and their closed forms, in plain NumPy (float64, fixed seeds).

Every library's adapter receives these objects and converts the arrays to its own kind; every
result is checked against the closed forms computed here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

SEED = 20240601


def _rng(salt: int) -> np.random.Generator:
    return np.random.default_rng([SEED, salt])


# --------------------------------------------------------------------------- 1. per-op overhead


@dataclass
class PerOp:
    """``x = sin(x) * 1.01 + 0.1`` repeated ``iterations`` times: 3 primitive ops per iteration."""

    shape: tuple
    iterations: int
    x0: np.ndarray = field(init=False)
    ones: np.ndarray = field(init=False)
    out: np.ndarray = field(init=False)
    #: d out / d x0, elementwise (the loop is elementwise): prod_k 1.01 cos(x_k)
    deriv: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        n = int(np.prod(self.shape, dtype=int))
        self.x0 = np.linspace(0.2, 1.1, n).reshape(self.shape) if self.shape else np.array(0.5)
        self.ones = np.ones(self.shape)
        x, d = self.x0.copy(), np.ones(self.shape)
        for _ in range(self.iterations):
            d = d * (1.01 * np.cos(x))
            x = np.sin(x) * 1.01 + 0.1
        self.out, self.deriv = np.asarray(x), np.asarray(d)

    @property
    def ops(self) -> int:
        return 3 * self.iterations


# --------------------------------------------------------------------------- 2. MLP gradient


@dataclass
class MLP:
    """tanh MLP ``dims`` (784-512-512-10), softmax cross-entropy averaged over the batch."""

    dims: tuple
    batch: int
    params: tuple = field(init=False)  # (W1, b1, W2, b2, W3, b3), W of shape (in, out)
    X: np.ndarray = field(init=False)
    labels: np.ndarray = field(init=False)  # int64 class indices
    Y: np.ndarray = field(init=False)  # one-hot, float64
    loss: float = field(init=False)
    grads: tuple = field(init=False)

    def __post_init__(self) -> None:
        rng = _rng(2)
        params = []
        for a, b in zip(self.dims[:-1], self.dims[1:]):
            params.append(rng.normal(0.0, 1.0 / np.sqrt(a), (a, b)))
            params.append(rng.normal(0.0, 0.1, (b,)))
        self.params = tuple(params)
        self.X = rng.normal(0.0, 1.0, (self.batch, self.dims[0]))
        self.labels = rng.integers(0, self.dims[-1], self.batch).astype(np.int64)
        self.Y = np.eye(self.dims[-1])[self.labels]
        self.loss, self.grads = mlp_backward(self.params, self.X, self.Y)


def mlp_forward(params, X, Y):
    """Plain NumPy forward: the denominator of the MLP ratios."""
    h = X
    n = len(params) // 2
    for i in range(n):
        z = h @ params[2 * i] + params[2 * i + 1]
        h = np.tanh(z) if i < n - 1 else z
    m = h.max(axis=1, keepdims=True)
    lse = m + np.log(np.exp(h - m).sum(axis=1, keepdims=True))
    return -np.sum(Y * (h - lse)) / X.shape[0]


def mlp_backward(params, X, Y):
    """Hand-written NumPy forward + backward: the floor. Returns (loss, grads)."""
    n = len(params) // 2
    hs = [X]
    for i in range(n):
        z = hs[-1] @ params[2 * i] + params[2 * i + 1]
        hs.append(np.tanh(z) if i < n - 1 else z)
    logits = hs.pop()
    m = logits.max(axis=1, keepdims=True)
    e = np.exp(logits - m)
    s = e.sum(axis=1, keepdims=True)
    B = X.shape[0]
    loss = -np.sum(Y * (logits - m - np.log(s))) / B
    g = (e / s - Y) / B  # d loss / d logits
    grads = [None] * (2 * n)
    for i in reversed(range(n)):
        h = hs.pop()
        grads[2 * i] = h.T @ g
        grads[2 * i + 1] = g.sum(axis=0)
        if i > 0:
            g = (g @ params[2 * i].T) * (1.0 - h * h)
    return loss, tuple(grads)


# --------------------------------------------------------------------------- 3. Jacobians


@dataclass
class Jacobians:
    """f(x) = tanh(W@x) + x**2 (n→n), g(x) = sum(tanh(W@x)) (n→1), h(x) = tanh(V@x) (k→m)."""

    n: int
    k: int
    m: int
    W: np.ndarray = field(init=False)
    V: np.ndarray = field(init=False)
    x: np.ndarray = field(init=False)  # input of f and g
    xh: np.ndarray = field(init=False)  # input of h

    def __post_init__(self) -> None:
        rng = _rng(3)
        self.W = rng.normal(0.0, 1.0 / np.sqrt(self.n), (self.n, self.n))
        self.V = rng.normal(0.0, 1.0 / np.sqrt(self.k), (self.m, self.k))
        self.x = rng.normal(0.0, 1.0, self.n)
        self.xh = rng.normal(0.0, 1.0, self.k)

    def f(self, x):
        return np.tanh(self.W @ x) + x**2

    def g(self, x):
        return np.sum(np.tanh(self.W @ x))

    def h(self, x):
        return np.tanh(self.V @ x)

    def jac(self, name: str) -> np.ndarray:
        """Closed-form Jacobians, shape out.shape + in.shape."""
        if name == "f":
            t = np.tanh(self.W @ self.x)
            return (1 - t**2)[:, None] * self.W + np.diag(2 * self.x)
        if name == "g":
            t = np.tanh(self.W @ self.x)
            return self.W.T @ (1 - t**2)
        t = np.tanh(self.V @ self.xh)
        return (1 - t**2)[:, None] * self.V


# --------------------------------------------------------------------------- 4. HVP


@dataclass
class HVP:
    """F(x) = sum(tanh(W@x)**2); grad = Wᵀ 2t(1-t²), H = Wᵀ diag(2(1-t²)(1-3t²)) W."""

    n: int
    W: np.ndarray = field(init=False)
    x: np.ndarray = field(init=False)
    v: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        rng = _rng(4)
        self.W = rng.normal(0.0, 1.0 / np.sqrt(self.n), (self.n, self.n))
        self.x = rng.normal(0.0, 1.0, self.n)
        self.v = rng.normal(0.0, 1.0, self.n)

    def F(self, x):
        return np.sum(np.tanh(self.W @ x) ** 2)

    def grad(self, x=None):
        x = self.x if x is None else x
        t = np.tanh(self.W @ x)
        return self.W.T @ (2 * t * (1 - t * t))

    def hvp(self, x=None, v=None):
        x = self.x if x is None else x
        v = self.v if v is None else v
        t = np.tanh(self.W @ x)
        return self.W.T @ (2 * (1 - t * t) * (1 - 3 * t * t) * (self.W @ v))


# --------------------------------------------------------------------------- 5. memory


@dataclass
class DeepMLP:
    """``layers`` × (h = tanh(h @ W)), W of shape (width, width), no bias; loss = sum(h).

    The gradient is taken with respect to every W. The forward activations are the ``layers``
    outputs of shape (batch, width): that size is the denominator of the memory ratio.
    """

    layers: int
    width: int
    batch: int
    Ws: tuple = field(init=False)
    X: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        rng = _rng(5)
        s = 1.0 / np.sqrt(self.width)
        self.Ws = tuple(rng.normal(0.0, s, (self.width, self.width)) for _ in range(self.layers))
        self.X = rng.normal(0.0, 1.0, (self.batch, self.width))

    @property
    def activation_bytes(self) -> int:
        return self.layers * self.batch * self.width * 8

    @property
    def gradient_bytes(self) -> int:
        return self.layers * self.width * self.width * 8


def deep_forward(Ws, X):
    h = X
    for W in Ws:
        h = np.tanh(h @ W)
    return np.sum(h)


def deep_backward(Ws, X):
    """Hand-written backward that lets go of each activation once used: the floor."""
    hs = [X]
    for W in Ws:
        hs.append(np.tanh(hs[-1] @ W))
    g = np.ones_like(hs[-1])
    grads = [None] * len(Ws)
    for i in reversed(range(len(Ws))):
        a = hs.pop()
        g *= 1.0 - a * a
        del a
        grads[i] = hs[-1].T @ g
        if i > 0:
            g = g @ Ws[i].T
    return tuple(grads)


# --------------------------------------------------------------------------- 6. ResNet-18

RESNET_LAYERS = ((64, 1), (128, 2), (256, 2), (512, 2))  # (planes, stride of the first block)


def resnet18_state_dict(num_classes: int = 1000) -> dict[str, np.ndarray]:
    """Random weights under torchvision's names and shapes (Kaiming fan-out init, as there)."""
    rng = _rng(6)
    sd: dict[str, np.ndarray] = {}

    def conv(name, cout, cin, k):
        sd[name + ".weight"] = rng.normal(0.0, np.sqrt(2.0 / (cout * k * k)), (cout, cin, k, k))

    def bn(name, c):
        sd[name + ".weight"] = np.ones(c)
        sd[name + ".bias"] = np.zeros(c)
        sd[name + ".running_mean"] = np.zeros(c)
        sd[name + ".running_var"] = np.ones(c)
        sd[name + ".num_batches_tracked"] = np.array(0, dtype=np.int64)

    conv("conv1", 64, 3, 7)
    bn("bn1", 64)
    cin = 64
    for li, (planes, stride) in enumerate(RESNET_LAYERS, start=1):
        for b in range(2):
            p = f"layer{li}.{b}"
            conv(p + ".conv1", planes, cin, 3)
            bn(p + ".bn1", planes)
            conv(p + ".conv2", planes, planes, 3)
            bn(p + ".bn2", planes)
            if b == 0 and (stride != 1 or cin != planes):
                conv(p + ".downsample.0", planes, cin, 1)
                bn(p + ".downsample.1", planes)
            cin = planes
    bound = 1.0 / np.sqrt(512)
    sd["fc.weight"] = rng.uniform(-bound, bound, (num_classes, 512))
    sd["fc.bias"] = rng.uniform(-bound, bound, (num_classes,))
    return sd


def _conv2d(x, w, stride=1, pad=0):
    if pad:
        x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    kh, kw = w.shape[2:]
    win = sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    out = np.tensordot(win, w, axes=([1, 4, 5], [1, 2, 3]))  # (N, Ho, Wo, O)
    return out.transpose(0, 3, 1, 2)


def _bn(x, sd, name, eps=1e-5):
    """Training-mode batch norm (batch statistics, biased variance), as in a training step."""
    mean = x.mean(axis=(0, 2, 3), keepdims=True)
    var = x.var(axis=(0, 2, 3), keepdims=True)
    g = sd[name + ".weight"][None, :, None, None]
    b = sd[name + ".bias"][None, :, None, None]
    return (x - mean) / np.sqrt(var + eps) * g + b


def _maxpool(x, k=3, stride=2, pad=1):
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=-np.inf)
    win = sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
    return win.max(axis=(4, 5))


def resnet18_forward(sd, x):
    """Plain NumPy ResNet-18 forward (train-mode BN). Returns (logits, pooled features)."""
    relu = lambda a: np.maximum(a, 0.0)  # noqa: E731
    h = relu(_bn(_conv2d(x, sd["conv1.weight"], 2, 3), sd, "bn1"))
    h = _maxpool(h)
    for li, (_, stride) in enumerate(RESNET_LAYERS, start=1):
        for b in range(2):
            p = f"layer{li}.{b}"
            s = stride if b == 0 else 1
            out = relu(_bn(_conv2d(h, sd[p + ".conv1.weight"], s, 1), sd, p + ".bn1"))
            out = _bn(_conv2d(out, sd[p + ".conv2.weight"], 1, 1), sd, p + ".bn2")
            if p + ".downsample.0.weight" in sd:
                h = _bn(_conv2d(h, sd[p + ".downsample.0.weight"], s, 0), sd, p + ".downsample.1")
            h = relu(out + h)
    pooled = h.mean(axis=(2, 3))
    return pooled @ sd["fc.weight"].T + sd["fc.bias"], pooled


@dataclass
class ResNet:
    """One SGD step (lr 1e-2, momentum 0.9) of ResNet-18 on rand(batch, 3, size, size) with
    rand(batch, 1000) labels and ``loss = (prediction - labels).sum()``, as in the documents."""

    batch: int
    size: int
    num_classes: int = 1000
    state_dict: dict = field(init=False)
    x: np.ndarray = field(init=False)
    labels: np.ndarray = field(init=False)
    loss: float = field(init=False)
    fc_weight_grad: np.ndarray = field(init=False)
    logits: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        rng = _rng(7)
        self.state_dict = resnet18_state_dict(self.num_classes)
        self.x = rng.uniform(0.0, 1.0, (self.batch, 3, self.size, self.size))
        self.labels = rng.uniform(0.0, 1.0, (self.batch, self.num_classes))
        self.logits, pooled = resnet18_forward(self.state_dict, self.x)
        self.loss = float(np.sum(self.logits - self.labels))
        # d loss / d fc.weight[i, j] = sum_n pooled[n, j] (the loss is a plain sum of the logits)
        self.fc_weight_grad = np.tile(pooled.sum(axis=0), (self.num_classes, 1))


# --------------------------------------------------------------------------- 7. per-example grads


@dataclass
class PerExample:
    """Per-example gradients of a small tanh MLP ``dims`` (16-32-4) over ``n`` examples.

    One example's loss is ``0.5 * sum((tanh(x @ W1 + b1) @ W2 + b2 - y) ** 2)``; ``grads`` holds
    the gradient of every example's loss with respect to ``(W1, b1, W2, b2)``, stacked
    (shapes ``(n, 16, 32)``, ``(n, 32)``, ``(n, 32, 4)``, ``(n, 4)``), by hand in NumPy.
    """

    dims: tuple
    n: int
    params: tuple = field(init=False)  # (W1, b1, W2, b2)
    X: np.ndarray = field(init=False)
    Y: np.ndarray = field(init=False)
    grads: tuple = field(init=False)

    def __post_init__(self) -> None:
        rng = _rng(7)
        d, h, o = self.dims
        self.params = (
            rng.normal(0.0, 1.0 / np.sqrt(d), (d, h)),
            rng.normal(0.0, 0.1, (h,)),
            rng.normal(0.0, 1.0 / np.sqrt(h), (h, o)),
            rng.normal(0.0, 0.1, (o,)),
        )
        self.X = rng.normal(0.0, 1.0, (self.n, d))
        self.Y = rng.normal(0.0, 1.0, (self.n, o))
        self.grads = per_example_backward(self.params, self.X, self.Y)


def per_example_loss(params, x, y):
    """One example's loss (written with NumPy calls, so it runs on traced values too)."""
    W1, b1, W2, b2 = params
    z = np.tanh(x @ W1 + b1) @ W2 + b2
    return 0.5 * np.sum((z - y) ** 2)


def per_example_backward(params, X, Y):
    """Every example's gradient at once, by hand: the reference of the ``perexample`` checks."""
    W1, b1, W2, b2 = params
    H = np.tanh(X @ W1 + b1)
    R = H @ W2 + b2 - Y  # (n, o): dloss/dz per example
    dA = (R @ W2.T) * (1.0 - H**2)  # (n, h)
    return (X[:, :, None] * dA[:, None, :], dA, H[:, :, None] * R[:, None, :], R)


# --------------------------------------------------------------------------- 8. simulation


@dataclass
class Sim:
    """A pendulum, ``steps`` explicit Euler steps, written with NumPy scalars (``np.float64``):
    ``ω ← ω - dt·(g/L)·sin θ``, ``θ ← θ + dt·ω``; loss = ``θ² + 0.1·ω²``. The gradient is taken
    with respect to ``(θ₀, ω₀, g/L)``; ``grad`` is the hand-written adjoint (the floor)."""

    steps: int
    dt: float = 0.01
    args: tuple = field(init=False)
    grad: tuple = field(init=False)

    def __post_init__(self) -> None:
        self.args = (np.float64(1.0), np.float64(0.0), np.float64(9.81))
        self.grad = sim_backward(*self.args, steps=self.steps, dt=self.dt)

    def forward(self, theta, omega, g_l):
        return sim_forward(theta, omega, g_l, steps=self.steps, dt=self.dt)


def sim_forward(theta, omega, g_l, steps=200, dt=0.01):
    """The simulation, written with NumPy calls (so it runs on traced values too)."""
    for _ in range(steps):
        omega = omega - dt * g_l * np.sin(theta)
        theta = theta + dt * omega
    return theta * theta + 0.1 * omega * omega


def sim_backward(theta, omega, g_l, steps=200, dt=0.01):
    """The gradient by hand: the forward keeps each θ, then the adjoint runs backwards."""
    thetas = []
    for _ in range(steps):
        thetas.append(theta)
        omega = omega - dt * g_l * np.sin(theta)
        theta = theta + dt * omega
    th_bar, om_bar, gl_bar = 2 * theta, 0.2 * omega, np.float64(0.0)
    for th in reversed(thetas):
        om_bar = om_bar + dt * th_bar  # θ' = θ + dt·ω'
        s = np.sin(th)
        gl_bar = gl_bar - dt * s * om_bar  # ω' = ω - dt·g_l·sin θ
        th_bar = th_bar - dt * g_l * np.cos(th) * om_bar
    return th_bar, om_bar, gl_bar
