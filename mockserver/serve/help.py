"""How this project's command lines (``cbk-mock``, ``python -m loadtests``...) print ``--help``:
every option with its default, descriptions as written, code without reST backticks."""

from __future__ import annotations

import argparse


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Appends ``(default: …)`` to each option that has a default worth showing (not for a
    flag, nor where there is none: those helps say what happens instead)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or isinstance(action.default, bool):
            return action.help
        return super()._get_help_string(action)

    def _format_text(self, text: str) -> str:
        return super()._format_text(text.replace("``", ""))
