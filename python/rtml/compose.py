"""River's compose module: Pipeline."""

from ._pipeline import Pipeline

__all__ = ["Pipeline"]
