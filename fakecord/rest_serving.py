"""Serving the REST API (mixed into ``FakeDiscord``): routing, body parsing (JSON and
multipart), spec checks, scripted faults, rate-limit headers, the CDN."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
import time
import traceback
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import BodyPartReader, web

from .records import (
    Fault,
    RecordedFile,
    RecordedRequest,
)
from .routes import Route
from .spec_check import Violation, invalid_form_body
from .wire import ApiError

if TYPE_CHECKING:
    from .server import FakeDiscord

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"
_FILE_FIELD = re.compile(r"^files\[(\d+)\]$")


def json_response(
    data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A JSON response with ``Content-Type: application/json`` exactly (discord.py compares
    the header to that string, so aiohttp's ``; charset=utf-8`` variant would not parse)."""
    all_headers = {"Content-Type": "application/json"}
    all_headers.update(headers or {})
    return web.Response(
        body=json.dumps(data, separators=(",", ":")).encode(), status=status, headers=all_headers
    )


def compile_route(template: str) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    return re.compile(pattern)


class RestServing:
    """The aiohttp side of the REST API; the endpoints themselves are in :mod:`fakecord.rest`."""

    def _match_route(
        self: FakeDiscord, method: str, path: str
    ) -> tuple[Route | None, dict[str, str]]:
        for route, pattern in self._routes:
            if route.method != method:
                continue
            m = pattern.fullmatch(path)
            if m is not None:
                return route, m.groupdict()
        return None, {}

    async def _parse_body(
        self: FakeDiscord, request: web.Request
    ) -> tuple[Any, list[RecordedFile]]:
        files: list[RecordedFile] = []
        if not request.can_read_body:
            return None, files
        if request.content_type == "multipart/form-data":
            body: Any = None
            reader = await request.multipart()
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, BodyPartReader):
                    continue
                data = await part.read(decode=False)
                if part.name == "payload_json":
                    body = json.loads(bytes(data))
                else:
                    files.append(
                        RecordedFile(
                            field=part.name or "",
                            filename=part.filename or "",
                            content_type=part.headers.get("Content-Type", ""),
                            data=bytes(data),
                        )
                    )
            return body, files
        raw = await request.read()
        if not raw:
            return None, files
        try:
            return json.loads(raw), files
        except ValueError:
            return raw.decode("utf-8", "replace"), files

    def _find_fault(self: FakeDiscord, record: RecordedRequest) -> Fault | None:
        for fault in self.faults:
            if not fault.exhausted and fault.matches(record):
                fault.hits += 1
                return fault
        return None

    def _fault_response(self: FakeDiscord, fault: Fault) -> web.Response:
        status = int(fault.status or 500)
        headers = {"Via": "1.1 google"}
        headers.update(fault.headers)
        body = fault.body
        if body is None:
            body = {"message": f"{status}: fake fault", "code": 0}
        if isinstance(body, (bytes, str)):
            raw = body.encode() if isinstance(body, str) else body
            headers.setdefault("Content-Type", "text/plain")
            return web.Response(body=raw, status=status, headers=headers)
        return json_response(body, status=status, headers=headers)

    def _ratelimit_headers(self: FakeDiscord, route: Route | None) -> dict[str, str]:
        bucket = hashlib.md5(
            (route.template if route else "unknown").encode(), usedforsecurity=False
        ).hexdigest()
        return {
            "Via": "1.1 google",
            "X-RateLimit-Limit": "50",
            "X-RateLimit-Remaining": "49",
            "X-RateLimit-Reset": f"{time.time() + 1:.3f}",
            "X-RateLimit-Reset-After": "1.000",
            "X-RateLimit-Bucket": bucket,
        }

    async def _handle_api(self: FakeDiscord, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        method = request.method.upper()
        route, params = self._match_route(method, path)
        try:
            body, files = await self._parse_body(request)
        except Exception:
            log.exception("fake Discord could not parse the body of %s %s", method, path)
            self.server_errors.append(f"{method} {path}: unparsable body\n{traceback.format_exc()}")
            body, files = None, []
        record = RecordedRequest(
            method=method,
            path=path,
            route=route.template if route else None,
            params=params,
            query=dict(request.query),
            headers=dict(request.headers),
            json=body,
            files=files,
        )
        self.requests.append(record)
        checker = self.spec_checker
        refused: list[Violation] = []
        if checker is not None:
            has_body = body is not None or bool(files)
            refused = checker.check_request(method, path, record.query, body, has_body)
        self.notify_changed()
        response = await self._respond(record, route, request, refused)
        record.status = response.status
        if isinstance(response, web.Response) and response.body is not None:
            with contextlib.suppress(ValueError, TypeError):
                record.response = json.loads(response.body)  # type: ignore[arg-type]
        scripted = record.fault is not None and record.fault.status is not None
        if checker is not None and not scripted:
            checker.check_reply(method, path, response.status, record.response)
        self.notify_changed()
        return response

    async def _respond(
        self: FakeDiscord,
        record: RecordedRequest,
        route: Route | None,
        request: web.Request,
        refused: list[Violation],
    ) -> web.Response:
        authorized = request.headers.get("Authorization") == f"Bot {self.token}"
        if route is not None and route.auth and not authorized:
            log.debug("fake Discord: %s %s refused: bad token", record.method, record.path)
            return json_response({"message": "401: Unauthorized", "code": 0}, status=401)
        if refused:
            # Discord validates the form before anything else happens.
            log.info("fake Discord: %s %s refused by the spec", record.method, record.path)
            body = invalid_form_body(refused)
            return json_response(body, status=400, headers=self._ratelimit_headers(route))
        fault = self._find_fault(record)
        record.fault = fault
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.status is not None and not fault.after_handler:
            log.info("fake Discord: fault %s on %s %s", fault.status, record.method, record.path)
            return self._fault_response(fault)
        if route is None:
            log.warning("fake Discord: no route for %s %s", record.method, record.path)
            response = json_response({"message": "404: Not Found", "code": 0}, status=404)
        else:
            response = await self._run_handler(route, record)
        if fault is not None and fault.status is not None and fault.after_handler:
            log.info(
                "fake Discord: late fault %s on %s %s", fault.status, record.method, record.path
            )
            return self._fault_response(fault)
        return response

    async def _run_handler(
        self: FakeDiscord, route: Route, record: RecordedRequest
    ) -> web.Response:
        headers = self._ratelimit_headers(route)
        try:
            status, data = await route.handler(self, record)
        except ApiError as exc:
            # The bot only sees the error body; the log says which of its calls Discord refused.
            log.debug("fake Discord: %s %s rejected: %s", record.method, record.path, exc)
            return json_response(exc.body, status=exc.status, headers=headers)
        except Exception:
            tb = traceback.format_exc()
            log.exception("fake Discord handler crashed on %s %s", record.method, record.path)
            self.server_errors.append(f"{record.method} {record.path}\n{tb}")
            return json_response({"message": "500: Internal Server Error", "code": 0}, status=500)
        if status == 204:
            return web.Response(status=204, headers=headers)
        return json_response(data, status=status, headers=headers)

    async def _handle_cdn(self: FakeDiscord, request: web.Request) -> web.Response:
        data = self.world.attachment_data.get(request.match_info["attachment_id"])
        if data is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=data, content_type="application/octet-stream")

    @staticmethod
    def files_by_index(record: RecordedRequest) -> dict[int, tuple[str, str, bytes]]:
        """Map ``files[N]`` uploads of a request to ``N -> (filename, content_type, data)``."""
        out: dict[int, tuple[str, str, bytes]] = {}
        for position, upload in enumerate(record.files):
            m = _FILE_FIELD.match(upload.field)
            index = int(m.group(1)) if m else position
            out[index] = (upload.filename, upload.content_type, upload.data)
        return out
