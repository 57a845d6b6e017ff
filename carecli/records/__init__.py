"""The only writers of records: customers, tickets, interactions, follow-ups, surveys."""
