"""The suite's own exceptions: problems with the user's input, reported in one line without a traceback."""


class UserError(Exception):
    """A problem with the user's input (an argument, a file, a folder), reported as one line, exit status 1."""


class DataError(Exception):
    """One image of a data folder cannot be used; the message names the image. The image is skipped."""
