"""The REST API under /api/v1/ (DRF), its OpenAPI schema at /api/schema/ and its docs page."""
