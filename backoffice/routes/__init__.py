"""One router per resource; `api_router` collects them for `create_app`."""

from fastapi import APIRouter

from backoffice.routes import (
    chat,
    evidence_upload,
    followup,
    staff_admin,
    staff_cases,
    staff_files,
    staff_keys,
    staff_login,
    staff_notify,
    staff_session,
    staff_stats,
)

api_router = APIRouter()
api_router.include_router(followup.router)
api_router.include_router(chat.router)
api_router.include_router(evidence_upload.router)
api_router.include_router(staff_login.router)
api_router.include_router(staff_session.router)
api_router.include_router(staff_files.router)
api_router.include_router(staff_cases.router)
api_router.include_router(staff_keys.router)
api_router.include_router(staff_admin.router)
api_router.include_router(staff_stats.router)
api_router.include_router(staff_notify.router)
