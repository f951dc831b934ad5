"""The app's routes, one module per part of the interface."""

from __future__ import annotations

from fastapi import APIRouter

from review.routes import admin, auth, exports, overview, posts, queue

ROUTERS: list[APIRouter] = [auth.router, queue.router, posts.router, exports.router, overview.router, admin.router]
