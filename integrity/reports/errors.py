"""What the report store refuses: `str(exc)` is for operators (English), `user_message` for the reporter (Dutch)."""

from __future__ import annotations

from integrity.errors import UserFacingError
from integrity.reports.crypto import DecryptionError


class ReportError(UserFacingError):
    default_user_message = "Er ging iets mis met je melding. Probeer het later opnieuw."


class ReportValidationError(ReportError):
    def __init__(self, field_name: str, operator_message: str, user_message: str) -> None:
        super().__init__(operator_message, user_message)
        self.field = field_name


class UnknownReceipt(ReportError):
    """Unknown or malformed receipt code; the failed attempt (for the throttle) is stored all the same."""

    default_user_message = (
        "We vinden geen melding met deze ontvangstcode. Controleer de 16 cijfers en probeer het opnieuw."
    )
    keeps_changes = True


class FollowUpThrottled(ReportError):
    def __init__(self, retry_after: int) -> None:
        minutes = max(1, -(-retry_after // 60))
        super().__init__(
            f"Too many failed follow-up attempts for this sender; retry after {retry_after} s",
            f"Te veel mislukte pogingen. Probeer het over {minutes} minuten opnieuw.",
        )
        self.retry_after = retry_after


class ReportNotFound(ReportError):
    default_user_message = "Deze melding bestaat niet (meer)."


class WrongReporterKey(ReportError, DecryptionError):
    """The reporter key does not open this report (it belongs to another report, or the data is damaged).

    Also a `crypto.DecryptionError`, which is what a failed decryption of the reporter's copy raised before.
    """

    default_user_message = "Je toegang tot deze melding is niet (meer) geldig. Vul je ontvangstcode opnieuw in."


class InvalidStatusChange(ReportError):
    pass


class ReportClosed(ReportError):
    default_user_message = "Deze melding is afgesloten. Je kan er geen berichten meer bij sturen."


class ReportBusy(ReportError):
    default_user_message = "Je melding kon nu niet bewaard worden. Probeer het over een minuut opnieuw."


class SubmissionConflict(ReportError):
    """A retried submission whose report the back office already took up: its receipt code cannot be re-issued."""

    def __init__(self, reference: str) -> None:
        super().__init__(
            f"Submission retried for report {reference}, which already has back office activity; no new code issued",
            f"Je melding is al bewaard (referentie {reference}) en wordt al behandeld, maar je ontvangstcode kon "
            "niet getoond worden. Vraag het integriteitsteam naar je melding met deze referentie, of maak een "
            "nieuwe melding als je zelf wil opvolgen.",
        )
        self.reference = reference


class NoReaders(ReportError):
    """Nobody who may read the report has a key pair yet: stored, it could never be read. Nothing is stored."""

    default_user_message = ("Melden via de chat is hier nog niet ingesteld. Je kan terecht bij de persoon of dienst "
                            "die ik eerder noemde.")


class FileRefused(ReportError):
    """An evidence file that is not accepted (size, count, quota, type, damaged, zip bomb, not fetched).

    Nothing already confirmed changes: the file is simply not kept.
    """

    def __init__(self, operator_message: str, user_message: str) -> None:
        super().__init__(f"File refused: {operator_message}", user_message)
