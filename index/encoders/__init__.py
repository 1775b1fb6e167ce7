"""Encoders: texts to L2-normalised vectors.

Questions are encoded by the backend `index.backend` names, passages by `index.passage_backend`:
the sentence-transformers model on torch (the reference) or an ONNX export of it (backends.py).
Vectors already computed are kept on disk by model and text (cache.py).
"""
