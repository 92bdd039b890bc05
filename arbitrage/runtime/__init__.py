"""The scan runtime: running scans against the live services, and what they leave behind.

`scan` (one scan: slice, engine, audit, feed), `sharding` (one scan split across Celery
workers), `config` (the engine's settings from the database), `services` (the book store,
feed and lock the settings choose), `feed` (the scan message and its stream), `lock` (one
scan at a time), `schedules` (beat's cadence), `status` (the latest scan and book health
for readers).
"""
