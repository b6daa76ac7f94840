"""Evaluation harness (vLLM, OpenAI-compatible, transformers and replay backends)."""
