"""Errors meant for people, not stack traces."""


class TextvaeError(Exception):
    """A problem with the user's input (recipe, files, arguments).

    The CLI prints the message as one line and exits with code 2, so the message
    should name the thing that is wrong and how to fix it.
    """
