class DataFileError(ValueError):
    """A content or profile YAML file is missing, unreadable or invalid.

    The message names the file and the field so an operator can fix it.
    """

    def __init__(self, path: str, field: str, problem: str) -> None:
        self.path = path
        self.field = field
        self.problem = problem
        super().__init__(f"{path}: field '{field}': {problem}")


class UserFacingError(Exception):
    """The base of every refusal a person sees: `user_message` is Dutch, `str(exc)` English (no content).

    `keeps_changes` marks a failure that is itself a fact to store (a failed login or receipt code counts towards
    the lock-out): `integrity.reports.db.transaction` commits the session before the error goes on. Which HTTP
    status a refusal gets is decided by the web app alone (`backoffice.errors`).
    """

    default_user_message = "Er ging iets mis. Probeer het later opnieuw."
    keeps_changes = False

    def __init__(self, operator_message: str, user_message: str | None = None) -> None:
        super().__init__(operator_message)
        self.operator_message = operator_message
        self.user_message = user_message or self.default_user_message
