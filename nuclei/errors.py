"""The suite's own exceptions: problems with the user's input, reported in one line without a traceback."""


class UserError(Exception):
    """A problem with the user's input (an argument, a file, a folder), reported as one line, exit status 1."""


def one_line(error: BaseException, limit: int = 300) -> str:
    """An exception's message as one line of at most limit characters (its type's name when it has none), for
    a UserError that wraps a library's many-line error."""
    return " ".join(str(error).split())[:limit] or type(error).__name__


class DataError(Exception):
    """One image of a data folder cannot be used; the message names the image. The image is skipped."""
