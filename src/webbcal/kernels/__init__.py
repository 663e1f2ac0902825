"""Numba/numpy algorithms over arrays: no data models, no I/O, no logging configuration."""
