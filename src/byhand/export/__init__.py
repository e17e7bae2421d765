"""Bridges out of byhand: the same exercise as PyTorch or NumPy code, and LMS exports (Moodle
XML, QTI 1.2 for Canvas).

Every exporter reads the exercise file (``Exercise.to_dict()``, ``byhand-exercise/1``) and never
a chapter module, so an exercise a teacher wrote by hand exports like a generated one.
"""

from __future__ import annotations

from byhand.export.code import numpy_script, pytorch_script
from byhand.export.lms import moodle_xml, qti_zip

__all__ = ["pytorch_script", "numpy_script", "moodle_xml", "qti_zip"]
