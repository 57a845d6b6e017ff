"""Mail in: RFC 5322 messages parsed (parse), customers found from senders (identities) and filed
onto the right ticket (intake). Imported only by the mail commands."""
