"""Chooses restore's `lowpass_away` (issue 17) on training photos: `keep`'s low-pass part measured away from the damage.

    PYTHONPATH=src python benchmarks/keep_away.py [--n 16] [--size 256] --threads 1

`keep` adds the low-pass part (a Gaussian of 8 px) of the U-Net's change everywhere, to carry fading and stains.
Where the U-Net repairs a speck, that low-pass part is the speck's own repair blurred over a disc around it: a
halo (a pale disc round a black speck). With `lowpass_away` it is a normalised convolution weighted by 1 - mask.
The shipped restore model with its card's steps, `lowpass_away` off and on, on the first --n photos of the
training split in `keep_gate`'s three sets (faint damage, `age`, clean). Prints PSNR, LPIPS and % of the input's
error removed inside the true mask, paired against off. Held-out photos are never used.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from restore_fill import paired_on_training_sets, restored, shipped_restore


def main() -> None:
    args, card, net = shipped_restore(__doc__.splitlines()[0],
                                      "restore lowpass_away: keep's low-pass part measured away from the damage")
    shipped = net.lowpass_away
    print(f"model: {card.name} (sha256 {card.sha256[:12]}), card lowpass_away {shipped}")

    def variant(away: bool) -> Callable[[torch.Tensor], np.ndarray]:
        def run(photo: torch.Tensor) -> np.ndarray:
            net.lowpass_away = away
            return restored(net, photo)
        return run

    try:
        paired_on_training_sets({"lowpass_away off": variant(False), "lowpass_away on": variant(True)}, args.n,
                                args.size, "lowpass_away off")
    finally:
        net.lowpass_away = shipped  # the operation's cached model


if __name__ == "__main__":
    main()
