"""Post-training recipes (span-reweighted SFT, perception-aware GRPO) and their diagnostics.

Needs the training extra (torch, transformers, TRL, peft); nothing here is imported by the core
package, so dataset generation and evaluation work without it.
"""
