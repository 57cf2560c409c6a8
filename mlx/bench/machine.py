"""The machine the benchmark ran on and what it can do: its facts (CPU, cores, versions,
devices), the load average, peak memory, the matmul FLOPs of a config-epoch (counted
analytically) and the measured matmul peak."""
from __future__ import annotations

import math
import os
import platform
import resource
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp


def machine_facts() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    dev = jax.devices()
    torch_version, torch_threads, torch_cuda = None, None, None
    torch = _torch()
    if torch is not None:
        torch_version, torch_threads = torch.__version__, torch.get_num_threads()
        torch_cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    import jaxlib
    try:
        import wandb
        wandb_version = wandb.__version__
    except ImportError:
        wandb_version = None
    return {"cpu": cpu, "cores": cores, "platform": platform.platform(),
            "python": platform.python_version(), "jax": jax.__version__,
            "jaxlib": jaxlib.__version__, "torch": torch_version, "torch_threads": torch_threads,
            "torch_cuda_device": torch_cuda, "wandb": wandb_version, "backend": jax.default_backend(),
            "devices": [str(d) for d in dev], "device_kind": dev[0].device_kind,
            "gpu": dev[0].device_kind if dev[0].platform == "gpu" else None,
            "default_matmul_precision": str(jax.config.jax_default_matmul_precision)}


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def peak_memory() -> dict:
    """Peak device memory where the device reports it (GPU), else the process's peak RSS."""
    try:
        stats = jax.devices()[0].memory_stats()
    except Exception:
        stats = None
    if stats and "peak_bytes_in_use" in stats:
        return {"kind": "device peak_bytes_in_use", "bytes": int(stats["peak_bytes_in_use"])}
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"kind": "process peak RSS (CPU: device memory is host memory)",
            "bytes": int(rss * (1 if sys.platform == "darwin" else 1024))}


def _torch():
    try:
        import torch
        return torch
    except ImportError:
        return None


def layer_shapes(model: str, d: int, k_out: int, hidden: int) -> list[tuple[int, int]]:
    return [(d, k_out)] if model == "logreg" else [(d, hidden), (hidden, k_out)]


def flops_per_config_epoch(model: str, d: int, k_out: int, hidden: int, n_trained: int,
                           n_test: int) -> dict:
    """Matmul FLOPs of one config-epoch: n_trained training examples, n_test evaluated.

    forward = sum over layers of 2 * in * out per example; training 3 x forward (convention);
    executed drops the first layer's input gradient (2 * d * out_1 per example)."""
    layers = layer_shapes(model, d, k_out, hidden)
    fwd = sum(2 * a * b for a, b in layers)
    conv = n_trained * 3 * fwd + n_test * fwd
    exe = n_trained * (3 * fwd - 2 * layers[0][0] * layers[0][1]) + n_test * fwd
    return {"convention": float(conv), "executed": float(exe)}


def measure_peak(n: int, dtype=jnp.float32, chain: int = 4, repeats: int = 3) -> dict:
    """Best-of-``repeats`` FLOP/s of ``chain`` dependent n x n x n jnp.dot in one program."""
    k1, k2 = jax.random.split(jax.random.key(0))
    a = jax.random.normal(k1, (n, n), jnp.float32).astype(dtype)
    b = (jax.random.normal(k2, (n, n), jnp.float32) / math.sqrt(n)).astype(dtype)

    @jax.jit
    def f(a, b):
        return jax.lax.fori_loop(0, chain, lambda i, x: jnp.dot(
            x, b, preferred_element_type=jnp.float32).astype(dtype), a)

    jax.block_until_ready(f(a, b))
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(f(a, b))
        best = min(best, time.perf_counter() - t0)
    return {"n": n, "dtype": jnp.dtype(dtype).name, "chain": chain, "seconds": best,
            "flops_per_second": 2.0 * n ** 3 * chain / best}
