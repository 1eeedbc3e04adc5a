"""The registry: subjects (orgs and persons), who holds which role where, identifiers.

``schemas`` the items and answers, ``service`` the batch writes, ``views`` a subject's page,
``identifiers`` 统一社会信用代码 and 公民身份号码.

Import from those modules: this package re-exports nothing, so that ``identifiers`` (which
``engine.entries`` and ``engine.commitments`` need) comes without ``schemas`` and ``views``,
which need those packages in turn (tests/test_imports.py).
"""
