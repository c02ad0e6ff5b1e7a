"""Training on several processes or machines: data parallel over torch.distributed (gloo, CPU).

Started by ``daguerre train recipe --nproc N ...`` (`launch`, on this machine) or by ``torchrun
--nproc-per-node N -m daguerre train recipe ...`` (``torchrun`` sets ``RANK`` and ``WORLD_SIZE``; several
machines): every process builds the same networks from the recipe's seed, draws its own crops, and
averages its gradients with the others before each optimiser step (the all-reduce that
``DistributedDataParallel`` does; done on the gradients because the trainers call sub-networks such as
``net.parts`` that a DDP wrapper's ``forward`` would not see). Only rank 0 writes logs, checkpoints,
samples and the exported model; the others wait for its checkpoints at a barrier.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import torch
import torch.distributed as dist
from torch import nn


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if world_size() > 1 else 0


def is_main() -> bool:
    return rank() == 0


def init() -> int:
    """Join the process group when started by torchrun; returns the number of processes (1 otherwise)."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        dist.init_process_group("gloo")
    return world_size()


def broadcast(module: nn.Module) -> None:
    """Make every process's parameters and buffers equal to rank 0's."""
    if world_size() > 1:
        for tensor in [*module.parameters(), *module.buffers()]:
            dist.broadcast(tensor.data, 0)


def average_gradients(module: nn.Module) -> None:
    """Replace each gradient by its mean over the processes (one all-reduce of all gradients, flattened)."""
    if world_size() == 1:
        return
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world_size()
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()


def finish() -> None:
    """Leave the process group cleanly: every process waits for the others (rank 0 exports), then disconnects."""
    if world_size() > 1:
        dist.barrier()
        dist.destroy_process_group()


def barrier() -> None:
    if world_size() > 1:
        dist.barrier()


def data_generator(seed: int, step: int) -> torch.Generator:
    """A data RNG of its own for each process other than rank 0 (rank 0 keeps the single-process stream)."""
    return torch.Generator().manual_seed(hash((seed, rank(), step)) % 2**63)


def own_data(trainer, seed: int) -> None:
    """Give a process other than rank 0 its own data stream (crops, augmentation) from the trainer's step on;
    rank 0 keeps the single-process stream, so one process trains exactly as without torchrun."""
    if rank():
        from daguerre.training.common import seed_everything

        trainer.rng = data_generator(seed, trainer.step)
        seed_everything(int(torch.randint(2**31, (1,), generator=trainer.rng)))


def launch(argv: list[str], nproc: int) -> int:
    """Run ``python -m daguerre *argv`` as ``nproc`` processes of one group on this machine (what ``torchrun
    --nproc-per-node`` does: RANK, WORLD_SIZE and a loopback rendezvous for gloo); if one fails the others are
    stopped. Returns the first non-zero exit code, or 0."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "WORLD_SIZE": str(nproc), "LOCAL_WORLD_SIZE": str(nproc), "MASTER_ADDR": "127.0.0.1",
           "MASTER_PORT": str(port)}
    env.setdefault("OMP_NUM_THREADS", "1")
    procs = [subprocess.Popen([sys.executable, "-m", "daguerre", *argv],
                              env=env | {"RANK": str(r), "LOCAL_RANK": str(r)}) for r in range(nproc)]
    code = 0
    try:
        while any(p.poll() is None for p in procs):
            failed = [p.returncode for p in procs if p.returncode not in (None, 0)]
            if failed:
                code = failed[0]
                break
            time.sleep(0.2)
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            p.wait()
    return code or next((p.returncode for p in procs if p.returncode), 0)
