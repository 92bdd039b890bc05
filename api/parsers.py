"""The API's JSON body parser: DRF's, reading through kernel.json_input, so a body nested
5,000 levels deep or carrying NUL characters is a 400 with a reason, not a 500."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from kernel.json_input import JsonInputError, loads


class LimitedJSONParser(JSONParser):
    def parse(
        self, stream: IO[bytes], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        try:
            return loads(stream.read())
        except JsonInputError as exc:
            raise ParseError(f"JSON parse error: {exc}.") from None
