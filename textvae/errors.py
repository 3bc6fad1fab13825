"""Errors meant for people, not stack traces."""


class TextvaeError(Exception):
    """A problem with the user's input (recipe, files, arguments).

    The CLI prints the message as one line and exits with code 2, so the message
    should name the thing that is wrong and how to fix it.
    """


def first_line(exc: BaseException, limit: int = 200) -> str:
    """An exception's first message line (its type name when it has none), at most ``limit``
    characters: for one-line warnings and errors about failures in other libraries."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:limit]


def run_script(main) -> None:
    """Run a script's ``main()`` as the CLI runs a command: a :class:`TextvaeError` becomes one
    line on stderr and exit status 2 (used by the scripts under ``benchmarks/``)."""
    import os
    import sys

    try:
        main()
    except TextvaeError as exc:
        print(f"{os.path.basename(sys.argv[0])}: error: {exc}", file=sys.stderr)
        sys.exit(2)
