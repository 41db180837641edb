"""`GET /beheer/meldingen/{reference}/bestanden/{file_id}`: a case worker downloads a reporter's evidence file.

Scope rules as for the case (an unknown or out-of-scope report or file is the same 404), the staff member's
unlocked key and their wrapped key for the report are needed (without one: 423 with the 'wait for access'
text), and the download is audited in the transaction that decrypts it (`integrity.staff.evidence_files`): the
bytes are sent only after that commit. The answer is always a download, never shown in the browser:
`application/octet-stream` with `Content-Disposition: attachment`, `X-Content-Type-Options: nosniff` and no
caching (the app's CSP applies as everywhere).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import Response

from backoffice.deps import SessionDep, UserError
from backoffice.routes.staff_cases import KEY_LOCKED_FILE, NOT_FOUND
from backoffice.staff import PREFIX, CaseWorkerDep
from integrity.reports import errors, report_keys
from integrity.reports.db import transaction
from integrity.staff import evidence_files, sessions

router = APIRouter(prefix=f"{PREFIX}/meldingen", tags=["beheer"])
log = logging.getLogger("backoffice.files")


@router.get("/{reference}/bestanden/{file_id}")
def download_file(request: Request, db: SessionDep, loaded: CaseWorkerDep, reference: str, file_id: str) -> Response:
    if not (file_id.isascii() and file_id.isdigit()) or len(file_id) > 12 or len(reference) > 40:
        raise UserError(404, NOT_FOUND, log_reason="malformed file id")
    private = sessions.private_key(loaded)
    if private is None:
        raise UserError(423, KEY_LOCKED_FILE, log_reason="file download without an unlocked key")
    try:
        with transaction(db):
            info, data = evidence_files.download(db, loaded.user, reference, int(file_id), private)
    except errors.ReportNotFound:
        raise UserError(404, NOT_FOUND, log_reason="file or report unknown or outside the scope") from None
    except report_keys.NoAccess as exc:  # in scope, but no wrapped key (yet): the same 'wait for access' text
        raise UserError(423, KEY_LOCKED_FILE, log_reason=f"file download without a key for the report: {exc}") from None
    except report_keys.NotMigrated as exc:  # between the upgrade and the key migration
        raise UserError(503, exc.user_message, log_reason=str(exc)) from None
    log.info("Evidence file downloaded (%s, %d bytes)", info.media_type, info.size)
    return Response(data, media_type="application/octet-stream", headers={
        "Content-Disposition": f'attachment; filename="{info.filename}"',
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    })
