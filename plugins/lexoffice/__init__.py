"""lexoffice-airflow: exactly-once delivery of invoice drafts and bank transactions to Lexware Office."""

__version__ = "0.1.0"
