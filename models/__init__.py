"""Language processing and classifiers: posts in, verdicts out.

Public interface: ``Analyzer`` (the protocol the flow depends on) and ``load_analyzer(settings)``.
"""

from models.analyzer import Analyzer, load_analyzer

__all__ = ["Analyzer", "load_analyzer"]
