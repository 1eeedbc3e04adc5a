"""Policy tests (``*_test.yaml``, ``jrp test``): what the memoranda must answer, checked.

``cases`` reads and validates test files against the bundle; ``runner`` runs each case from
an empty state through the service's own write path and checks.
"""

from engine.policytest.runner import Failure, TestReport, Uncovered, load_tests, run_tests

__all__ = ["Failure", "TestReport", "Uncovered", "load_tests", "run_tests"]
