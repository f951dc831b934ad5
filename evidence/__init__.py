"""Police-ready evidence packages: the captured original, its digests, a manifest and the chain of custody.

Public interface: ``build_package(store, data_dir, post_id, exported_by=..., reason=..., out_dir=...)`` writes
one post's package (a ZIP) and audits the export; ``verify_package(zip_path)`` recomputes every digest in a
package and reports each file; ``EvidenceError`` says why a package cannot be built or read. See
docs/evidence.md for what a package holds and how to check it by hand.
"""

from __future__ import annotations

from evidence.errors import ErrorCode, EvidenceError
from evidence.package import AUDIT_ACTION, PACKAGE_FILES, build_package, default_exporter, safe_id
from evidence.verify import FileCheck, PayloadCheck, Status, VerificationReport, verify_package

__all__ = [
    "AUDIT_ACTION",
    "PACKAGE_FILES",
    "ErrorCode",
    "EvidenceError",
    "FileCheck",
    "PayloadCheck",
    "Status",
    "VerificationReport",
    "build_package",
    "default_exporter",
    "safe_id",
    "verify_package",
]
