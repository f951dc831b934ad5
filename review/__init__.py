"""The review app for communications teams and safety officers (`vaktpost serve`)."""

from __future__ import annotations

from review.app import create_app

__all__ = ["create_app"]
