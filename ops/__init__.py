"""What operators call: health and Prometheus metrics endpoints."""
