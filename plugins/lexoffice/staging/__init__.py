"""Staging: one tenant's window read from the source, validated and recorded in the outbox.

``stage`` runs the step; ``windows`` decides which source rows a run reads; ``background`` overlaps database
waits with Python work; ``gc_thresholds`` keeps the garbage collector out of the way while a window is built.
"""
