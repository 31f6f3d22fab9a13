"""Starts a torch.distributed job of RANKS processes on this machine (gloo over 127.0.0.1, 1 thread each), for the
PyTorch side of the communication and scaling benchmarks."""
import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(rank, fn, world, port, args):
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    if world > 1:
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    fn(rank, world, *args)
    if world > 1:
        dist.destroy_process_group()


def spawn(fn, world, *args):
    """Runs fn(rank, world, *args) in `world` forked processes; the process group is up when it starts (world > 1)."""
    mp.start_processes(_start, args=(fn, world, _free_port(), args), nprocs=world, start_method="fork")
