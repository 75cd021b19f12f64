"""Un paso de entrenamiento de ResNet-18 (document 1, "Uso en PyTorch", cells 2-6).

The tutorial loads ``torchvision.models.resnet18(pretrained=True)``, which downloads weights.
autodiff downloads nothing: the model is randomly initialised like torchvision's, or loads a
torchvision checkpoint converted to ``.npz`` (``scripts/convert_torchvision.py``)::

    python examples/01_resnet_training_step.py [resnet18.npz]
"""

import sys

import autodiff as ad

ad.manual_seed(0)  # the tutorial does not seed; seeding makes this script's output repeatable

weights = sys.argv[1] if len(sys.argv) > 1 else None
model = ad.models.resnet18(weights=weights)
data = ad.rand(1, 3, 64, 64)
labels = ad.rand(1, 1000)

prediction = model(data)  # forward pass
print(f"prediction: {tuple(prediction.shape)} {prediction.grad_fn.name()}")

loss = (prediction - labels).sum()
loss.backward()  # backward pass
print(f"loss: {loss.item():.4f}")
with_grad = sum(p.grad is not None for p in model.parameters())
print(f"parámetros con .grad: {with_grad} de {len(list(model.parameters()))}")

optim = ad.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
optim.step()  # descenso de gradiente

with ad.no_grad():
    after = (model(data) - labels).sum()
print(f"loss después de optim.step(): {after.item():.4f}")
