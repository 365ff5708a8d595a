-- SPDX-License-Identifier: MIT
--
-- schema.sql - userapid's tables and functions in PostgreSQL (schema
-- "userapid"), made or brought up to date by "userapictl db init"
-- (store_pg_init), which runs this whole file as one transaction.
--
-- Invariants:
--   - Running it again, or from two hosts at once, is harmless: the first
--     statement takes an advisory lock, every table is made IF NOT
--     EXISTS and every function is replaced.
--   - Every call of the store that changes something is one function here,
--     so it is one transaction: a user change and its sessions' change
--     commit together.
--   - Times come from the database's clock (userapid.now, now_ms), so
--     hosts whose clocks disagree agree on expiries.  Sessions are in
--     seconds, login counts in milliseconds (throttle.h's rules).
--   - A session is kept as hex SHA-256(token), never the token; its id
--     (session.h) is computed by the client from the token.
--   - Changes that may take the last admin away take one advisory lock
--     first, so two hosts demoting the last two admins are serialized and
--     the second sees the first's change (at read committed, which every
--     executor sets: each statement sees what committed before it).
--   - Every change or deletion of a user sends NOTIFY userapid 'u:EMAIL',
--     every ended session 's:TOKENHASH' (triggers), for workers' caches.

SELECT pg_advisory_xact_lock(7336235501);
SET LOCAL client_min_messages = warning;

CREATE SCHEMA IF NOT EXISTS userapid;

CREATE TABLE IF NOT EXISTS userapid.schema_version (
    version     integer NOT NULL
);

CREATE TABLE IF NOT EXISTS userapid.users (
    email       text PRIMARY KEY,
    hash        text NOT NULL,
    role        smallint NOT NULL CHECK (role IN (1, 2)),
    created_at  bigint NOT NULL,
    seq         bigint GENERATED ALWAYS AS IDENTITY UNIQUE
);
CREATE INDEX IF NOT EXISTS users_role ON userapid.users (role);

CREATE TABLE IF NOT EXISTS userapid.sessions (
    token_hash  text PRIMARY KEY,
    id          text NOT NULL,
    email       text NOT NULL REFERENCES userapid.users (email)
                    ON DELETE CASCADE,
    role        smallint NOT NULL,
    addr        text NOT NULL DEFAULT '',
    created_at  bigint NOT NULL,
    last_used   bigint NOT NULL,
    expires_at  bigint NOT NULL,
    seq         bigint GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX IF NOT EXISTS sessions_email ON userapid.sessions (email, seq);
CREATE INDEX IF NOT EXISTS sessions_expires ON userapid.sessions (expires_at);

-- throttle.h's tables; times in milliseconds, flags: 1 reported,
-- 2 slowed (accounts).
CREATE TABLE IF NOT EXISTS userapid.throttle_accounts (
    email        text PRIMARY KEY,
    count        integer NOT NULL DEFAULT 0,
    flags        integer NOT NULL DEFAULT 0,
    window_end   bigint NOT NULL DEFAULT 0,
    locked_until bigint NOT NULL DEFAULT 0,
    win          bigint NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS userapid.throttle_addresses (
    addr         text PRIMARY KEY,
    count        integer NOT NULL DEFAULT 0,
    flags        integer NOT NULL DEFAULT 0,
    window_end   bigint NOT NULL DEFAULT 0,
    locked_until bigint NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS userapid.throttle_pairs (
    email        text NOT NULL,
    addr         text NOT NULL,
    count        integer NOT NULL DEFAULT 0,
    win          bigint NOT NULL DEFAULT 0,
    window_end   bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (email, addr)
);
CREATE TABLE IF NOT EXISTS userapid.throttle_registrations (
    addr         text PRIMARY KEY,
    count        integer NOT NULL DEFAULT 0,
    window_end   bigint NOT NULL DEFAULT 0
);
-- Each account window's id, never given twice.
CREATE SEQUENCE IF NOT EXISTS userapid.throttle_window;

INSERT INTO userapid.schema_version (version)
    SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM userapid.schema_version);
UPDATE userapid.schema_version SET version = 1 WHERE version < 1;

-- ---- clocks ---------------------------------------------------------------

CREATE OR REPLACE FUNCTION userapid.now() RETURNS bigint
LANGUAGE sql VOLATILE AS $$
    SELECT floor(extract(epoch FROM clock_timestamp()))::bigint
$$;

CREATE OR REPLACE FUNCTION userapid.now_ms() RETURNS bigint
LANGUAGE sql VOLATILE AS $$
    SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint
$$;

-- ---- notifications --------------------------------------------------------

CREATE OR REPLACE FUNCTION userapid.notify_user() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('userapid', 'u:' || OLD.email);
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION userapid.notify_session() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('userapid', 's:' || OLD.token_hash);
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS users_notify ON userapid.users;
CREATE TRIGGER users_notify AFTER UPDATE OR DELETE ON userapid.users
    FOR EACH ROW EXECUTE FUNCTION userapid.notify_user();
DROP TRIGGER IF EXISTS sessions_notify ON userapid.sessions;
CREATE TRIGGER sessions_notify AFTER DELETE ON userapid.sessions
    FOR EACH ROW EXECUTE FUNCTION userapid.notify_session();

-- ---- users ----------------------------------------------------------------

-- Serializes every change that could leave no admin.
CREATE OR REPLACE FUNCTION userapid.lock_admins() RETURNS void
LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock(7336235502)
$$;

-- rc: 0, 2 not found, 3 last admin, 4 changed (expect).  A new hash ends
-- the sessions but keep_hash's; ended counts the live ones.
CREATE OR REPLACE FUNCTION userapid.user_change(p_email text, p_hash text,
    p_role integer, p_expect text, p_keep_hash text, p_keep_admin boolean,
    OUT rc integer, OUT role integer, OUT created_at bigint, OUT hash text,
    OUT ended integer)
LANGUAGE plpgsql AS $$
DECLARE
    u       userapid.users%ROWTYPE;
    newrole integer;
    t       bigint := userapid.now();
BEGIN
    ended := 0;
    IF p_keep_admin AND p_role <> 0 AND p_role <> 1 THEN
        PERFORM userapid.lock_admins();
    END IF;
    SELECT * INTO u FROM userapid.users WHERE email = p_email FOR UPDATE;
    IF NOT FOUND THEN
        rc := 2;
        RETURN;
    END IF;
    IF p_expect IS NOT NULL AND u.hash <> p_expect THEN
        rc := 4;
        RETURN;
    END IF;
    newrole := CASE WHEN p_role = 0 THEN u.role ELSE p_role END;
    IF p_keep_admin AND u.role = 1 AND newrole <> 1 AND
        (SELECT count(*) FROM userapid.users AS a WHERE a.role = 1) <= 1 THEN
        rc := 3;
        RETURN;
    END IF;
    UPDATE userapid.users AS x SET hash = coalesce(p_hash, x.hash),
        role = newrole WHERE x.email = p_email;
    IF p_role <> 0 THEN
        UPDATE userapid.sessions AS s SET role = newrole
            WHERE s.email = p_email;
    END IF;
    IF p_hash IS NOT NULL THEN
        WITH d AS (DELETE FROM userapid.sessions AS s
                WHERE s.email = p_email AND
                s.token_hash IS DISTINCT FROM p_keep_hash
                RETURNING s.expires_at)
            SELECT count(*) FILTER (WHERE d.expires_at > t) INTO ended FROM d;
    END IF;
    rc := 0;
    role := newrole;
    created_at := u.created_at;
    hash := coalesce(p_hash, u.hash);
END
$$;

-- 0, 2 not found, 3 last admin.
CREATE OR REPLACE FUNCTION userapid.user_delete(p_email text,
    p_keep_admin boolean) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    u userapid.users%ROWTYPE;
BEGIN
    IF p_keep_admin THEN
        PERFORM userapid.lock_admins();
    END IF;
    SELECT * INTO u FROM userapid.users WHERE email = p_email FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 2;
    END IF;
    IF p_keep_admin AND u.role = 1 AND
        (SELECT count(*) FROM userapid.users WHERE role = 1) <= 1 THEN
        RETURN 3;
    END IF;
    DELETE FROM userapid.users WHERE email = p_email;
    RETURN 0;
END
$$;

-- 1 when this call made admin@localhost, 0 when there were users.
CREATE OR REPLACE FUNCTION userapid.first_admin(p_hash text,
    p_created_at bigint) RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7336235503);
    IF EXISTS (SELECT 1 FROM userapid.users) THEN
        RETURN 0;
    END IF;
    INSERT INTO userapid.users (email, hash, role, created_at)
        VALUES ('admin@localhost', p_hash, 1, p_created_at);
    RETURN 1;
END
$$;

-- ---- sessions -------------------------------------------------------------

-- rc: 0, 4 changed (no such record with hash p_verified), 5 full.  The
-- record is locked FOR SHARE, so a change of it waits for this session
-- and then reaches it.
CREATE OR REPLACE FUNCTION userapid.login_session(p_email text,
    p_verified text, p_token_hash text, p_id text, p_addr text,
    p_ttl bigint, p_max_age bigint, p_max_sessions bigint, p_per_user bigint,
    OUT rc integer, OUT role integer, OUT created_at bigint,
    OUT expires_at bigint)
LANGUAGE plpgsql AS $$
DECLARE
    u     userapid.users%ROWTYPE;
    t     bigint := userapid.now();
    mine  bigint;
    drop_n bigint;
    total bigint;
BEGIN
    SELECT * INTO u FROM userapid.users WHERE email = p_email FOR SHARE;
    IF NOT FOUND OR u.hash <> p_verified THEN
        rc := 4;
        RETURN;
    END IF;
    SELECT count(*) INTO mine FROM userapid.sessions AS s
        WHERE s.email = p_email AND s.expires_at > t;
    drop_n := greatest(mine - least(p_per_user, p_max_sessions) + 1, 0);
    SELECT count(*) INTO total FROM userapid.sessions AS s
        WHERE s.expires_at > t;
    IF total - drop_n >= p_max_sessions THEN
        rc := 5;
        RETURN;
    END IF;
    DELETE FROM userapid.sessions AS s WHERE s.email = p_email AND
        (s.expires_at <= t OR s.token_hash IN (SELECT o.token_hash
            FROM userapid.sessions AS o WHERE o.email = p_email AND
            o.expires_at > t ORDER BY o.seq LIMIT drop_n));
    rc := 0;
    role := u.role;
    created_at := u.created_at;
    expires_at := least(t + p_ttl, t + p_max_age);
    INSERT INTO userapid.sessions (token_hash, id, email, role, addr,
        created_at, last_used, expires_at)
        VALUES (p_token_hash, p_id, p_email, u.role, coalesce(p_addr, ''),
            t, t, expires_at);
END
$$;

-- The live session of p_token_hash, marked used now (written once a
-- second at most).
CREATE OR REPLACE FUNCTION userapid.session_lookup(p_token_hash text,
    p_ttl bigint, p_max_age bigint)
    RETURNS SETOF userapid.sessions
LANGUAGE plpgsql AS $$
DECLARE
    s userapid.sessions%ROWTYPE;
    t bigint := userapid.now();
BEGIN
    SELECT * INTO s FROM userapid.sessions AS x
        WHERE x.token_hash = p_token_hash AND x.expires_at > t;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF s.last_used <> t THEN
        s.last_used := t;
        s.expires_at := least(t + p_ttl, s.created_at + p_max_age);
        UPDATE userapid.sessions AS x SET last_used = s.last_used,
            expires_at = s.expires_at
            WHERE x.token_hash = p_token_hash;
    END IF;
    RETURN NEXT s;
END
$$;

-- Up to p_max expired sessions and stale login counts; how many.  Hosts
-- sweeping at once take different rows.
CREATE OR REPLACE FUNCTION userapid.sweep(p_max integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    t  bigint := userapid.now();
    ms bigint := userapid.now_ms();
    n  integer;
    m  integer;
BEGIN
    DELETE FROM userapid.sessions WHERE token_hash IN (SELECT token_hash
        FROM userapid.sessions WHERE expires_at <= t LIMIT p_max
        FOR UPDATE SKIP LOCKED);
    GET DIAGNOSTICS n = ROW_COUNT;
    DELETE FROM userapid.throttle_accounts WHERE email IN (SELECT email
        FROM userapid.throttle_accounts WHERE locked_until <= ms AND
        (count = 0 OR window_end <= ms) LIMIT p_max FOR UPDATE SKIP LOCKED);
    GET DIAGNOSTICS m = ROW_COUNT;
    n := n + m;
    DELETE FROM userapid.throttle_addresses WHERE addr IN (SELECT addr
        FROM userapid.throttle_addresses WHERE locked_until <= ms AND
        (count = 0 OR window_end <= ms OR locked_until <> 0) LIMIT p_max
        FOR UPDATE SKIP LOCKED);
    GET DIAGNOSTICS m = ROW_COUNT;
    n := n + m;
    DELETE FROM userapid.throttle_pairs WHERE (email, addr) IN (SELECT
        email, addr FROM userapid.throttle_pairs WHERE window_end <= ms
        LIMIT p_max FOR UPDATE SKIP LOCKED);
    GET DIAGNOSTICS m = ROW_COUNT;
    n := n + m;
    DELETE FROM userapid.throttle_registrations WHERE addr IN (SELECT addr
        FROM userapid.throttle_registrations WHERE count = 0 OR
        window_end <= ms LIMIT p_max FOR UPDATE SKIP LOCKED);
    GET DIAGNOSTICS m = ROW_COUNT;
    RETURN n + m;
END
$$;

-- ---- login throttle (throttle.h's rules) ----------------------------------

-- min(2^over, lockout) seconds, in ms.
CREATE OR REPLACE FUNCTION userapid.acct_delay(p_over bigint,
    p_lockout bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_over >= 30 OR (1000::bigint << p_over::integer) >
        p_lockout * 1000 THEN p_lockout * 1000
        ELSE 1000::bigint << p_over::integer END
$$;

-- 0 admitted and charged, else the seconds to wait.  Rows are locked
-- account, address, pair: every function here takes them in that order.
CREATE OR REPLACE FUNCTION userapid.login_begin(p_email text, p_addr text,
    p_max bigint, p_window bigint, p_lockout bigint, p_amax bigint)
    RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    a    userapid.throttle_accounts%ROWTYPE;
    i    userapid.throttle_addresses%ROWTYPE;
    p    userapid.throttle_pairs%ROWTYPE;
    t    bigint := userapid.now_ms();
    wait bigint := 0;
BEGIN
    INSERT INTO userapid.throttle_accounts (email) VALUES (p_email)
        ON CONFLICT DO NOTHING;
    SELECT * INTO a FROM userapid.throttle_accounts WHERE email = p_email
        FOR UPDATE;
    INSERT INTO userapid.throttle_addresses (addr) VALUES (p_addr)
        ON CONFLICT DO NOTHING;
    SELECT * INTO i FROM userapid.throttle_addresses WHERE addr = p_addr
        FOR UPDATE;
    IF a.locked_until > t THEN
        wait := a.locked_until - t;
    END IF;
    IF i.locked_until > t THEN
        wait := greatest(wait, i.locked_until - t);
    END IF;
    IF wait > 0 THEN
        RETURN (wait + 999) / 1000;
    END IF;
    -- The address: a stale count starts afresh; the limit locks it.
    IF i.count = 0 OR i.window_end <= t OR i.locked_until <> 0 THEN
        i.count := 0;
        i.flags := 0;
        i.window_end := t + p_window * 1000;
        i.locked_until := 0;
    END IF;
    i.count := i.count + 1;
    IF i.count >= p_max THEN
        i.locked_until := t + p_lockout * 1000;
        i.flags := i.flags & ~1;
    END IF;
    UPDATE userapid.throttle_addresses SET count = i.count, flags = i.flags,
        window_end = i.window_end, locked_until = i.locked_until
        WHERE addr = p_addr;
    -- The account, counting each address at most p_max times a window.
    IF a.count = 0 OR a.window_end <= t THEN
        a.count := 0;
        a.flags := 0;
        a.window_end := t + p_window * 1000;
        a.locked_until := 0;
        a.win := nextval('userapid.throttle_window');
    END IF;
    INSERT INTO userapid.throttle_pairs (email, addr) VALUES (p_email, p_addr)
        ON CONFLICT DO NOTHING;
    SELECT * INTO p FROM userapid.throttle_pairs
        WHERE email = p_email AND addr = p_addr FOR UPDATE;
    IF p.win <> a.win THEN
        p.count := 0;
        p.win := a.win;
        p.window_end := a.window_end;
    END IF;
    IF p.count < p_max THEN
        p.count := p.count + 1;
        a.count := a.count + 1;
        IF a.count >= p_amax THEN
            a.locked_until := t + userapid.acct_delay(a.count - p_amax,
                p_lockout);
            a.flags := a.flags | 2;
        END IF;
    END IF;
    UPDATE userapid.throttle_pairs SET count = p.count, win = p.win,
        window_end = p.window_end WHERE email = p_email AND addr = p_addr;
    UPDATE userapid.throttle_accounts SET count = a.count, flags = a.flags,
        window_end = a.window_end, locked_until = a.locked_until, win = a.win
        WHERE email = p_email;
    RETURN 0;
END
$$;

-- The outcome of an admitted attempt: bits 1 account slowed, 2 address
-- locked, each reported once.
CREATE OR REPLACE FUNCTION userapid.login_end(p_email text, p_addr text,
    p_ok boolean, p_max bigint) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    a  userapid.throttle_accounts%ROWTYPE;
    i  userapid.throttle_addresses%ROWTYPE;
    t  bigint := userapid.now_ms();
    rc integer := 0;
BEGIN
    SELECT * INTO a FROM userapid.throttle_accounts WHERE email = p_email
        FOR UPDATE;
    SELECT * INTO i FROM userapid.throttle_addresses WHERE addr = p_addr
        FOR UPDATE;
    IF p_ok THEN
        IF i.addr IS NOT NULL AND NOT (i.locked_until <= t AND (i.count = 0
            OR i.window_end <= t OR i.locked_until <> 0)) AND i.count > 0 THEN
            i.count := i.count - 1;
            IF i.locked_until > t AND i.count < p_max THEN
                i.locked_until := 0;
                i.flags := i.flags & ~1;
            END IF;
            UPDATE userapid.throttle_addresses SET count = i.count,
                flags = i.flags, locked_until = i.locked_until
                WHERE addr = p_addr;
        END IF;
        DELETE FROM userapid.throttle_accounts WHERE email = p_email;
        RETURN 0;
    END IF;
    IF a.email IS NOT NULL AND (a.locked_until > t OR (a.count <> 0 AND
        a.window_end > t)) AND (a.flags & 2) <> 0 AND (a.flags & 1) = 0 THEN
        UPDATE userapid.throttle_accounts SET flags = a.flags | 1
            WHERE email = p_email;
        rc := rc | 1;
    END IF;
    IF i.addr IS NOT NULL AND i.locked_until > t AND (i.flags & 1) = 0 THEN
        UPDATE userapid.throttle_addresses SET flags = i.flags | 1
            WHERE addr = p_addr;
        rc := rc | 2;
    END IF;
    RETURN rc;
END
$$;

-- 0 admitted and counted, else the seconds until p_addr may register.
CREATE OR REPLACE FUNCTION userapid.register(p_addr text, p_max bigint,
    p_window bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    r userapid.throttle_registrations%ROWTYPE;
    t bigint := userapid.now_ms();
BEGIN
    INSERT INTO userapid.throttle_registrations (addr) VALUES (p_addr)
        ON CONFLICT DO NOTHING;
    SELECT * INTO r FROM userapid.throttle_registrations
        WHERE addr = p_addr FOR UPDATE;
    IF r.count <> 0 AND r.window_end > t THEN
        IF r.count >= p_max THEN
            RETURN (r.window_end - t + 999) / 1000;
        END IF;
    ELSE
        r.count := 0;
        r.window_end := t + p_window * 1000;
    END IF;
    UPDATE userapid.throttle_registrations SET count = r.count + 1,
        window_end = r.window_end WHERE addr = p_addr;
    RETURN 0;
END
$$;

-- Accounts slowed down (kind 1) and addresses locked out (kind 2) now.
CREATE OR REPLACE FUNCTION userapid.lockouts(OUT kind integer,
    OUT key text, OUT failures bigint, OUT retry_after bigint)
    RETURNS SETOF record
LANGUAGE sql AS $$
    WITH n AS (SELECT userapid.now_ms() AS t)
    SELECT * FROM (
        SELECT 1, a.email, a.count::bigint,
            greatest(a.locked_until - n.t + 999, 0) / 1000
            FROM userapid.throttle_accounts AS a, n
            WHERE (a.flags & 2) <> 0 AND (a.locked_until > n.t OR
                (a.count <> 0 AND a.window_end > n.t))
        UNION ALL
        SELECT 2, i.addr, i.count::bigint, (i.locked_until - n.t + 999) / 1000
            FROM userapid.throttle_addresses AS i, n
            WHERE i.locked_until > n.t) AS l (k, e, f, r)
    ORDER BY l.k, l.e COLLATE "C"
$$;

-- Lifts the account's slow-down and the address's lockout named key (in
-- lower case): how many were listed and are lifted.
CREATE OR REPLACE FUNCTION userapid.unlock(p_key text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    t bigint := userapid.now_ms();
    n integer;
    m integer;
BEGIN
    DELETE FROM userapid.throttle_accounts AS a WHERE a.email = p_key AND
        (a.flags & 2) <> 0 AND (a.locked_until > t OR
        (a.count <> 0 AND a.window_end > t));
    GET DIAGNOSTICS n = ROW_COUNT;
    DELETE FROM userapid.throttle_addresses AS i
        WHERE lower(i.addr) = p_key AND i.locked_until > t;
    GET DIAGNOSTICS m = ROW_COUNT;
    RETURN n + m;
END
$$;
