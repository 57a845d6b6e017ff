"""Every way a user writes a time, a duration or a cadence, read into datetimes, timedeltas and rrules."""
