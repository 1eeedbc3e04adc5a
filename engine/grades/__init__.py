"""Credit grades (信用积分与等级) and clean records, from entries at a date (docs/grades.md)."""

from engine.grades.records import Clean, Selector, clean_record
from engine.grades.scoring import GradeResult, grade_on, subject_grade

__all__ = ["Clean", "GradeResult", "Selector", "clean_record", "grade_on", "subject_grade"]
