"""Personal data in Swedish text (Presidio recognizers): the ``pii`` spans of every verdict."""

from models.pii.detector import PiiDetector

__all__ = ["PiiDetector"]
