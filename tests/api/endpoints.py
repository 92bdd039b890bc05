"""The API's read endpoints, one list for every test that walks them."""

READ_ENDPOINTS = [
    "/api/v1/opportunities/",
    "/api/v1/episodes/",
    "/api/v1/scans/",
    "/api/v1/books/health/",
    "/api/v1/exchanges/",
    "/api/v1/exchanges/binance/",
    "/api/v1/withdrawal-fees/",
    "/api/v1/settings/",
    "/api/schema/",
]
