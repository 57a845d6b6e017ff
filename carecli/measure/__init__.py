"""What the records say: business clocks, SLAs, the KPI engine, the agenda, health, reports, suggestions."""
