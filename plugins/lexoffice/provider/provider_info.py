"""Provider metadata: registers the ``lexoffice`` connection type with Airflow.

Airflow discovers it through the ``apache_airflow_provider`` entry point in ``pyproject.toml``;
``package-name`` must equal the distribution name or discovery fails.
"""

from __future__ import annotations

from typing import Any

DEFAULT_HOST = "https://api.lexware.io"


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "lexoffice-airflow",
        "name": "Lexware Office",
        "description": "Exactly-once delivery of invoice drafts and bank transactions to Lexware Office.",
        "versions": ["0.1.0"],
        "connection-types": [
            {
                "connection-type": "lexoffice",
                "hook-class-name": "lexoffice.provider.hooks.LexofficeHook",
                "hook-name": "Lexware Office",
                "ui-field-behaviour": {
                    "hidden-fields": ["port", "schema"],
                    "relabeling": {
                        "host": "API base URL",
                        "password": "API key or OAuth client secret",
                        "login": "OAuth client id (empty for an API key)",
                    },
                    "placeholders": {
                        "host": DEFAULT_HOST,
                        "password": "API key (private use) or client secret (partner OAuth)",
                        "login": "leave empty when the password is an API key",
                    },
                },
                "conn-fields": {
                    "oauth_token_url": {
                        "label": "OAuth token URL",
                        "description": "Only for OAuth, e.g. https://app.lexware.de/oauth2/token",
                        "schema": {"type": ["string", "null"]},
                    },
                    "timeout": {
                        "label": "Timeout (seconds)",
                        "description": "How long one request may take to answer (read timeout); empty: 30 s.",
                        "schema": {"type": ["number", "null"], "exclusiveMinimum": 0},
                    },
                    "allow_insecure_http": {
                        "label": "Allow plain http:// to a non-loopback host",
                        "description": "Never in production. Loopback hosts (the sandbox) are always allowed.",
                        "schema": {"type": ["boolean", "null"]},
                    },
                },
            }
        ],
    }
