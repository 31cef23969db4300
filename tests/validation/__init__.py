"""Tests of lexoffice.source, lexoffice.validation, lexoffice.payloads and the demo generator."""
