"""Refusing form posts lehnz could not store the same on both databases, naming the field:
no field, nor an uploaded file's name, may hold U+0000, which PostgreSQL cannot store.
"""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import FormData, UploadFile

from lehnz.errors import ValidationFailed
from lehnz.validation import NUL_REASON

_FORM = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"


def _name(field: str) -> str:
    return field[:64] if field.isprintable() else repr(field[:64])


async def checked_form(request: Request) -> FormData | None:
    """The post's form (parsed once; the handler's fields read the same), or ``None`` for a
    body that is not a form. URL-encoded bodies were checked whole on the way in
    (``lehnz.api.nul_guard``); here every field of either kind, and any uploaded file's
    name, is checked for U+0000."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith((_FORM, _MULTIPART)):
        return None
    form = await request.form()
    problems = []
    for field, value in form.multi_items():
        text = (value.filename or "") if isinstance(value, UploadFile) else value
        if "\x00" in field or "\x00" in text:
            problems.append(f"{_name(field)}: {NUL_REASON}")
    if problems:
        raise ValidationFailed(problems)
    return form
