"""PyTorch (``torch==2.13.0``, CPU): eager autograd, ``torch.func`` and forward-mode AD.

torchvision is not used: its ResNet-18 architecture is rebuilt here by hand, with the same
parameter names, so that the same weights load into torch, autodiff and the NumPy forward.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch
import torch.autograd.forward_ad as fwAD
import torch.func
import torch.nn.functional as F
from torch import nn

from bench import _threads
from bench import problems as P
from bench.harness import Impl, Unavailable

# torch.compile of the unrolled 200-step simulation ran for over 25 minutes in inductor here:
# past this many seconds the case is reported as skipped, so the run goes on.
COMPILE_LIMIT = 300


@contextlib.contextmanager
def _time_limit(seconds: int, what: str):
    """Raise :class:`Unavailable` when the block takes too long (SIGALRM, main thread), also
    when the library wraps the interruption in an error of its own (inductor does)."""
    import signal

    message = f"{what} did not finish within {seconds} s (stopped)"
    fired = []

    def stop(signum, frame):
        fired.append(True)
        raise Unavailable(message)

    if not hasattr(signal, "SIGALRM"):
        yield
        return
    previous = signal.signal(signal.SIGALRM, stop)
    # then again every second: dynamo catches the first interruption, falls back and goes on
    # (the backward graph still compiles when .backward() runs)
    signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)
    try:
        yield
    except Exception:
        if fired:
            raise Unavailable(message) from None
        raise
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if fired:  # interrupted, but something swallowed every interruption: still not finished
        raise Unavailable(message)


VERSION = torch.__version__

torch.set_default_dtype(torch.float64)
if _threads.single_thread():
    torch.set_num_threads(1)
    with contextlib.suppress(RuntimeError):  # already set, or parallel work already started
        torch.set_num_interop_threads(1)


def T(a) -> torch.Tensor:
    return torch.from_numpy(np.array(a))


# --------------------------------------------------------------------------- 1. per-op overhead


def perop(p: P.PerOp) -> list[Impl]:
    n = p.iterations
    x0, ones = T(p.x0), T(p.ones)

    def loop(x):
        for _ in range(n):
            x = torch.sin(x) * 1.01 + 0.1
        return x

    def record():
        def run():
            return loop(x0.detach().requires_grad_(True))

        return run

    def fwd_bwd():
        def run():
            x = x0.detach().requires_grad_(True)
            loop(x).backward(ones)
            return x.grad

        return run

    def jvp_func():
        return lambda: torch.func.jvp(loop, (x0,), (ones,))

    def jvp_dual():
        def run():
            with fwAD.dual_level():
                out = fwAD.unpack_dual(loop(fwAD.make_dual(x0, ones)))
                return out.primal.clone(), out.tangent.clone()

        return run

    return [
        Impl("record", record),
        Impl("fwd+bwd", fwd_bwd),
        Impl("jvp", jvp_dual, "forward_ad"),
        Impl("jvp", jvp_func, "torch.func"),
    ]


# --------------------------------------------------------------------------- 2. MLP gradient


def mlp(p: P.MLP) -> list[Impl]:
    X, labels = T(p.X), T(p.labels)

    def loss(W1, b1, W2, b2, W3, b3):
        h1 = torch.tanh(X @ W1 + b1)
        h2 = torch.tanh(h1 @ W2 + b2)
        return F.cross_entropy(h2 @ W3 + b3, labels)

    def forward():
        params = [T(a) for a in p.params]

        def run():
            with torch.no_grad():
                return loss(*params)

        return run

    def fwd_bwd():
        params = [T(a).requires_grad_(True) for a in p.params]

        def run():
            for t in params:
                t.grad = None
            loss(*params).backward()
            return tuple(t.grad for t in params)

        return run

    def func_grad():
        params = tuple(T(a) for a in p.params)
        g = torch.func.grad(loss, argnums=tuple(range(6)))
        return lambda: g(*params)

    return [
        Impl("forward", forward),
        Impl("fwd+bwd", fwd_bwd),
        Impl("fwd+bwd", func_grad, "torch.func", ref_flavor=""),
    ]


# --------------------------------------------------------------------------- 3. Jacobians


def jacobian(p: P.Jacobians, name: str) -> list[Impl]:
    W, V = T(p.W), T(p.V)
    x = T(p.xh if name == "h" else p.x)
    fun = {
        "f": lambda x: torch.tanh(W @ x) + x**2,
        "g": lambda x: torch.sum(torch.tanh(W @ x)),
        "h": lambda x: torch.tanh(V @ x),
    }[name]

    def func(builder):
        def make():
            jac = builder(fun)
            return lambda: jac(x)

        return make

    def fwd_loop():
        eye = torch.eye(x.numel())

        def run():
            cols = [torch.func.jvp(fun, (x,), (eye[j],))[1] for j in range(x.numel())]
            return torch.stack(cols, dim=-1)

        return run

    def rev_loop():
        return lambda: torch.autograd.functional.jacobian(fun, x, vectorize=False)

    def rev_vmap():
        return lambda: torch.autograd.functional.jacobian(fun, x, vectorize=True)

    return [
        Impl("jacfwd", func(torch.func.jacfwd), "torch.func"),
        Impl("jacfwd", fwd_loop, "looped jvp"),
        Impl("jacrev", func(torch.func.jacrev), "torch.func"),
        Impl("jacrev", rev_loop, "autograd.functional, looped"),
        Impl("jacrev", rev_vmap, "autograd.functional, vectorize"),
    ]


# --------------------------------------------------------------------------- 4. HVP


def hvp(p: P.HVP) -> list[Impl]:
    W, x, v = T(p.W), T(p.x), T(p.v)

    def Fn(x):
        return torch.sum(torch.tanh(W @ x) ** 2)

    def grad():
        def run():
            xr = x.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(Fn(xr), xr)
            return g

        return run

    def double_backward():
        def run():
            xr = x.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(Fn(xr), xr, create_graph=True)
            (hv,) = torch.autograd.grad(g, xr, grad_outputs=v)
            return hv

        return run

    def functional_hvp():
        return lambda: torch.autograd.functional.hvp(Fn, x, v)[1]

    def func_grad():
        g = torch.func.grad(Fn)
        return lambda: g(x)

    def func_hvp():
        g = torch.func.grad(Fn)
        return lambda: torch.func.jvp(g, (x,), (v,))[1]

    return [
        Impl("grad", grad),
        Impl("hvp", double_backward, "double backward", ref_flavor=""),
        Impl("hvp", functional_hvp, "autograd.functional.hvp", ref_flavor=""),
        Impl("grad", func_grad, "torch.func"),
        Impl("hvp", func_hvp, "torch.func jvp of grad", ref_flavor="torch.func"),
    ]


# --------------------------------------------------------------------------- 5. memory


def memory(p: P.DeepMLP) -> list[Impl]:
    def make():
        Ws = [T(W).requires_grad_(True) for W in p.Ws]
        X = T(p.X)

        def run():  # autograd.grad: the gradients belong to the caller, not to W.grad
            h = X
            for W in Ws:
                h = torch.tanh(h @ W)
            return torch.autograd.grad(h.sum(), Ws)

        return run

    return [Impl("fwd+bwd", make)]


# --------------------------------------------------------------------------- 6. ResNet-18


def _conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    """torchvision.models.resnet.BasicBlock."""

    def __init__(self, cin: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = _conv3x3(cin, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or cin != planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet18(nn.Module):
    """torchvision.models.resnet18's architecture and parameter names (62 parameter tensors)."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        cin = 64
        for i, (planes, stride) in enumerate(P.RESNET_LAYERS, start=1):
            setattr(
                self,
                f"layer{i}",
                nn.Sequential(BasicBlock(cin, planes, stride), BasicBlock(planes, planes)),
            )
            cin = planes
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def _resnet(p: P.ResNet) -> ResNet18:
    model = ResNet18(p.num_classes)
    model.load_state_dict({k: T(v) for k, v in p.state_dict.items()})
    return model.train()


def resnet(p: P.ResNet) -> list[Impl]:
    x, labels = T(p.x), T(p.labels)

    def forward():
        model = _resnet(p)

        def run():
            with torch.no_grad():
                return model(x)

        return run

    def step():
        model = _resnet(p)
        opt = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)

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
    def make():
        params, X, Y = tuple(T(a) for a in p.params), T(p.X), T(p.Y)

        def loss(params, x, y):
            W1, b1, W2, b2 = params
            z = torch.tanh(x @ W1 + b1) @ W2 + b2
            return 0.5 * torch.sum((z - y) ** 2)

        g = torch.func.vmap(torch.func.grad(loss), in_dims=(None, 0, 0))
        return lambda: g(params, X, Y)

    return [Impl("per-example grads", make, "torch.func.vmap(grad)")]


# --------------------------------------------------------------------------- 8. simulation


def _sim_loss(p: P.Sim):
    def loss(theta, omega, g_l):
        for _ in range(p.steps):
            omega = omega - p.dt * g_l * torch.sin(theta)
            theta = theta + p.dt * omega
        return theta * theta + 0.1 * omega * omega

    return loss


def sim(p: P.Sim) -> list[Impl]:
    loss = _sim_loss(p)
    values = [torch.tensor(float(a)) for a in p.args]

    def eager():
        def run():
            xs = [v.detach().requires_grad_(True) for v in values]
            loss(*xs).backward()
            return tuple(x.grad for x in xs)

        return run

    def compiled():
        f = torch.compile(loss)

        def run():
            xs = [v.detach().requires_grad_(True) for v in values]
            f(*xs).backward()
            return tuple(x.grad for x in xs)

        with _time_limit(COMPILE_LIMIT, "torch.compile"):
            run()  # compiles (raises here when torch.compile cannot work offline)
        return run

    return [Impl("grad", eager, "eager"), Impl("grad", compiled, "torch.compile")]
