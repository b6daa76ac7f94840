"""The SFT objectives, on per-token negative log-likelihoods.

`nll` is aligned with the *predicted* tokens: nll[:, t] is the loss of token t + 1 given tokens
0..t (the causal shift), so masks aligned with input_ids are shifted by one before use.

Means are taken over a whole optimizer step: with gradient accumulation each micro-batch divides
its span sum by the step's total token count for that span, so the accumulated gradient is the
gradient of the step-wide mean, whatever the micro-batch split.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

LOSSES = ("token", "span", "ngdiff")


@dataclass(frozen=True)
class SpanSums:
    """Summed NLL and token counts of the two spans in one micro-batch."""

    perception: torch.Tensor
    reasoning: torch.Tensor
    n_perception: int
    n_reasoning: int


def shifted(mask: torch.Tensor) -> torch.Tensor:
    """Align a mask over input positions with the predicted-token axis of `nll`."""
    return mask[:, 1:]


def span_sums(nll: torch.Tensor, perception_mask: torch.Tensor, reasoning_mask: torch.Tensor) -> SpanSums:
    p, r = shifted(perception_mask), shifted(reasoning_mask)
    return SpanSums((nll * p).sum(), (nll * r).sum(), int(p.sum()), int(r.sum()))


def span_means(sums: SpanSums, n_perception: int, n_reasoning: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Lp and Lr, each divided by its span's token count (step-wide under accumulation)."""
    return sums.perception / max(n_perception, 1), sums.reasoning / max(n_reasoning, 1)


def token_loss(sums: SpanSums, n_tokens: int) -> torch.Tensor:
    """The ordinary baseline: the mean over every trained token, both spans pooled."""
    return (sums.perception + sums.reasoning) / max(n_tokens, 1)


def span_loss(lp: torch.Tensor, lr: torch.Tensor, lam: float) -> torch.Tensor:
    """L = λ·Lp + (1−λ)·Lr."""
    return lam * lp + (1.0 - lam) * lr
