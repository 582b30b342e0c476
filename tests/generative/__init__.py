"""Tests of :mod:`cnnlib.generative`, one file per module."""
