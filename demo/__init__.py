"""The embedded demo's composition root: the whole product in one process (`manage.py
demo`), wired from every other room. Nothing imports it."""
