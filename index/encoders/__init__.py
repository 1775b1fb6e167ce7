"""Encoders: texts to L2-normalised vectors.

Passages are always embedded by the sentence-transformers model on torch (the reference);
questions by the backend `index.backend` names, torch itself or an ONNX export of it.
"""
