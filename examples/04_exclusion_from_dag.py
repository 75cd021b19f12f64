"""Exclusión del DAG (document 1): requires_grad propagation, frozen parameters, no_grad.

An operation's result requires gradients if any of its inputs does. Freezing every parameter
of a ResNet-18 and replacing ``model.fc`` leaves only ``fc.weight`` and ``fc.bias`` trainable.
"""

import autodiff as ad
from autodiff import nn, optim

ad.manual_seed(0)

x = ad.rand(5, 5)
y = ad.rand(5, 5)
z = ad.rand((5, 5), requires_grad=True)

a = x + y
print(f"¿`a` requiere gradientes? : {a.requires_grad}")
b = x + z
print(f"¿`b` requiere gradientes?: {b.requires_grad}")

model = ad.models.resnet18()

# Freeze all the parameters in the network
for param in model.parameters():
    param.requires_grad = False

model.fc = nn.Linear(512, 10)

# Optimize only the classifier
optimizer = optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)

print("parámetros que calculan gradientes:",
      [name for name, p in model.named_parameters() if p.requires_grad])  # fmt: skip

# one step: only the classifier receives gradients and moves
loss = model(ad.rand(1, 3, 64, 64)).sum()
loss.backward()
print("parámetros con .grad:", [name for name, p in model.named_parameters() if p.grad is not None])
optimizer.step()

# the same exclusion as a context manager
with ad.no_grad():
    c = x + z
print(f"¿`c` (bajo no_grad) requiere gradientes?: {c.requires_grad}")
