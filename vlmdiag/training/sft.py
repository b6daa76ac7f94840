"""Span-reweighted SFT: TRL's SFTTrainer with its loss hooks replaced, nothing else copied.

Three hooks change:
  get_batch_samples  counts each span's tokens over the whole optimizer step (all micro-batches,
                     all processes), so the span means are step-wide under gradient accumulation;
  compute_loss       one forward with TRL's fused LM head (per-token log-probs, no full logits),
                     then the token, span or NGDiff objective from the two span sums;
  training_step      for NGDiff on a refresh step only: the two span gradients from separate
                     backward passes set λ, and their weighted sum goes into .grad directly
                     (two backward passes instead of three).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from trl import SFTConfig, SFTTrainer

from vlmdiag.errors import ConfigError
from vlmdiag.training import ngdiff
from vlmdiag.training.losses import LOSSES, SpanSums, shifted, span_loss, span_means, span_sums, token_loss


@dataclass
class SpanSFTConfig(SFTConfig):
    """SFTConfig plus the span objective's settings (each one a command-line flag)."""

    span_loss: str = field(default="token", metadata={"help": "token, span or ngdiff"})
    span_lambda: float = field(default=0.5, metadata={"help": "λ of the span loss (initial λ for ngdiff)"})
    ngdiff_every: int = field(default=1, metadata={"help": "refresh NGDiff's λ every k optimizer steps"})
    ngdiff_smoothing: float = field(default=0.0, metadata={"help": "EMA weight of the previous λ"})
    ngdiff_low: float = field(default=0.0, metadata={"help": "lower clamp of λ"})
    ngdiff_high: float = field(default=1.0, metadata={"help": "upper clamp of λ"})

    def __post_init__(self) -> None:
        # The collator reads the span columns, which TRL would otherwise drop as unused.
        self.remove_unused_columns = False
        super().__post_init__()
        if self.span_loss not in LOSSES:
            raise ConfigError(f"--loss must be one of {', '.join(LOSSES)}, got {self.span_loss!r}")
        if not 0.0 <= self.span_lambda <= 1.0:
            raise ConfigError(f"--lam must be in [0, 1], got {self.span_lambda}")
        self.lambda_controller()  # checks the NGDiff settings now, before any model is loaded

    def lambda_controller(self) -> ngdiff.LambdaController:
        return ngdiff.LambdaController(self.ngdiff_every, self.ngdiff_smoothing, self.ngdiff_low, self.ngdiff_high,
                                       self.span_lambda)


class SpanSFTTrainer(SFTTrainer):
    """SFTTrainer whose loss is token-averaged, λ·Lp + (1−λ)·Lr, or NGDiff; logs Lp, Lr and λ."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        cfg = self.args
        # Our loss divides by step-wide counts itself; the Trainer must not divide again.
        self.loss_is_scaled_for_ga = True
        self.step_counts = (0, 0)
        self._refresh_pending = False
        self.lam = cfg.lambda_controller()
        if cfg.span_loss == "ngdiff":
            if self.accelerator.num_processes > 1:
                raise ConfigError("--loss ngdiff runs on one process (its gradients bypass DDP's all-reduce)")
            if cfg.fp16:
                raise ConfigError("--loss ngdiff does not support fp16 loss scaling; use bf16 or fp32")

    # -- hooks ------------------------------------------------------------------------------
    def get_batch_samples(self, epoch_iterator, num_batches, device):
        batches, num_items = super().get_batch_samples(epoch_iterator, num_batches, device)
        counts = torch.tensor([[int(shifted(b[k]).sum()) for k in ("perception_mask", "reasoning_mask")]
                               for b in batches], device=device).sum(0)
        if self.accelerator.num_processes > 1:
            counts = self.accelerator.gather(counts.unsqueeze(0)).sum(0)
        self.step_counts = tuple(int(c) for c in counts)
        self._refresh_pending = True
        return batches, num_items

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        sums = self._forward(model, inputs)
        lp, lr = span_means(sums, *self._counts(sums))
        kind = self.args.span_loss
        if kind == "token":
            loss = token_loss(sums, sum(self._counts(sums)))
        else:
            loss = span_loss(lp, lr, self.lam.value)
        self._record(sums, lam=None if kind == "token" else self.lam.value)
        # Under DDP gradients are averaged over processes, but our counts already span all of them.
        loss = loss * (self.accelerator.num_processes if self.model.training else 1)
        return (loss, None) if return_outputs else loss

    def training_step(self, model, inputs, num_items_in_batch=None):
        if self.args.span_loss != "ngdiff" or not self._take_refresh():
            return super().training_step(model, inputs, num_items_in_batch)
        model.train()
        inputs = self._prepare_inputs(inputs)
        with self.compute_loss_context_manager():
            sums = self._forward(model, inputs)
        n_p, n_r = self._counts(sums)
        params = [p for p in model.parameters() if p.requires_grad]
        g_p, g_r = ngdiff.span_gradients(sums.perception / max(n_p, 1), sums.reasoning / max(n_r, 1), params)
        # λ compares the gradients of this micro-batch's span *means*; rescale from step-wide counts.
        norm_p = ngdiff.grad_norm(g_p) * n_p / max(sums.n_perception, 1)
        norm_r = ngdiff.grad_norm(g_r) * n_r / max(sums.n_reasoning, 1)
        # A micro-batch without one of the spans (e.g. truncated) says nothing about their balance.
        measured = sums.n_perception > 0 and sums.n_reasoning > 0
        lam = self.lam.update(norm_p, norm_r) if measured else self.lam.value
        ngdiff.accumulate(params, g_p, g_r, lam)
        self._record(sums, lam=lam, norms=(norm_p, norm_r))
        lp, lr = span_means(sums, n_p, n_r)
        return span_loss(lp, lr, lam).detach()

    # -- helpers ----------------------------------------------------------------------------
    def _forward(self, model, inputs) -> SpanSums:
        perception, reasoning = inputs.pop("perception_mask"), inputs.pop("reasoning_mask")
        outputs = model(**inputs, use_cache=False, fused_lm_head=True)
        return span_sums(-outputs.log_probs, perception.to(outputs.log_probs.dtype),
                         reasoning.to(outputs.log_probs.dtype))

    def _counts(self, sums: SpanSums) -> tuple[int, int]:
        """Step-wide counts while training; the batch's own when evaluating."""
        if self.model.training and any(self.step_counts):
            return self.step_counts
        return sums.n_perception, sums.n_reasoning

    def _take_refresh(self) -> bool:
        """True once per optimizer step (its first micro-batch) when λ is due."""
        pending, self._refresh_pending = self._refresh_pending, False
        return pending and self.lam.due(self.state.global_step)

    def _record(self, sums: SpanSums, lam: float | None, norms: tuple[float, float] | None = None) -> None:
        metrics = self._metrics["train" if self.model.training else "eval"]
        lp, lr = span_means(sums, sums.n_perception, sums.n_reasoning)
        metrics["loss_perception"].append(float(lp.detach()))
        metrics["loss_reasoning"].append(float(lr.detach()))
        metrics["perception_token_share"].append(sums.n_perception / max(sums.n_perception + sums.n_reasoning, 1))
        if lam is not None:
            metrics["lambda"].append(lam)
        if norms is not None:
            metrics["grad_norm_perception"].append(norms[0])
            metrics["grad_norm_reasoning"].append(norms[1])
