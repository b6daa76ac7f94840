"""Helpers for tests and benchmarks: tiny offline models (needs torch and transformers)."""
from vlmdiag.testing.tiny_models import tiny_internvl, tiny_qwen2vl

__all__ = ["tiny_internvl", "tiny_qwen2vl"]
