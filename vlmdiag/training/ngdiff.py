"""NGDiff's dynamic span weight: λ_t = ‖g_r‖ / (‖g_p‖ + ‖g_r‖).

Normalising each span's gradient by its own norm before adding them (Bu et al., 2024) is, up to a
positive scale, the span loss with this λ: the span whose gradient is smaller gets the larger
weight. The norms need one backward pass per span, so λ can be refreshed every k optimizer steps
and held in between; optional smoothing (an exponential moving average) and clamping keep it
from jumping on a noisy batch.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from vlmdiag.errors import ConfigError


def ngdiff_lambda(norm_p: float, norm_r: float) -> float | None:
    """The raw weight; None when both gradients vanish (nothing to learn from this batch)."""
    total = norm_p + norm_r
    return None if total <= 0 else norm_r / total


def grad_norm(grads: tuple[torch.Tensor | None, ...]) -> float:
    return float(torch.sqrt(sum((g.detach().float() ** 2).sum() for g in grads if g is not None)))


@dataclass
class LambdaController:
    """λ across steps: refresh every `every` steps, smooth, clamp to [low, high]."""

    every: int = 1
    smoothing: float = 0.0
    low: float = 0.0
    high: float = 1.0
    value: float = 0.5

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ConfigError(f"--ngdiff-every must be at least 1, got {self.every}")
        if not 0.0 <= self.smoothing < 1.0:
            raise ConfigError(f"--ngdiff-smoothing must be in [0, 1), got {self.smoothing}")
        if not 0.0 <= self.low <= self.high <= 1.0:
            raise ConfigError(f"--ngdiff-clamp must satisfy 0 <= low <= high <= 1, got {self.low}, {self.high}")
        self.value = min(max(self.value, self.low), self.high)
        self._updates = 0

    def due(self, step: int) -> bool:
        return step % self.every == 0

    def update(self, norm_p: float, norm_r: float) -> float:
        raw = ngdiff_lambda(norm_p, norm_r)
        if raw is not None:
            # The first measurement replaces the initial guess rather than being averaged with it.
            mixed = raw if self._updates == 0 else self.smoothing * self.value + (1 - self.smoothing) * raw
            self.value = min(max(mixed, self.low), self.high)
            self._updates += 1
        return self.value


def span_gradients(loss_p: torch.Tensor, loss_r: torch.Tensor, params: list[torch.nn.Parameter]):
    """The two span gradients from one forward pass (the graph is kept for the second)."""
    g_p = torch.autograd.grad(loss_p, params, retain_graph=True, allow_unused=True)
    g_r = torch.autograd.grad(loss_r, params, allow_unused=True)
    return g_p, g_r


def accumulate(params: list[torch.nn.Parameter], g_p, g_r, lam: float) -> None:
    """Add λ·g_p + (1−λ)·g_r into .grad, as a backward pass of the weighted loss would."""
    for param, a, b in zip(params, g_p, g_r):
        if a is None and b is None:
            continue
        step = (lam * a if a is not None else 0) + ((1 - lam) * b if b is not None else 0)
        param.grad = step.detach() if param.grad is None else param.grad + step.detach()
