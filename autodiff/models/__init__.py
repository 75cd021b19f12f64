"""Ready-made models: ``resnet18`` with torchvision's architecture and parameter names.

Examples:
    >>> import autodiff as ad
    >>> model = ad.models.resnet18(num_classes=10)
    >>> model.fc
    Linear(in_features=512, out_features=10, bias=True)
"""

from autodiff.models.resnet import BasicBlock, ResNet, resnet18

__all__ = ["BasicBlock", "ResNet", "resnet18"]
