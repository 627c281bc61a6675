"""The JSON API: views, request validation, reads, and the OpenAPI document."""
