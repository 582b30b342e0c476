"""Tests of :mod:`cnnlib.ops`, one file per module."""
