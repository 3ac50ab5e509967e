-- Webhooks (docs/events.md): a key's subscriptions to its links' events, and the outbox of
-- deliveries the webhook sender works through. A delivery row is written in the same
-- transaction as what it reports: a link's change (by the trigger below, from the
-- history's rows) or a batch of clicks (by the worker's ingestion).

CREATE TABLE webhooks (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_id bigint NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    url text NOT NULL CHECK (length(url) <= 2048),
    events text[] NOT NULL CHECK (
        cardinality(events) > 0
        AND events <@ ARRAY['link.created', 'link.updated', 'link.deleted', 'link.clicked']
    ),
    -- Only these links' events; NULL: every link of the key.
    codes text[] CHECK (codes IS NULL OR cardinality(codes) BETWEEN 1 AND 100),
    -- The signing secret (Standard Webhooks, whsec_...): kept to sign, shown once.
    secret text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    consecutive_failures integer NOT NULL DEFAULT 0,
    -- Set after WEBHOOK_DISABLE_AFTER failed deliveries in a row; the owner sees why.
    disabled_at timestamptz,
    disabled_reason text
);
CREATE INDEX webhooks_owner_idx ON webhooks (owner_id, id);

CREATE TABLE webhook_deliveries (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id bigint NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    -- The webhook-id header: the same on every attempt, so a receiver can drop repeats.
    -- Unique: a batch of clicks ingested twice never makes a second delivery.
    message_id text NOT NULL UNIQUE,
    event text NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    -- Due from then; a sender claiming it moves it a lease ahead while it sends.
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_status integer,
    last_error text,
    delivered_at timestamptz
);
-- The sender's claim: due pending deliveries, oldest due first.
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, id DESC);
CREATE INDEX webhook_deliveries_created_idx ON webhook_deliveries (created_at);

-- The fan-out: every statement that writes history events writes, in the same statement's
-- transaction, one delivery per event and subscribed, enabled webhook. Whoever writes the
-- history (the api, the worker's purge) needs to know nothing of webhooks.
CREATE FUNCTION link_events_to_deliveries() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_deliveries (webhook_id, message_id, event, payload)
    SELECT w.id, 'msg_link_' || e.id || '_' || w.id, e.kind,
           jsonb_build_object(
               'type', e.kind,
               'timestamp', e.occurred_at,
               'data', jsonb_build_object('code', e.code, 'changes', e.changes,
                                          'history_id', e.id))
    FROM new_events e
    JOIN webhooks w ON w.owner_id = e.owner_id
        AND w.disabled_at IS NULL
        AND e.kind = ANY (w.events)
        AND (w.codes IS NULL OR e.code = ANY (w.codes))
    ORDER BY e.id, w.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER link_events_fan_out AFTER INSERT ON link_events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION link_events_to_deliveries();
