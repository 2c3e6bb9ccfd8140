"""A small CNN for the apple photos: 64x64 RGB in, one logit per grade out.

Imports torch at module level: import it only where PyTorch is installed
(``pomona[torch]``). The torch flavor rebuilds it from ``init_kwargs``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

__all__ = ["AppleCNN"]


class AppleCNN(nn.Module):
    """Three conv blocks (conv, batch norm, ReLU, max pool), global pooling, a linear head.

    Args:
        n_classes: number of grades (good / ok / bad: 3).
        in_channels: 3 for RGB.
        width: channels of the first block; doubled in each following block.
        dropout: before the linear head.
    """

    def __init__(
        self, n_classes: int = 3, in_channels: int = 3, width: int = 16, dropout: float = 0.1
    ) -> None:
        super().__init__()
        self.init_kwargs: dict[str, Any] = {
            "n_classes": n_classes,
            "in_channels": in_channels,
            "width": width,
            "dropout": dropout,
        }
        blocks: list[nn.Module] = []
        channels = in_channels
        for i in range(3):
            out = width * 2**i
            blocks += [
                nn.Conv2d(channels, out, kernel_size=3, padding=1, bias=False),
                nn.BatchNorm2d(out),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]
            channels = out
        self.features = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(channels, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape ``(batch, n_classes)`` for images of shape ``(batch, 3, 64, 64)``."""
        return self.head(self.pool(self.features(x)))  # type: ignore[no-any-return]
