"""Deterministic demo data for the two source databases (field service and bank).

``python -m demo --help`` fills real databases; ``demo.generate`` is the library the tests and the
benchmark call.
"""
