-- Restaurant catalog and table bookings.
--
-- Times: `bookings.date` and `bookings.time` are the restaurant's local date and slot start (YYYY-MM-DD, HH:MM);
-- `starts_at`, `created_at` and `cancelled_at` are UTC instants written as 2026-01-31T12:00:00.000000Z, so they sort as text.
-- A booking occupies one 30-minute slot; a slot holds at most `restaurants.seats_per_slot` guests over its active
-- bookings. The *_key columns are the case- and width-folded text that search compares against.

CREATE TABLE restaurants (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    city           TEXT NOT NULL,
    district       TEXT NOT NULL,
    cuisine        TEXT NOT NULL,
    price_range    TEXT NOT NULL CHECK (price_range IN ('cheap', 'moderate', 'expensive')),
    address        TEXT NOT NULL,
    timezone       TEXT NOT NULL,
    hours          TEXT NOT NULL,            -- JSON: {"mon": [["11:00", "14:00"], ["17:00", "22:00"]], ...}
    seats_per_slot INTEGER NOT NULL CHECK (seats_per_slot > 0),
    name_key       TEXT NOT NULL,
    city_key       TEXT NOT NULL,
    district_key   TEXT NOT NULL,
    cuisine_key    TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);

CREATE INDEX restaurants_by_city ON restaurants (city_key, price_range);

CREATE TABLE bookings (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    restaurant_id TEXT NOT NULL REFERENCES restaurants (id),
    guild_id      TEXT,                      -- NULL when booked in a direct message
    channel_id    TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    user_name     TEXT NOT NULL,
    date          TEXT NOT NULL,
    time          TEXT NOT NULL,
    party_size    INTEGER NOT NULL CHECK (party_size BETWEEN 1 AND 20),
    starts_at     TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cancelled')),
    created_at    TEXT NOT NULL,
    cancelled_at  TEXT,
    cancelled_by  TEXT
);

-- The same member repeating the same booking gets the existing one back: at most one active row per request.
CREATE UNIQUE INDEX bookings_one_active_per_request
    ON bookings (COALESCE(guild_id, ''), user_id, restaurant_id, date, time, party_size)
    WHERE status = 'active';

-- Capacity check: the active bookings of one slot.
CREATE INDEX bookings_by_slot ON bookings (restaurant_id, date, time) WHERE status = 'active';

-- "My upcoming bookings".
CREATE INDEX bookings_by_user ON bookings (user_id, starts_at);
