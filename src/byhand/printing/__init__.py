"""Print: worksheets, class sets, answer keys and the workbook, through Typst.

Printing reads ``byhand-exercise/1`` dicts only (``Exercise.to_dict()``): it never imports a
chapter. :mod:`byhand.documents` makes the exercises and assembles the documents.
"""

from byhand.printing.errors import ExerciseFormatError, PrintError, PrintWarning, TypstCompileError
from byhand.printing.layout import plan_document, plan_exercise
from byhand.printing.render import PAPERS, render_document, render_pdf, render_png, render_svg

__all__ = [
    "PAPERS",
    "ExerciseFormatError",
    "PrintError",
    "PrintWarning",
    "TypstCompileError",
    "plan_document",
    "plan_exercise",
    "render_document",
    "render_pdf",
    "render_png",
    "render_svg",
]
