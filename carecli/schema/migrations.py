"""Numbered schema migrations. Never edit a released step: add the next one.

Each step is a function taking a sqlite_utils Database. The store checks cheaply which steps
are recorded in `_sqlite_migrations` and loads sqlite-utils only when one is due.
"""

from __future__ import annotations

MIGRATION_SET = "carecli"


def m001_initial(db) -> None:
    db.executescript(
        """
        CREATE TABLE customers (
            id          INTEGER PRIMARY KEY,
            name        TEXT NOT NULL,
            email       TEXT COLLATE NOCASE UNIQUE,
            phone       TEXT,
            tags        TEXT NOT NULL DEFAULT '',   -- comma-separated, lower case
            notes       TEXT NOT NULL DEFAULT '',
            created_at  TEXT NOT NULL,              -- UTC, YYYY-MM-DDTHH:MM:SS+00:00
            lost_at     TEXT,                       -- set while the customer is lost
            lost_reason TEXT,
            external_id TEXT UNIQUE
        );
        CREATE INDEX customers_name ON customers(name COLLATE NOCASE);
        CREATE INDEX customers_created ON customers(created_at);

        CREATE TABLE tickets (
            id                 INTEGER PRIMARY KEY,
            customer_id        INTEGER NOT NULL REFERENCES customers(id),
            subject            TEXT NOT NULL,
            channel            TEXT NOT NULL,
            category           TEXT NOT NULL,
            priority           TEXT NOT NULL,
            status             TEXT NOT NULL CHECK (status IN ('open', 'pending', 'closed')),
            tags               TEXT NOT NULL DEFAULT '',
            resolution         TEXT,
            created_at         TEXT NOT NULL,
            updated_at         TEXT NOT NULL,
            first_response_at  TEXT,
            first_closed_at    TEXT,
            closed_at          TEXT,                -- the last close
            reopen_count       INTEGER NOT NULL DEFAULT 0,
            reply_count        INTEGER NOT NULL DEFAULT 0,
            -- durations stored when the event happens, so no KPI re-parses timestamps
            first_response_s   INTEGER,
            first_resolution_s INTEGER,
            resolution_s       INTEGER,
            external_id        TEXT UNIQUE
        );
        CREATE INDEX tickets_status_created ON tickets(status, created_at);
        CREATE INDEX tickets_customer ON tickets(customer_id, created_at);
        CREATE INDEX tickets_created ON tickets(created_at);
        CREATE INDEX tickets_first_response ON tickets(first_response_at);
        CREATE INDEX tickets_closed ON tickets(closed_at);
        CREATE INDEX tickets_channel ON tickets(channel, created_at);
        CREATE INDEX tickets_category ON tickets(category, created_at);
        CREATE INDEX tickets_priority ON tickets(priority, created_at);

        CREATE TABLE interactions (
            id          INTEGER PRIMARY KEY,
            customer_id INTEGER NOT NULL REFERENCES customers(id),
            ticket_id   INTEGER REFERENCES tickets(id),
            followup_id INTEGER,
            direction   TEXT NOT NULL CHECK (direction IN ('in', 'out', 'note')),
            channel     TEXT NOT NULL,
            body        TEXT NOT NULL,
            at          TEXT NOT NULL
        );
        CREATE INDEX interactions_ticket ON interactions(ticket_id, direction);
        CREATE INDEX interactions_customer ON interactions(customer_id, at);
        CREATE INDEX interactions_at ON interactions(at, direction);

        -- Append-only audit trail of status changes; metrics read it.
        CREATE TABLE events (
            id          INTEGER PRIMARY KEY,
            customer_id INTEGER NOT NULL REFERENCES customers(id),
            ticket_id   INTEGER REFERENCES tickets(id),
            kind        TEXT NOT NULL,
            at          TEXT NOT NULL,
            detail      TEXT
        );
        CREATE INDEX events_kind_at ON events(kind, at);
        CREATE INDEX events_ticket ON events(ticket_id, at);
        CREATE INDEX events_customer ON events(customer_id, at);

        -- Proactive care: promises to contact a customer, maybe on a cadence.
        CREATE TABLE followups (
            id           INTEGER PRIMARY KEY,
            customer_id  INTEGER NOT NULL REFERENCES customers(id),
            ticket_id    INTEGER REFERENCES tickets(id),
            kind         TEXT NOT NULL,
            note         TEXT NOT NULL DEFAULT '',
            due_at       TEXT NOT NULL,             -- UTC; local midnight of the due day when all_day
            all_day      INTEGER NOT NULL DEFAULT 1,
            recurrence   TEXT,                      -- RFC 5545 RRULE text, in local time
            status       TEXT NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'done', 'skipped')),
            created_at   TEXT NOT NULL,
            completed_at TEXT,
            outcome      TEXT,
            source       TEXT NOT NULL DEFAULT 'manual',  -- manual | after-close | suggest:<rule>
            previous_id  INTEGER REFERENCES followups(id)
        );
        CREATE INDEX followups_status_due ON followups(status, due_at);
        CREATE INDEX followups_due ON followups(due_at);
        CREATE INDEX followups_customer ON followups(customer_id, status);
        CREATE INDEX followups_ticket ON followups(ticket_id);

        -- CSAT (1-5) and CES (1-7) per ticket, NPS (0-10) per customer.
        CREATE TABLE surveys (
            id          INTEGER PRIMARY KEY,
            kind        TEXT NOT NULL CHECK (kind IN ('csat', 'ces', 'nps')),
            customer_id INTEGER NOT NULL REFERENCES customers(id),
            ticket_id   INTEGER REFERENCES tickets(id),
            score       INTEGER NOT NULL,
            comment     TEXT,
            at          TEXT NOT NULL
        );
        CREATE UNIQUE INDEX surveys_one_per_ticket ON surveys(kind, ticket_id) WHERE ticket_id IS NOT NULL;
        CREATE INDEX surveys_kind_at ON surveys(kind, at, score);
        CREATE INDEX surveys_customer ON surveys(customer_id, kind, at);

        CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
            BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
        CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
            BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
        """
    )


def m002_care(db) -> None:
    # Whether a done follow-up was completed by the end of its local due day, fixed when it is
    # marked done (like the durations on tickets), so KPIs count it in SQL. NULL unless done.
    # `today` and `ticket list` sort open tickets by priority then age: a covering index makes that
    # sort read ~20k index entries instead of ~20k table rows on a 1M-ticket database (22 ms -> 2 ms).
    db.executescript(
        """
        ALTER TABLE followups ADD COLUMN on_time INTEGER;
        CREATE INDEX tickets_status_priority ON tickets(status, priority, created_at);
        """
    )


def m003_measurement_indexes(db) -> None:
    """Covering indexes for the KPI engine: outbound and proactive contacts by time and channel,
    surveys joined to their tickets."""
    db.executescript(
        """
        CREATE INDEX IF NOT EXISTS interactions_out ON interactions(at, channel) WHERE direction = 'out';
        CREATE INDEX IF NOT EXISTS interactions_proactive ON interactions(at, channel)
            WHERE direction = 'out' AND (ticket_id IS NULL OR followup_id IS NOT NULL);
        CREATE INDEX IF NOT EXISTS followups_completed ON followups(completed_at);
        """
    )


def m004_search(db) -> None:
    """Full-text search: one external-content FTS5 index per searchable table, kept in sync by
    triggers. Update triggers fire only when the indexed text changes, so the frequent ticket
    updates (updated_at, counters) cost nothing."""
    db.executescript(
        """
        CREATE VIRTUAL TABLE tickets_fts USING fts5(
            subject, content='tickets', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
        CREATE TRIGGER tickets_fts_ai AFTER INSERT ON tickets BEGIN
            INSERT INTO tickets_fts(rowid, subject) VALUES (new.id, new.subject);
        END;
        CREATE TRIGGER tickets_fts_ad AFTER DELETE ON tickets BEGIN
            INSERT INTO tickets_fts(tickets_fts, rowid, subject) VALUES ('delete', old.id, old.subject);
        END;
        CREATE TRIGGER tickets_fts_au AFTER UPDATE OF subject ON tickets BEGIN
            INSERT INTO tickets_fts(tickets_fts, rowid, subject) VALUES ('delete', old.id, old.subject);
            INSERT INTO tickets_fts(rowid, subject) VALUES (new.id, new.subject);
        END;

        CREATE VIRTUAL TABLE interactions_fts USING fts5(
            body, content='interactions', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
        CREATE TRIGGER interactions_fts_ai AFTER INSERT ON interactions BEGIN
            INSERT INTO interactions_fts(rowid, body) VALUES (new.id, new.body);
        END;
        CREATE TRIGGER interactions_fts_ad AFTER DELETE ON interactions BEGIN
            INSERT INTO interactions_fts(interactions_fts, rowid, body) VALUES ('delete', old.id, old.body);
        END;
        CREATE TRIGGER interactions_fts_au AFTER UPDATE OF body ON interactions BEGIN
            INSERT INTO interactions_fts(interactions_fts, rowid, body) VALUES ('delete', old.id, old.body);
            INSERT INTO interactions_fts(rowid, body) VALUES (new.id, new.body);
        END;

        CREATE VIRTUAL TABLE customers_fts USING fts5(
            name, notes, content='customers', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
        CREATE TRIGGER customers_fts_ai AFTER INSERT ON customers BEGIN
            INSERT INTO customers_fts(rowid, name, notes) VALUES (new.id, new.name, new.notes);
        END;
        CREATE TRIGGER customers_fts_ad AFTER DELETE ON customers BEGIN
            INSERT INTO customers_fts(customers_fts, rowid, name, notes) VALUES ('delete', old.id, old.name, old.notes);
        END;
        CREATE TRIGGER customers_fts_au AFTER UPDATE OF name, notes ON customers BEGIN
            INSERT INTO customers_fts(customers_fts, rowid, name, notes) VALUES ('delete', old.id, old.name, old.notes);
            INSERT INTO customers_fts(rowid, name, notes) VALUES (new.id, new.name, new.notes);
        END;

        -- Index what existed before this step.
        INSERT INTO tickets_fts(tickets_fts) VALUES ('rebuild');
        INSERT INTO interactions_fts(interactions_fts) VALUES ('rebuild');
        INSERT INTO customers_fts(customers_fts) VALUES ('rebuild');
        """
    )


def m005_kpi_speed(db) -> None:
    """Business-time durations stored on the ticket, and value indexes that let the KPI engine read
    medians and 90th percentiles by walking an index in C instead of sorting every value in Python.

    The *_bs columns are a cache owned by carecli/business_time.py: the trigger clears one whenever
    an instant it depends on changes (whoever writes the ticket), and the KPI engine refills the
    cleared and new ones in one SQL statement, or all of them when [business_hours] changed
    (business_time.fingerprint)."""
    columns = [("first_response", "first_response_at"), ("resolution", "closed_at"), ("first_resolution", "closed_at")]
    statements = [
        "ALTER TABLE tickets ADD COLUMN first_response_bs INTEGER",
        "ALTER TABLE tickets ADD COLUMN first_resolution_bs INTEGER",
        "ALTER TABLE tickets ADD COLUMN resolution_bs INTEGER",
        "CREATE TABLE business_time (id INTEGER PRIMARY KEY CHECK (id = 1), fingerprint TEXT NOT NULL)",
        """CREATE INDEX tickets_business_stale ON tickets(id) WHERE
               (first_response_at IS NOT NULL AND first_response_bs IS NULL)
               OR (first_closed_at IS NOT NULL AND first_resolution_bs IS NULL)
               OR (closed_at IS NOT NULL AND resolution_bs IS NULL)""",
        """CREATE TRIGGER tickets_business_time_stale
               AFTER UPDATE OF created_at, first_response_at, first_closed_at, closed_at ON tickets
           BEGIN
               UPDATE tickets SET
                   first_response_bs = CASE WHEN new.created_at IS old.created_at
                       AND new.first_response_at IS old.first_response_at THEN first_response_bs END,
                   first_resolution_bs = CASE WHEN new.created_at IS old.created_at
                       AND new.first_closed_at IS old.first_closed_at THEN first_resolution_bs END,
                   resolution_bs = CASE WHEN new.created_at IS old.created_at
                       AND new.closed_at IS old.closed_at THEN resolution_bs END
               WHERE id = new.id;
           END""",
    ]
    for name, instant in columns:
        for suffix in ("s", "bs"):
            value = f"{name}_{suffix}"
            statements.append(
                f"CREATE INDEX tickets_{value}_value ON tickets({value}, {instant}) WHERE {value} IS NOT NULL"
            )
            statements.append(
                f"CREATE INDEX tickets_{value}_channel ON tickets(channel, {value}, {instant}) "
                f"WHERE {value} IS NOT NULL"
            )
    db.executescript(";\n".join(statements) + ";")


def m006_kpi_by_channel(db) -> None:
    """Indexes in channel order for `kpi --by channel` over most of the history: SQLite's GROUP BY
    then streams through the index instead of sorting a million rows per figure.

    tickets_kpi_channel covers every column the closed-set (count, FCR, count and mean of the
    resolution times) and SLA blocks read, so they never touch the table; the two interaction
    indexes mirror interactions_out / interactions_proactive with channel first. The survey block
    reads its rows from surveys_kind_at_ticket (covering) and each survey's channel from the
    narrow tickets_id_channel (15 MB, stays in cache) rather than the wide ticket rows."""
    db.executescript("""
        CREATE INDEX tickets_kpi_channel ON tickets(channel, created_at, closed_at, reopen_count, reply_count,
            priority, status, first_response_s, first_response_bs, resolution_s, resolution_bs,
            first_resolution_s, first_resolution_bs);
        CREATE INDEX tickets_id_channel ON tickets(id, channel);
        CREATE INDEX surveys_kind_at_ticket ON surveys(kind, at, score, ticket_id);
        CREATE INDEX interactions_out_channel ON interactions(channel, at) WHERE direction = 'out';
        CREATE INDEX interactions_proactive_channel ON interactions(channel, at)
            WHERE direction = 'out' AND (ticket_id IS NULL OR followup_id IS NOT NULL);
    """)


def m007_history(db) -> None:
    """History that lets every figure of a period be judged as it stood at the period's end.

    A second CSAT or CES for a ticket no longer deletes the first: the old answer is marked
    superseded at the new answer's time (`superseded_at`, NULL while current), so only current
    answers are unique per ticket. The partial index on superseded_at lets the KPI engine find the
    few superseded answers and subtract them from aggregates read from covering indexes.
    followup_due_changes keeps every move of a follow-up's due date (snooze, edit --due), written
    by records/followups.py only, so a period's overdue count uses the due dates as they were at
    its end. A skipped follow-up stores its skip time in completed_at, as a done one does (no
    schema change; rows skipped before this step keep NULL)."""
    db.executescript("""
        ALTER TABLE surveys ADD COLUMN superseded_at TEXT;  -- UTC; NULL while the answer is current
        DROP INDEX surveys_one_per_ticket;
        CREATE UNIQUE INDEX surveys_one_current_per_ticket ON surveys(kind, ticket_id)
            WHERE ticket_id IS NOT NULL AND superseded_at IS NULL;
        CREATE INDEX surveys_superseded ON surveys(superseded_at) WHERE superseded_at IS NOT NULL;

        CREATE TABLE followup_due_changes (
            id          INTEGER PRIMARY KEY,
            followup_id INTEGER NOT NULL REFERENCES followups(id),
            at          TEXT NOT NULL,   -- UTC, when the due date was moved
            from_due    TEXT NOT NULL,   -- due_at before the move
            to_due      TEXT NOT NULL    -- due_at after it
        );
        CREATE INDEX followup_due_changes_at ON followup_due_changes(at, followup_id);
        CREATE INDEX followup_due_changes_followup ON followup_due_changes(followup_id, at);
        CREATE TRIGGER followup_due_changes_append_only_update BEFORE UPDATE ON followup_due_changes
            BEGIN SELECT RAISE(ABORT, 'followup_due_changes is append-only'); END;
        CREATE TRIGGER followup_due_changes_append_only_delete BEFORE DELETE ON followup_due_changes
            BEGIN SELECT RAISE(ABORT, 'followup_due_changes is append-only'); END;
    """)


def m008_pauses_and_outreach(db) -> None:
    """Pending spells and tickets we started, for the SLA clocks and first response.

    paused_s: seconds spent pending in spells that ended (the SLA resolution clock stops while a
    ticket waits on the customer); pending_since: the start of the spell going on; paused_bs: the
    business-time cache of paused_s (cleared by the trigger when paused_s changes, like the other
    *_bs values). outreach: we wrote first (`ticket open --outreach`); first_contact_at: then the
    customer's first message, where their wait, and so first response, starts. The business-time
    staleness index and trigger, and the covering channel index of m006, take the new columns."""
    db.executescript("""
        ALTER TABLE tickets ADD COLUMN paused_s INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE tickets ADD COLUMN paused_bs INTEGER;
        ALTER TABLE tickets ADD COLUMN pending_since TEXT;
        ALTER TABLE tickets ADD COLUMN outreach INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE tickets ADD COLUMN first_contact_at TEXT;
        CREATE INDEX tickets_outreach ON tickets(id) WHERE outreach = 1;
        DROP INDEX tickets_business_stale;
        CREATE INDEX tickets_business_stale ON tickets(id) WHERE
               (first_response_at IS NOT NULL AND first_response_bs IS NULL)
               OR (first_closed_at IS NOT NULL AND first_resolution_bs IS NULL)
               OR (closed_at IS NOT NULL AND resolution_bs IS NULL)
               OR (paused_s > 0 AND paused_bs IS NULL);
        CREATE TRIGGER tickets_paused_stale AFTER UPDATE OF paused_s, first_contact_at ON tickets
        BEGIN
            UPDATE tickets SET
                paused_bs = CASE WHEN new.paused_s IS old.paused_s THEN paused_bs END,
                first_response_bs = CASE WHEN new.first_contact_at IS old.first_contact_at
                    THEN first_response_bs END
            WHERE id = new.id;
        END;
        DROP INDEX tickets_kpi_channel;
        CREATE INDEX tickets_kpi_channel ON tickets(channel, created_at, closed_at, reopen_count, reply_count,
            priority, status, first_response_s, first_response_bs, resolution_s, resolution_bs,
            first_resolution_s, first_resolution_bs, paused_s, paused_bs, pending_since, outreach,
            first_contact_at);
    """)


def m009_mail(db) -> None:
    """Mail in (issue 15): every message seen, for idempotency, threading and `mail log`; and the
    addresses a customer writes from. customers.email is each customer's first address, kept in
    step by triggers whoever writes the customer (commands, imports, the generator)."""
    db.executescript("""
        CREATE TABLE mail_messages (
            id             INTEGER PRIMARY KEY,
            message_id     TEXT NOT NULL UNIQUE,    -- the Message-ID, or sha256:<content hash> without one
            content_hash   TEXT NOT NULL,           -- sha256 of the message as received
            direction      TEXT NOT NULL CHECK (direction IN ('in', 'out')),
            status         TEXT NOT NULL CHECK (status IN ('filed', 'skipped', 'quarantined')),
            reason         TEXT,                    -- why skipped or quarantined; how it was threaded
            sender         TEXT,
            subject        TEXT,
            subject_key    TEXT,                    -- the subject without Re:/Fwd:/AW: ..., case folded
            sent_at        TEXT,                    -- the time filed: Date, or received_at without a usable one
            received_at    TEXT NOT NULL,
            customer_id    INTEGER REFERENCES customers(id),
            ticket_id      INTEGER REFERENCES tickets(id),
            interaction_id INTEGER REFERENCES interactions(id),
            attachments    TEXT                     -- JSON list of {name, type, size}
        );
        CREATE INDEX mail_messages_hash ON mail_messages(content_hash);
        CREATE INDEX mail_messages_ticket ON mail_messages(ticket_id);
        CREATE INDEX mail_messages_thread ON mail_messages(sender, subject_key, sent_at) WHERE status = 'filed';
        CREATE INDEX mail_messages_received ON mail_messages(received_at);

        CREATE TABLE customer_addresses (
            id          INTEGER PRIMARY KEY,
            customer_id INTEGER NOT NULL REFERENCES customers(id),
            kind        TEXT NOT NULL DEFAULT 'email' CHECK (kind IN ('email', 'phone')),
            address     TEXT NOT NULL COLLATE NOCASE,
            created_at  TEXT NOT NULL,
            UNIQUE (kind, address)
        );
        CREATE INDEX customer_addresses_customer ON customer_addresses(customer_id);
        INSERT INTO customer_addresses (customer_id, kind, address, created_at)
            SELECT id, 'email', email, created_at FROM customers WHERE email IS NOT NULL;
        CREATE TRIGGER customers_address_ai AFTER INSERT ON customers WHEN new.email IS NOT NULL BEGIN
            INSERT OR IGNORE INTO customer_addresses (customer_id, kind, address, created_at)
                VALUES (new.id, 'email', new.email, new.created_at);
        END;
        CREATE TRIGGER customers_address_au AFTER UPDATE OF email ON customers
            WHEN new.email IS NOT old.email BEGIN
            DELETE FROM customer_addresses WHERE customer_id = old.id AND kind = 'email' AND address = old.email;
            INSERT OR IGNORE INTO customer_addresses (customer_id, kind, address, created_at)
                VALUES (new.id, 'email', new.email, strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'));
        END;
    """)


def m010_imap_state(db) -> None:
    """`mail fetch` (issue 15): per IMAP account and folder, the UIDVALIDITY and the highest UID
    filed, so each fetch asks only for newer messages; a new UIDVALIDITY re-reads the folder."""
    db.executescript("""
        CREATE TABLE imap_state (
            id          INTEGER PRIMARY KEY,
            account     TEXT NOT NULL,      -- user@host:port
            folder      TEXT NOT NULL,
            uidvalidity INTEGER NOT NULL,
            last_uid    INTEGER NOT NULL,   -- every message up to this UID is filed (or known)
            fetched_at  TEXT NOT NULL,
            UNIQUE (account, folder)
        );
    """)


def m011_attachments(db) -> None:
    """Mail parts (issue 15): each attachment of a filed message, its bytes kept by content
    (sha256) in the folder beside the database unless larger than `[mail] attachment_max_size`
    (then `stored` is 0 and only its facts are kept); and a message's full text, quoted history
    included, where the interaction holds only the new part."""
    db.executescript("""
        CREATE TABLE attachments (
            id              INTEGER PRIMARY KEY,
            mail_message_id INTEGER NOT NULL REFERENCES mail_messages(id),
            interaction_id  INTEGER REFERENCES interactions(id),
            ticket_id       INTEGER REFERENCES tickets(id),
            name            TEXT NOT NULL,            -- the sender's file name, as data only: never a path
            content_type    TEXT NOT NULL,
            size            INTEGER NOT NULL,         -- bytes, decoded
            sha256          TEXT NOT NULL,            -- names the stored file: <db>.attachments/<sha256>
            stored          INTEGER NOT NULL CHECK (stored IN (0, 1))
        );
        CREATE INDEX attachments_ticket ON attachments(ticket_id);
        CREATE INDEX attachments_message ON attachments(mail_message_id);
        ALTER TABLE mail_messages ADD COLUMN full_text TEXT;  -- the whole text when the interaction holds less
    """)


def m012_undo(db) -> None:
    """Mistakes that can be corrected (issue 13): the undo log, the trash, merged tickets.

    undo_steps: one row per write command (its command line, when, what it inserted as id ranges
    per table); undo_rows: the before-image of every older row the command changed or deleted
    (JSON of the whole row), and the older ids it inserted. The trail tables stay append-only:
    no row of events or followup_due_changes is ever deleted or changed, except `voided_by`,
    which marks (and a restore unmarks) a row that no longer counts in any figure: `undo:<step>`
    for a row an undone command appended, `trash:<id>` for the trail of a record in the trash,
    `merge:<step>` for a merged ticket's own trail. Every change of the mark comes with an event
    saying why. trash/trash_rows hold what was deleted (whole rows as JSON) until a restore or a
    purge; a merged source ticket moves there too (kind 'merged', into_id its target), so no
    reader of tickets sees it."""
    db.executescript("""
        CREATE TABLE undo_steps (
            id         INTEGER PRIMARY KEY,
            at         TEXT NOT NULL,            -- UTC, when the command ran
            argv       TEXT NOT NULL,            -- JSON list: the command line after `carecli`
            inserted   TEXT,                     -- JSON {table: [first id, last id]} of new rows
            undone_at  TEXT,
            undone_by  TEXT                      -- JSON list: the undo command line
        );
        CREATE TABLE undo_rows (
            id          INTEGER PRIMARY KEY,     -- the order of the changes
            step_id     INTEGER NOT NULL REFERENCES undo_steps(id),
            tbl         TEXT NOT NULL,
            row_id      INTEGER NOT NULL,
            op          TEXT NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
            before_json TEXT                     -- the whole row before an update or delete
        );
        CREATE INDEX undo_rows_step ON undo_rows(step_id, id);
        -- The highest id an undo removed, per table: new rows are numbered above it, so an
        -- undone ticket's number (which its voided events keep) is never given to another.
        CREATE TABLE undo_retired (tbl TEXT PRIMARY KEY, top INTEGER NOT NULL);
        CREATE INDEX undo_rows_row ON undo_rows(tbl, row_id, step_id);

        CREATE TABLE trash (
            id          INTEGER PRIMARY KEY,
            kind        TEXT NOT NULL,           -- ticket | customer | followup | survey | interaction | merged
            ref_id      INTEGER NOT NULL,        -- the record's id (its number stays its own)
            customer_id INTEGER,
            label       TEXT NOT NULL,           -- subject, name or text, for `carecli trash`
            reason      TEXT NOT NULL,
            into_id     INTEGER,                 -- a merged ticket's or customer's target
            at          TEXT NOT NULL
        );
        CREATE INDEX trash_ref ON trash(kind, ref_id);
        CREATE INDEX trash_at ON trash(at);
        CREATE TABLE trash_rows (
            id       INTEGER PRIMARY KEY,
            trash_id INTEGER NOT NULL REFERENCES trash(id),
            tbl      TEXT NOT NULL,
            row_id   INTEGER NOT NULL,
            row_json TEXT NOT NULL
        );
        CREATE INDEX trash_rows_trash ON trash_rows(trash_id);
        CREATE INDEX trash_rows_row ON trash_rows(tbl, row_id);

        -- What a trash move or an undo's reference check looks up by parent.
        CREATE INDEX surveys_ticket ON surveys(ticket_id) WHERE ticket_id IS NOT NULL;
        CREATE INDEX interactions_followup ON interactions(followup_id) WHERE followup_id IS NOT NULL;
        CREATE INDEX followups_previous ON followups(previous_id) WHERE previous_id IS NOT NULL;

        ALTER TABLE events ADD COLUMN voided_by TEXT;
        CREATE INDEX events_voided ON events(voided_by) WHERE voided_by IS NOT NULL;
        DROP TRIGGER events_append_only_update;
        CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
            WHEN new.id IS NOT old.id OR new.customer_id IS NOT old.customer_id OR new.ticket_id IS NOT old.ticket_id
                OR new.kind IS NOT old.kind OR new.at IS NOT old.at OR new.detail IS NOT old.detail
            BEGIN SELECT RAISE(ABORT, 'events are append-only (only voided_by may change)'); END;
        ALTER TABLE followup_due_changes ADD COLUMN voided_by TEXT;
        DROP TRIGGER followup_due_changes_append_only_update;
        CREATE TRIGGER followup_due_changes_append_only_update BEFORE UPDATE ON followup_due_changes
            WHEN new.id IS NOT old.id OR new.followup_id IS NOT old.followup_id OR new.at IS NOT old.at
                OR new.from_due IS NOT old.from_due OR new.to_due IS NOT old.to_due
            BEGIN SELECT RAISE(ABORT, 'followup_due_changes is append-only (only voided_by may change)'); END;
    """)


def m013_business_batches(db) -> None:
    """Reads never write (issue 12): after a [business_hours] change the stored business durations
    are recomputed by writes, a batch of tickets at a time in id order; `through` is the last id
    done (NULL when none is left), so reads know which stored values are of the new hours."""
    db.execute("ALTER TABLE business_time ADD COLUMN through INTEGER")


def m016_outbox(db) -> None:
    """Mail out (issue 16): each message carecli sends, as the exact bytes it hands the server,
    with its fate. queued -> sending -> sent | failed (| queued again, after a temporary failure);
    queued -> cancelled. A row left in `sending` (a crash between the server's answer and this
    table's update) is of unknown fate: `outbox send` resends it only when told to."""
    db.executescript("""
        CREATE TABLE outbox (
            id             INTEGER PRIMARY KEY,
            kind           TEXT NOT NULL CHECK (kind IN ('reply', 'outreach', 'report')),
            customer_id    INTEGER REFERENCES customers(id),
            ticket_id      INTEGER REFERENCES tickets(id),
            interaction_id INTEGER REFERENCES interactions(id),
            followup_id    INTEGER REFERENCES followups(id),
            rule           TEXT,                    -- the care rule or template that made it
            message_id     TEXT NOT NULL UNIQUE,    -- its Message-ID, without the angle brackets
            sender         TEXT NOT NULL,
            recipient      TEXT NOT NULL,
            subject        TEXT NOT NULL,
            raw            TEXT NOT NULL,           -- RFC 5322, 7-bit ASCII, CRLF line ends
            state          TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'cancelled')),
            due_at         TEXT NOT NULL,
            attempts       INTEGER NOT NULL DEFAULT 0,
            last_error     TEXT,
            server_reply   TEXT,                    -- what the server said when it took the message
            created_at     TEXT NOT NULL,
            claimed_at     TEXT,                    -- when a send took it (state sending)
            sent_at        TEXT,
            cancelled_why  TEXT
        );
        CREATE INDEX outbox_due ON outbox(due_at) WHERE state = 'queued';
        CREATE INDEX outbox_ticket ON outbox(ticket_id, state);
        CREATE INDEX outbox_created ON outbox(created_at);
    """)


def m017_consent(db) -> None:
    """Consent to care mail (issue 16): one row per customer once outreach was composed for them
    or they opted out; `token` names them in an unsubscribe mail (List-Unsubscribe)."""
    db.executescript("""
        CREATE TABLE consent (
            id           INTEGER PRIMARY KEY,
            customer_id  INTEGER NOT NULL UNIQUE REFERENCES customers(id),
            token        TEXT NOT NULL UNIQUE,
            opted_out_at TEXT,                       -- NULL: care mail may go to them
            how          TEXT                        -- 'by hand', 'by mail'
        );
    """)


def m018_orders(db) -> None:
    """Orders and assets (issue 17): what customers bought, line by line, and the things they own
    that need care or service; a ticket may name the order or the asset it is about."""
    db.executescript("""
        CREATE TABLE orders (
            id          INTEGER PRIMARY KEY,
            customer_id INTEGER NOT NULL REFERENCES customers(id),
            ref         TEXT UNIQUE,                 -- the shop's order number
            ordered_at  TEXT NOT NULL,
            total       REAL,
            currency    TEXT,
            source      TEXT NOT NULL DEFAULT 'manual',  -- manual, shopify, woocommerce, carecli
            created_at  TEXT NOT NULL
        );
        CREATE INDEX orders_customer ON orders(customer_id, ordered_at);
        CREATE INDEX orders_ordered ON orders(ordered_at);

        CREATE TABLE order_lines (
            id        INTEGER PRIMARY KEY,
            order_id  INTEGER NOT NULL REFERENCES orders(id),
            position  INTEGER NOT NULL,
            product   TEXT NOT NULL,
            qty       INTEGER NOT NULL DEFAULT 1,
            amount    REAL
        );
        CREATE INDEX order_lines_order ON order_lines(order_id, position);

        CREATE TABLE assets (
            id            INTEGER PRIMARY KEY,
            customer_id   INTEGER NOT NULL REFERENCES customers(id),
            name          TEXT NOT NULL,
            serial        TEXT,
            plan          TEXT,
            since         TEXT NOT NULL,
            order_line_id INTEGER REFERENCES order_lines(id),
            created_at    TEXT NOT NULL
        );
        CREATE INDEX assets_customer ON assets(customer_id, since);

        CREATE TABLE services (
            id          INTEGER PRIMARY KEY,
            asset_id    INTEGER NOT NULL REFERENCES assets(id),
            serviced_at TEXT NOT NULL,
            note        TEXT NOT NULL DEFAULT '',
            created_at  TEXT NOT NULL
        );
        CREATE INDEX services_asset ON services(asset_id, serviced_at);

        ALTER TABLE tickets ADD COLUMN order_id INTEGER REFERENCES orders(id);
        ALTER TABLE tickets ADD COLUMN asset_id INTEGER REFERENCES assets(id);
    """)


def m019_search_stemming(db) -> None:
    """Search finds "roses" for "rose" and "Café" for "cafe" (issue 14): the FTS5 indexes of m004
    again, tokenized by `porter` over `unicode61 remove_diacritics 2`. The tokenizer of an FTS5
    table cannot change, so each index is dropped and made anew; its triggers are unchanged.
    One 'rebuild' per index reads the base table once, in C, which is the fast way on big databases."""
    indexes = (
        ("tickets_fts", "tickets", ("subject",)),
        ("interactions_fts", "interactions", ("body",)),
        ("customers_fts", "customers", ("name", "notes")),
    )
    statements = []
    for index, table, columns in indexes:
        listed = ", ".join(columns)
        new_values = ", ".join(f"new.{column}" for column in columns)
        old_values = ", ".join(f"old.{column}" for column in columns)
        statements.append(f"""
            DROP TRIGGER IF EXISTS {index}_ai;
            DROP TRIGGER IF EXISTS {index}_ad;
            DROP TRIGGER IF EXISTS {index}_au;
            DROP TABLE IF EXISTS {index};
            CREATE VIRTUAL TABLE {index} USING fts5(
                {listed}, content='{table}', content_rowid='id',
                tokenize='porter unicode61 remove_diacritics 2');
            CREATE TRIGGER {index}_ai AFTER INSERT ON {table} BEGIN
                INSERT INTO {index}(rowid, {listed}) VALUES (new.id, {new_values});
            END;
            CREATE TRIGGER {index}_ad AFTER DELETE ON {table} BEGIN
                INSERT INTO {index}({index}, rowid, {listed}) VALUES ('delete', old.id, {old_values});
            END;
            CREATE TRIGGER {index}_au AFTER UPDATE OF {listed} ON {table} BEGIN
                INSERT INTO {index}({index}, rowid, {listed}) VALUES ('delete', old.id, {old_values});
                INSERT INTO {index}(rowid, {listed}) VALUES (new.id, {new_values});
            END;
            INSERT INTO {index}({index}) VALUES ('rebuild');""")
    db.executescript("\n".join(statements))


def m020_followup_templates(db) -> None:
    """Care on autopilot (issue 16): a follow-up may carry the template `care run` mails for it
    when it is due (a tip after a fix, a service reminder), instead of waiting for the worker."""
    db.execute("ALTER TABLE followups ADD COLUMN template TEXT")


def m021_plan_followups(db) -> None:
    """Care plans (issue 17): a follow-up a plan scheduled names the plan and the step, and the
    order or asset it is for, so a plan never schedules the same step twice, a service reminder
    moves when the asset is serviced, and plan adherence can be measured."""
    db.executescript("""
        ALTER TABLE followups ADD COLUMN plan TEXT;
        ALTER TABLE followups ADD COLUMN plan_step INTEGER;
        ALTER TABLE followups ADD COLUMN order_id INTEGER REFERENCES orders(id);
        ALTER TABLE followups ADD COLUMN asset_id INTEGER REFERENCES assets(id);
        CREATE INDEX followups_plan ON followups(plan, plan_step, order_id, asset_id) WHERE plan IS NOT NULL;
        CREATE INDEX followups_asset ON followups(asset_id) WHERE asset_id IS NOT NULL;
    """)


# The order is the history of the schema; append only.
STEPS = [
    m001_initial,
    m002_care,
    m003_measurement_indexes,
    m004_search,
    m005_kpi_speed,
    m006_kpi_by_channel,
    m007_history,
    m008_pauses_and_outreach,
    m009_mail,
    m010_imap_state,
    m011_attachments,
    m012_undo,
    m013_business_batches,
    m016_outbox,
    m017_consent,
    m018_orders,
    m019_search_stemming,
    m020_followup_templates,
    m021_plan_followups,
]
NAMES = [step.__name__ for step in STEPS]


def migrations():
    """The sqlite-utils migration set (imports sqlite-utils, so only call when a step is due)."""
    from sqlite_utils.migrations import Migrations

    migration_set = Migrations(MIGRATION_SET)
    for step in STEPS:
        migration_set()(step)
    return migration_set
