"""A Lexware Office HTTP client without Airflow: auth, throttle, the retry policy, typed errors and calls.

Airflow adapts a connection to it in ``lexoffice.provider.hooks``; everything else (CLI, tests, the sandbox demo)
uses it directly. See docs/client.md.
"""

from lexoffice.client.api import LexofficeClient, encode_search_string
from lexoffice.client.auth import (
    ApiKeyAuth,
    MemoryTokenStore,
    OAuth2Auth,
    TokenRecord,
    TokenStore,
    default_oauth_urls,
    exchange_code,
    revoke_authorization,
)
from lexoffice.client.retry import RetryPolicy, is_outcome_unknown, is_retryable
from lexoffice.client.throttle import RateLimiter, TokenBucket

__all__ = [
    "ApiKeyAuth",
    "LexofficeClient",
    "MemoryTokenStore",
    "OAuth2Auth",
    "RateLimiter",
    "RetryPolicy",
    "TokenBucket",
    "TokenRecord",
    "TokenStore",
    "default_oauth_urls",
    "encode_search_string",
    "exchange_code",
    "is_outcome_unknown",
    "is_retryable",
    "revoke_authorization",
]
