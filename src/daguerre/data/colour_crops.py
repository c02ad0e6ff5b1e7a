"""Augmented colour crops with their frozen VGG16 features computed once (colorize training).

The encoder is frozen, so its features of each crop's grey version are computed once and kept (float16): a
training step then only runs the small decoder. Each photo gives `per_photo` crops at random places and scales
(`scale_range`: the crop covers crop x scale pixels of the photo), flipped half the time and tone-shifted
(gamma 0.8-1.25): two crops of one photo, overlapping or not, are a self-reference pair.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from rich.progress import track

from daguerre.imaging.lab import lab_split
from daguerre.nets.correspondence import grey_features


class ColourCrops:
    def __init__(self, images: list[torch.Tensor], per_photo: int, crop: int, scale_range: tuple[float, float],
                 generator: torch.Generator, progress: bool = True):
        rgb, photo = [], []
        for i, img in enumerate(images):
            _, h, w = img.shape
            for _ in range(per_photo):
                u = torch.rand(5, generator=generator).tolist()
                size = min(h, w, round(crop * (scale_range[0] + u[0] * (scale_range[1] - scale_range[0]))))
                y, x = int(u[1] * (h - size + 1)), int(u[2] * (w - size + 1))
                patch = img[None, :, y : y + size, x : x + size].float() / 255
                patch = F.interpolate(patch, size=(crop, crop), mode="bilinear", antialias=True, align_corners=False)
                if u[3] < 0.5:
                    patch = patch.flip(-1)
                patch = patch.clamp(0, 1) ** (0.8 * (1.25 / 0.8) ** u[4])
                rgb.append((patch[0] * 255 + 0.5).to(torch.uint8))
                photo.append(i)
        self.rgb = torch.stack(rgb)
        self.photo = torch.tensor(photo)
        n, s = len(rgb), crop
        self.relu3 = torch.empty(n, 256, s // 4, s // 4, dtype=torch.float16)
        self.relu4 = torch.empty(n, 512, s // 8, s // 8, dtype=torch.float16)
        starts = range(0, n, 16)
        for a in track(starts, description="VGG16 features of the crops") if progress else starts:
            r3, r4 = grey_features(lab_split(self.rgb[a : a + 16].float() / 255)[0])
            self.relu3[a : a + 16], self.relu4[a : a + 16] = r3.half(), r4.half()

    def __len__(self) -> int:
        return len(self.rgb)

    def get(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """RGB in [0,1] (B,3,c,c) and the grey crops' relu3_3 and relu4_3 as float32."""
        return self.rgb[idx].float() / 255, self.relu3[idx].float(), self.relu4[idx].float()

    def partner(self, idx: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Another crop of the same photo for each crop in `idx`."""
        out = []
        for i in idx.tolist():
            same = (self.photo == self.photo[i]).nonzero()[:, 0]
            same = same[same != i]
            out.append(int(same[torch.randint(len(same), (1,), generator=generator)]) if len(same) else i)
        return torch.tensor(out)
