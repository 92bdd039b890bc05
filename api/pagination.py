"""Pagination of the list endpoints: `limit` and `offset`, with a ceiling on `limit` (a huge
one would otherwise overflow the database's integer and turn into a 500)."""

from rest_framework.pagination import LimitOffsetPagination


class Pagination(LimitOffsetPagination):
    max_limit = 1000
