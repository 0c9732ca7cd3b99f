-- Schema 2: a hub syncs its scope with a parent hub as one of its devices,
-- and hubs enrolled below relay their own devices' actors.

ALTER TABLE documents ADD COLUMN uplink_acked BLOB;                     -- heads the parent has acknowledged
ALTER TABLE documents ADD COLUMN uplink_dirty INTEGER NOT NULL DEFAULT 1;
ALTER TABLE documents ADD COLUMN uplink_refused TEXT;                   -- why the parent refused it
CREATE INDEX documents_uplink_dirty ON documents(uplink_dirty);

ALTER TABLE devices ADD COLUMN kind TEXT NOT NULL DEFAULT 'device';     -- 'device' | 'hub'
ALTER TABLE enrolments ADD COLUMN kind TEXT NOT NULL DEFAULT 'device';

-- An actor may now be bound to a device and relayed by the hubs above it:
-- the key becomes (actor, device_id). SQLite cannot change a primary key in
-- place, so the table is copied.
CREATE TABLE device_actors_2 (
    actor     BLOB NOT NULL,
    device_id TEXT NOT NULL REFERENCES devices(device_id),
    relayed   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (actor, device_id)
);
INSERT INTO device_actors_2 (actor, device_id) SELECT actor, device_id FROM device_actors;
DROP TABLE device_actors;
ALTER TABLE device_actors_2 RENAME TO device_actors;
