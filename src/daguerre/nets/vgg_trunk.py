"""The conv trunk shared by VGG16 and VGG19: 3x3 convs + ReLU, 2x2 pools, named ReLU outputs."""

from __future__ import annotations

import torch
from torch import nn


class VGGTrunk(nn.Module):
    """Builds `cfg` (widths, "M" = pool) up to the deepest of `layers`; forward returns those ReLU outputs."""

    def __init__(self, cfg: list, relu_names: list[str], layers: tuple[str, ...], pool: type[nn.Module] = nn.MaxPool2d,
                 name: str = "VGG"):
        super().__init__()
        unknown = set(layers) - set(relu_names)
        if unknown:
            raise ValueError(f"unknown {name} layers {sorted(unknown)}; choose from {relu_names}")
        self.layers = tuple(layers)
        last = max(relu_names.index(name) for name in self.layers)
        blocks: list[nn.Module] = []
        self.names: list[str | None] = []
        in_ch, conv_i = 3, 0
        for v in cfg:
            if conv_i > last:
                break
            if v == "M":
                blocks += [pool(2, 2)]
                self.names += [None]
            else:
                blocks += [nn.Conv2d(in_ch, v, 3, padding=1), nn.ReLU(inplace=False)]
                self.names += [None, relu_names[conv_i]]
                in_ch, conv_i = v, conv_i + 1
        self.body = nn.ModuleList(blocks)

    def features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The requested ReLU outputs of an already-normalised input; stops at the deepest one."""
        out: dict[str, torch.Tensor] = {}
        for layer, name in zip(self.body, self.names, strict=True):
            x = layer(x)
            if name in self.layers:
                out[name] = x
                if len(out) == len(self.layers):
                    break
        return out
