class DataFileError(ValueError):
    """A content or profile YAML file is missing, unreadable or invalid.

    The message names the file and the field so an operator can fix it.
    """

    def __init__(self, path: str, field: str, problem: str) -> None:
        self.path = path
        self.field = field
        self.problem = problem
        super().__init__(f"{path}: field '{field}': {problem}")
