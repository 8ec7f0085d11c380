"""Embedding spread over a Dask cluster's workers, for `python -m ingest --cluster ADDRESS`.

ADDRESS is a Dask scheduler (`tcp://host:8786`, started with `dask scheduler` and `dask worker`
on each machine) or `local`, a cluster of this machine's cores started for the run. The run stays
what it is without a cluster: it reads and chunks, keeps the one writer, commits at the same
checkpoints and prints the same progress and report; only the passages' embedding goes to the
workers, in batches whose vectors stream back as each finishes. Each worker process loads the
model once (`load_embedder` is cached per process) and computes the vectors a local run would.

Dask rather than Ray: the same pool of worker processes and results streamed back as they
finish, from pure-Python packages: `pip install` of distributed with its dependencies took 15 s
and 45 MB here, Ray's 38 s and 260 MB (its own daemons in C++), and a local cluster starts in
seconds on two cores. Imported only when a run is given a cluster.
"""
from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from .embedder import Embedder, load_embedder

# Passages per task: small enough that every worker gets some of one embedding batch of the run
# (sync.EMBED_BATCH), large enough that a task's overhead (~ms) is small beside its encoding.
TASK_PASSAGES = 32


def _encode_on_worker(model: str, texts: list[str]) -> np.ndarray:
    """Runs on a worker: the worker's one model (loaded by its first task) encodes the texts."""
    return load_embedder(model).encode_passages(texts)


class ClusterEmbedder:
    """The local embedder, with `encode_passages` done by the cluster's workers.

    What the run reads from the model besides passage vectors (its token counter, dimension,
    question encodings for labels) stays local: none of it needs the weights but questions.
    """

    def __init__(self, local: Embedder, address: str):
        from distributed import Client, LocalCluster

        self.local = local
        self._cluster = None
        if address == "local":
            self._cluster = LocalCluster(n_workers=os.cpu_count() or 1, threads_per_worker=1, processes=True,
                                         dashboard_address=None)
            address = self._cluster.scheduler_address
        self.client = Client(address)

    def __getattr__(self, name):
        return getattr(self.local, name)

    def encode_passages(self, texts: list[str], batch_size: int = 32,
                        progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Unit vectors of passages, one row each, in order; `progress(n)` as each task's n come back."""
        from distributed import as_completed

        if not texts:
            return np.zeros((0, self.local.dimension), dtype=np.float32)
        starts = range(0, len(texts), TASK_PASSAGES)
        futures = {
            self.client.submit(_encode_on_worker, self.local.name, texts[start : start + TASK_PASSAGES], pure=False): start
            for start in starts
        }
        vectors = None
        for future in as_completed(futures):
            part = future.result()
            if vectors is None:
                vectors = np.zeros((len(texts), part.shape[1]), dtype=np.float32)
            start = futures[future]
            vectors[start : start + len(part)] = part
            if progress:
                progress(len(part))
        return vectors

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()
