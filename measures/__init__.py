"""The policy model: YAML schema, loading, validation (lint), versioning."""

from measures.bundle import Bundle, BundleTrigger, Measure, Memorandum
from measures.loader import lint_bundle, load_bundle, parse_bundle, read_bundle_files
from measures.version import bundle_version
from measures.yaml_positions import InvalidBundle, Problem

__all__ = [
    "Bundle",
    "BundleTrigger",
    "InvalidBundle",
    "Measure",
    "Memorandum",
    "Problem",
    "bundle_version",
    "lint_bundle",
    "load_bundle",
    "parse_bundle",
    "read_bundle_files",
]
