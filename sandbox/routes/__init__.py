"""HTTP routes: the Lexware-compatible /v1 API, the OAuth2 authorisation server and the /_admin API."""
