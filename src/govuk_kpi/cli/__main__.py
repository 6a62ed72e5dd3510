"""`python -m govuk_kpi.cli ...`, as `govuk-kpi ...`."""

from govuk_kpi.cli import main

main()
