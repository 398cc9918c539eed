"""`python -m pipeline ...`: parse, dispatch, map errors to one line and an exit code."""

from __future__ import annotations

import sys

import click

from pipeline.cli.main import cli
from pipeline.errors import PipelineError
from pipeline.text import printable


def main(argv: list[str] | None = None) -> int:
    try:
        result = cli.main(args=argv, prog_name="python -m pipeline", standalone_mode=False)
    except PipelineError as e:
        click.echo(f"error: {printable(str(e))}", err=True)
        return e.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
