"""The study report: built from a finished run's files (:func:`radnomo.report.build.build_report`).

Nothing is imported here, so that importing one part of the report (labels, tables) does not
load the others.
"""
