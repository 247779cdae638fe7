"""HTTP pull connector: pages of JSON records from a source API, keys named as in its layout."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx

from caisse_bank_sync.domain.entities import ENTITIES
from caisse_bank_sync.domain.layouts import layout
from caisse_bank_sync.sources.base import BadRow, Extract, ExtractError, Row
from caisse_bank_sync.sources.files import json_row

PAGE_SIZE = 5000


class HttpExtract(Extract):
    """``GET {base}/{entity}?page=N&pageSize=M`` → ``{"items": [...], "nextPage": N|null}``."""

    def __init__(self, entity: str, url: str, columns: list[str], client: httpx.AsyncClient) -> None:
        super().__init__(entity=entity, name=url)
        self.url, self.columns, self.client = url, columns, client

    async def _page(self, page: int) -> dict[str, object]:
        try:
            resp = await self.client.get(self.url, params={"page": page, "pageSize": PAGE_SIZE})
            resp.raise_for_status()
            body = json.loads(resp.content, parse_float=str, parse_int=str)
        except (httpx.HTTPError, ValueError) as exc:
            raise ExtractError(f"{self.url} page {page}: {exc}") from exc
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise ExtractError(f"{self.url} page {page}: no items list")
        return body

    async def chunks(self) -> AsyncIterator[list[Row]]:
        """Follow ``nextPage`` until it is null; record index is the reported line."""
        page: object = 1
        index = 0
        while page is not None:
            body = await self._page(int(str(page)))
            chunk: list[Row] = []
            for record in body["items"]:  # type: ignore[attr-defined]
                index += 1
                try:
                    chunk.append(json_row(index, record, self.columns))
                except ValueError as exc:
                    self.bad_rows.append(BadRow(index, f"invalid record: {exc}", str(record)[:300]))
            self.rows_read += len(chunk)
            yield chunk
            page = body.get("nextPage")


class HttpConnector:
    """A source exposing its entities over HTTP (JSON field names as in the source layout)."""

    def __init__(self, source: str, base_url: str, client: httpx.AsyncClient | None = None) -> None:
        self.source, self.base_url = source, base_url.rstrip("/")
        self.client = client or httpx.AsyncClient(timeout=60.0)

    def entities(self) -> list[str]:
        """Every entity type (the API is asked for each)."""
        return list(ENTITIES)

    def open(self, entity: str) -> HttpExtract:
        """The extract of one entity type."""
        lay = layout(self.source, entity)
        cols = [lay.column_for(f) for f in ENTITIES[entity].field_names]
        return HttpExtract(entity, f"{self.base_url}/{entity}", cols, self.client)

    def redact(self, message: str) -> str:
        """Unchanged: an HTTP source is named by its URL, no server path."""
        return message
