"""What every Ray actor of the project shares (``backend: ray``): the cluster's config, joining
it, actor options. The package's only imports of Ray are inside functions: a local run never
loads it, and a missing Ray is one clear error saying how to install it."""


from __future__ import annotations

import re
import signal
import threading
from dataclasses import dataclass

from selfplay.configio import require
from selfplay.errors import UserError

INSTALL_HINT = ("backend: ray needs Ray, which is not installed here: "
                "pip install 'selfplay[ray]' (or 'ray[client]>=2.9')")
RETRY_SECONDS = 1.0  # a failed actor is asked again this much later (Ray may still be restarting it)
ADDRESS = re.compile(r"^(auto|local|ray://[^\s:/]+:\d+|[^\s:/]+:\d+)$")


@dataclass
class RayConfig:
    """Where the Ray cluster is and what each actor asks of it."""
    address: str = "auto"            # auto: the cluster this machine joined (ray start); ray://host:port
                                     # (Ray Client); host:port (the head's GCS); local: a private one here
    num_cpus_per_actor: float = 1.0  # Ray resources of one self-play or arena actor
    num_gpus_per_actor: float = 0.0  # > 0: the actor's network runs on its (share of a) GPU
    max_restarts: int = -1           # Ray restarts a dead actor this many times; -1 = always
    max_failures_in_a_row: int = 3   # an actor failing this often without a finished chunk stops the run

    def validate(self):
        require(bool(ADDRESS.match(self.address)),
                f"address {self.address!r} is not auto, local, ray://host:port or host:port")
        require(self.num_cpus_per_actor >= 0 and self.num_gpus_per_actor >= 0,
                "num_cpus_per_actor and num_gpus_per_actor must be 0 or more")
        require(self.num_cpus_per_actor > 0 or self.num_gpus_per_actor > 0,
                "an actor needs some CPU or GPU: num_cpus_per_actor or num_gpus_per_actor must be positive")
        require(self.max_restarts >= -1, "max_restarts must be -1 (always) or 0 or more")
        require(self.max_failures_in_a_row >= 1, "max_failures_in_a_row must be positive")


def import_ray():
    """The ``ray`` module, or a UserError that says how to install it."""
    try:
        import ray
    except ImportError:
        raise UserError(INSTALL_HINT) from None
    return ray


def connect(config: RayConfig):
    """Join (or, for ``local``, start) the cluster unless this process already has; returns
    (ray, whether this call connected, so that the caller shuts down only what it started)."""
    ray = import_ray()
    if ray.is_initialized():
        return ray, False
    main_thread = threading.current_thread() is threading.main_thread()
    sigterm = signal.getsignal(signal.SIGTERM) if main_thread else None
    try:
        if config.address == "local":
            ray.init(address="local", include_dashboard=False, _node_ip_address="127.0.0.1")  # loopback only
        else:
            ray.init(address=config.address)
    except (ConnectionError, RuntimeError, ValueError) as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UserError(f"cannot reach the Ray cluster at ray.address={config.address}: {reason} "
                        "(start one with `ray start --head`, or set ray.address=local for a private "
                        "one on this machine)") from None
    finally:
        if sigterm is not None:  # ray.init makes SIGTERM exit at once; the trainer's handler checkpoints first
            signal.signal(signal.SIGTERM, sigterm)
    return ray, True


def actor_options(config: RayConfig) -> dict:
    return {"num_cpus": config.num_cpus_per_actor, "num_gpus": config.num_gpus_per_actor,
            "max_restarts": config.max_restarts, "max_task_retries": 0}


def actor_setup(config: RayConfig) -> str:
    """Torch threads to match the CPUs the actor was given; the device it computes on."""
    import torch
    torch.set_num_threads(max(1, round(config.num_cpus_per_actor)))
    return "cuda" if config.num_gpus_per_actor > 0 else "cpu"


def restarting(ray, error: Exception) -> bool:
    """Ray is restarting the actor (it turns tasks away meanwhile): not a failure to count.
    Older Ray releases have no such error class and raise ActorDiedError for both."""
    return isinstance(error, getattr(ray.exceptions, "ActorUnavailableError", ()))
