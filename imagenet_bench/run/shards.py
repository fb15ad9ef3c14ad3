"""Which rows each process predicts: torchrun / SLURM shards of whole batches (stdlib only).

Batch ``k`` is always rows ``[k*B, (k+1)*B)``; a shard is a contiguous block of
whole batches, so a sharded or resumed run feeds the network exactly the
batches one uninterrupted process feeds it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from imagenet_bench.errors import BenchError


@dataclass(frozen=True)
class Shard:
    """This process's share of the work."""

    rank: int = 0  # index of this process
    world: int = 1  # number of processes


def shard_from_env(environ: Optional[Dict[str, str]] = None) -> Shard:
    """The shard of this process: torchrun's RANK/WORLD_SIZE, else SLURM's SLURM_PROCID/SLURM_NTASKS."""
    env = os.environ if environ is None else environ
    for rank_var, world_var in (("RANK", "WORLD_SIZE"), ("SLURM_PROCID", "SLURM_NTASKS")):
        if world_var in env:
            try:
                rank, world = int(env.get(rank_var, "0")), int(env[world_var])
            except ValueError:
                raise BenchError(f"{rank_var}={env.get(rank_var)!r} / {world_var}={env[world_var]!r} "
                                 f"are not integers. Fix: start the processes with torchrun or "
                                 f"srun, or unset both variables") from None
            if not 0 <= rank < world:
                raise BenchError(f"{rank_var}={rank} is outside 0..{world_var}-1={world - 1}. Fix: "
                                 f"start the processes with torchrun or srun, or unset both variables")
            return Shard(rank, world)
    return Shard()


def plan_batches(num_rows: int, batch_size: int) -> List[Tuple[int, int]]:
    """The fixed batches of a run: [(start, stop), ...] of ``batch_size`` rows (last one shorter)."""
    return [(s, min(s + batch_size, num_rows)) for s in range(0, num_rows, batch_size)]


def shard_rows(num_rows: int, batch_size: int, shard: Shard) -> Tuple[int, int]:
    """Rows [start, stop) of ``shard``: a contiguous block of whole batches."""
    nb = len(plan_batches(num_rows, batch_size))
    lo, hi = nb * shard.rank // shard.world, nb * (shard.rank + 1) // shard.world
    return min(lo * batch_size, num_rows), min(hi * batch_size, num_rows)
