"""Golden scenarios (tests/cases/scenarios/*.yaml) and their runner.

Their own package rather than beside ``checks/``: a scenario drives the whole service through
the same paths the API uses (registry events, ``entries`` registration with derivations and
lifecycle steps, checks through ``engine.checks.decide_async`` into the decision log), so it
pins the behaviour of several engine packages together and mirrors none of them alone.
"""
