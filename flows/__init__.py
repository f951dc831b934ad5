"""Prefect flows: the nightly job (and, later, the retention purge and schedules).

Prefect reads its settings at import: call ``flows.environment.prepare_prefect(settings)`` before
importing ``flows.nightly``.
"""
