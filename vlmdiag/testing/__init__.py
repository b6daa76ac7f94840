"""Helpers for tests and benchmarks: tiny offline models (need torch and transformers) and datasets."""
from vlmdiag.testing.datasets import tiny_dataset
from vlmdiag.testing.tiny_models import tiny_internvl, tiny_qwen2vl

__all__ = ["tiny_dataset", "tiny_internvl", "tiny_qwen2vl"]
