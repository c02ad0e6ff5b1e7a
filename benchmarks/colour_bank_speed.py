"""CPU time of automatic colorize at 1 MP (coffee's grey) with the shipped colour bank and with the banks in the
given folders (`scripts/build_colour_bank.py --out DIR`) or card files (`daguerre train colour-bank`'s
`NAME.json`), alternating in one process so all see the same load;
the first round warms up, the median of the next three is printed, with the bank lookup's own share. A folder may
carry `ops.colorize` constants for its bank after `@` (e.g. a painting bank's penalty).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/colour_bank_speed.py runs/<bank folder or card>[@NAME=VALUE] [...]
"""
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from daguerre.data.folder import load_rgb
from daguerre.imaging import Picture
from daguerre.models.card import ModelCard
from daguerre.models.registry import SHIPPED, build
from daguerre.ops import colorize as ops
from daguerre.ops import get_operation

torch.set_num_threads(1)
labels = [str(SHIPPED)] + sys.argv[1:]  # a folder may be timed with several settings
folders = [SHIPPED] + [Path(f.split("@")[0]) for f in sys.argv[1:]]
settings = [{}] + [dict(kv.split("=") for kv in f.split("@")[1:]) for f in sys.argv[1:]]
shipped = {name: getattr(ops, name) for s in settings for name in s}
banks = []
for f in folders:
    card = ModelCard.load(f if f.suffix == ".json" else f / "colour-bank.json")
    banks.append((card, build(card)))
coffee = load_rgb(Path(__file__).parents[1] / "src/daguerre/samples/coffee.jpg", 1000).float()[None] / 255
x = F.interpolate(coffee, size=(1000, 1000), mode="area")[0].numpy()
grey = Picture(np.repeat(Picture(x).luminance()[None], 3, 0))
op = get_operation("colorize")
times = {label: [] for label in labels}
lookup = {label: [] for label in labels}
original = ops.bank_distribution


def timed(bank, keys, quarter):
    t = time.process_time()
    out = original(bank, keys, quarter)
    lookup[current].append(time.process_time() - t)
    return out


ops.bank_distribution = timed
for rep in range(4):
    for label, cb, setting in zip(labels, banks, settings, strict=True):
        current = label
        ops.colour_bank = lambda card=None, name=None, cb=cb: cb
        for name, value in shipped.items():
            setattr(ops, name, type(value)(setting.get(name, value)))
        t = time.process_time()
        op.run(grey)
        if rep:  # the first round warms up
            times[current].append(time.process_time() - t)
        else:
            lookup[current].clear()
for label, (_, bank) in zip(labels, banks, strict=True):
    print(f"{label}: {len(bank.keys)} entries, CPU s at 1 MP {np.median(times[label]):.3f} "
          f"(lookup {np.median(lookup[label]):.3f})", flush=True)
