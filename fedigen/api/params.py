"""Request parameters as Mastodon reads them: query string, form, multipart or JSON, all alike.

Mastodon apps send arrays as ``media_ids[]=1&media_ids[]=2`` in forms and as lists in JSON, and
booleans as ``true``/``1``/``on``. A bad value is a 422 naming the field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request

from activitypub.errors import InvalidActivityError
from activitypub.jsonld import check_bounds
from fedigen.errors import ValidationError

TRUE = {"true", "1", "on", "yes"}
FALSE = {"false", "0", "off", "no", ""}


@dataclass
class Params:
    """Parameters of one request; ``values`` maps a name to every value given for it."""

    values: dict[str, list[Any]] = field(default_factory=dict)

    def add(self, name: str, value: Any) -> None:
        """Record a value ("x[]" and "x" are the same name)."""
        key = name[:-2] if name.endswith("[]") else name
        if isinstance(value, list):
            self.values.setdefault(key, []).extend(value)
        else:
            self.values.setdefault(key, []).append(value)

    def __contains__(self, name: str) -> bool:
        return name in self.values

    def get_str(self, name: str, default: str | None = None, *, max_chars: int | None = None) -> str | None:
        """One string value."""
        items = self.values.get(name)
        if not items or items[0] is None:
            return default
        value = items[0]
        if isinstance(value, bool | int | float):
            value = json.dumps(value)
        if not isinstance(value, str):
            raise ValidationError(name, "must be a string")
        if max_chars is not None and len(value) > max_chars:
            raise ValidationError(name, f"is too long (at most {max_chars} characters)")
        return value

    def required(self, name: str, *, max_chars: int | None = None) -> str:
        """A string that must be present and not blank."""
        value = self.get_str(name, max_chars=max_chars)
        if value is None or not value.strip():
            raise ValidationError(name, "can't be blank")
        return value

    def get_bool(self, name: str, default: bool = False) -> bool:
        """A boolean: true/false, 1/0, on/off."""
        items = self.values.get(name)
        if not items:
            return default
        value = items[0]
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in TRUE:
            return True
        if text in FALSE:
            return False
        raise ValidationError(name, "must be true or false")

    def get_int(
        self, name: str, default: int | None = None, *, low: int | None = None, high: int | None = None
    ) -> int | None:
        """An integer, optionally bounded."""
        items = self.values.get(name)
        if not items or items[0] in (None, ""):
            return default
        try:
            value = int(items[0])
        except (TypeError, ValueError):
            raise ValidationError(name, "must be an integer") from None
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValidationError(name, f"must be between {low} and {high}")
        return value

    def get_float(self, name: str, default: float | None = None) -> float | None:
        """A number."""
        items = self.values.get(name)
        if not items or items[0] in (None, ""):
            return default
        try:
            return float(items[0])
        except (TypeError, ValueError):
            raise ValidationError(name, "must be a number") from None

    def get_list(self, name: str, *, max_items: int = 100) -> list[str]:
        """Every value of an array parameter, as strings."""
        items = [str(v) for v in self.values.get(name, []) if v is not None]
        if len(items) > max_items:
            raise ValidationError(name, f"at most {max_items} values")
        return items

    def get_file(self, name: str) -> UploadFile | None:
        """An uploaded file (multipart)."""
        items = self.values.get(name)
        value = items[0] if items else None
        return value if isinstance(value, UploadFile) else None


async def read_params(request: Request, *, max_json_bytes: int = 1_000_000) -> Params:
    """Query string first, then the body (JSON, urlencoded form or multipart), later values winning."""
    params = Params()
    for key, value in request.query_params.multi_items():
        params.add(key, value)
    if request.method in ("GET", "HEAD", "DELETE") and not request.headers.get("content-length"):
        return params
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        body = await request.body()
        if len(body) > max_json_bytes:
            raise ValidationError("body", "too large")
        try:
            data = json.loads(body or b"{}")
        except (ValueError, RecursionError):
            raise ValidationError("body", "is not valid JSON (or nested too deeply)") from None
        if not isinstance(data, dict):
            raise ValidationError("body", "must be a JSON object")
        try:
            check_bounds(data)
        except InvalidActivityError as exc:
            raise ValidationError("body", str(exc)) from None
        for key, value in data.items():
            if isinstance(value, dict):  # nested objects (e.g. poll, fields_attributes) kept whole
                params.values[key] = [value]
            else:
                params.values.pop(key[:-2] if key.endswith("[]") else key, None)
                params.add(key, value)
    elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        for key, item in form.multi_items():
            params.add(key, item)
    return params
