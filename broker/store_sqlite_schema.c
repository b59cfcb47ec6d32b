/*
 * store_sqlite_schema.c — the SQLite backend's schema: every migration
 * since the first, and applying those a store lacks at open.
 *
 * Owns: store_migrations[] (append only: entry i brings PRAGMA
 * user_version from i to i + 1) and what each one means.
 * Must never: change a migration once released (stores written by it
 * exist); open a store whose schema is newer than this cccd knows.
 */
#include <stdio.h>

#include <sqlite3.h>

#include "log.h"
#include "store_sqlite.h"

/* Schema migrations: entry i brings user_version from i to i + 1. */
static const char *const store_migrations[] = {
	/* 1: alerts, durable subscriptions, deliveries */
	("CREATE TABLE alerts ("
	"  seq INTEGER PRIMARY KEY,"
	"  id TEXT NOT NULL,"
	"  origin TEXT NOT NULL,"
	"  topic TEXT NOT NULL,"
	"  published_at INTEGER NOT NULL,"
	"  digest BLOB NOT NULL,"
	"  body BLOB NOT NULL,"
	"  UNIQUE (origin, id));"
	"CREATE TABLE dsubs ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"	/* never reused */
	"  endpoint TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  patterns TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  UNIQUE (endpoint, name));"
	"CREATE TABLE deliveries ("
	"  tag INTEGER PRIMARY KEY AUTOINCREMENT,"	/* never reused */
	"  dsub INTEGER NOT NULL,"
	"  alert INTEGER NOT NULL,"
	"  state INTEGER NOT NULL DEFAULT 0,"	/* 0 open, 1 acked, 2 dead */
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  delivered_at INTEGER,"
	"  acked_at INTEGER);"
	"CREATE INDEX deliveries_open ON deliveries (dsub, tag) WHERE state = 0;"
	"CREATE INDEX deliveries_dsub ON deliveries (dsub);"),
	/* 2: the audit journal, hash-chained */
	("CREATE TABLE audit ("
	"  seq INTEGER PRIMARY KEY,"
	"  at INTEGER NOT NULL,"
	"  event TEXT NOT NULL,"
	"  endpoint TEXT NOT NULL,"
	"  subject TEXT NOT NULL,"
	"  fingerprint TEXT NOT NULL,"
	"  peer TEXT NOT NULL,"
	"  alert TEXT NOT NULL,"
	"  detail TEXT NOT NULL,"
	"  transfer INTEGER NOT NULL,"
	"  prev BLOB NOT NULL,"
	"  hash BLOB NOT NULL);"),
	/* 3: receipts look the audit journal up by alert */
	("CREATE INDEX audit_alert ON audit (alert);"),
	/*
	 * 4: priority and expiry travel with each delivery, so that a fetch
	 * reads a backlog in priority order straight off an index; state 3 =
	 * dropped because the alert expired
	 */
	("ALTER TABLE deliveries ADD COLUMN severity INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE deliveries ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;"
	"DROP INDEX deliveries_open;"
	"CREATE INDEX deliveries_open ON deliveries (dsub, severity DESC, tag) "
	"  WHERE state = 0;"),
	/* 5: history reads find their start by time; purges find deliveries */
	("CREATE INDEX alerts_time ON alerts (published_at);"
	"CREATE INDEX deliveries_alert ON deliveries (alert);"),
	/*
	 * 6: registry revisions and proposals (four-eyes); alerts recipients
	 * may not re-disseminate
	 */
	("CREATE TABLE revisions ("
	"  rev INTEGER PRIMARY KEY,"
	"  created_at INTEGER NOT NULL,"
	"  author TEXT NOT NULL,"
	"  approved_by TEXT NOT NULL,"
	"  source TEXT NOT NULL,"
	"  comment TEXT NOT NULL,"
	"  changes TEXT NOT NULL,"
	"  document TEXT NOT NULL,"
	"  file_digest TEXT NOT NULL);"
	"CREATE TABLE proposals ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  base INTEGER NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  proposer TEXT NOT NULL,"
	"  comment TEXT NOT NULL,"
	"  changes TEXT NOT NULL,"
	"  reasons TEXT NOT NULL,"
	"  document TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  decided_by TEXT NOT NULL DEFAULT '',"
	"  decided_at INTEGER);"
	"ALTER TABLE alerts ADD COLUMN restricted INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX alerts_restricted ON alerts (id) WHERE restricted = 1;"),
	/* 7: metrics count the dead letters per subscription without a scan */
	("CREATE INDEX deliveries_dead ON deliveries (dsub) WHERE state = 2;"),
	/*
	 * 8: pending proposals overtaken by a newer revision are stale (later
	 * commits mark them so as they overtake them)
	 */
	("UPDATE proposals SET state = 'stale' WHERE state = 'pending' AND "
	"base < (SELECT coalesce(max(rev), 0) FROM revisions);"),
	/*
	 * 9: an alert id names one alert, whatever its origin. A store written
	 * before may hold an id under several origins: the first alert of
	 * each such id keeps collision 0, the later ones get their seq. New
	 * alerts have collision 0, so the unique index refuses an id already
	 * taken. Such ids are listed for good in alert_id_collisions (the
	 * journal cannot tell their alerts apart: no receipts for them) and
	 * reported at open (store_report_collisions()).
	 */
	("ALTER TABLE alerts ADD COLUMN collision INTEGER NOT NULL DEFAULT 0;"
	"UPDATE alerts SET collision = seq WHERE seq NOT IN "
	"  (SELECT min(seq) FROM alerts GROUP BY id);"
	"CREATE UNIQUE INDEX alerts_id ON alerts (id, collision);"
	"CREATE INDEX alerts_collided ON alerts (id) WHERE collision <> 0;"
	"CREATE TABLE alert_id_collisions (id TEXT PRIMARY KEY) WITHOUT ROWID;"
	"INSERT INTO alert_id_collisions "
	"  SELECT DISTINCT id FROM alerts WHERE collision <> 0;"),
	/*
	 * 10: the time the last retention run expected: the expected time at the
	 * next start-up, which records written on a wrong clock do not move
	 */
	("CREATE TABLE retention_clock ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  at INTEGER NOT NULL);"),
	/*
	 * 11: exercise alerts (ccc bench, topics under exercise/) are found
	 * for their removal without a scan of the live ones
	 */
	("CREATE INDEX alerts_exercise ON alerts (seq) WHERE " STORE_EXERCISE ";"),
	/*
	 * 12: the highest alert seq ever given, kept when alerts are deleted
	 * (store_seq_keep()): SQLite gives a new row one past the highest left,
	 * and a seq must never come back (history replays rely on it)
	 */
	("CREATE TABLE alert_seq_floor ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  seq INTEGER NOT NULL);"),
	/*
	 * 13: durable delivery from the alert log with cursors, no row per
	 * delivery. An alert names its durable recipients (rcpt: their ids as
	 * ",3,7,12,", ascending: membership is one instr() of ",ID," on the
	 * index entry, which a JSON array would need json_each for), with its
	 * severity and expiry; alerts_rcpt is the log a subscription reads, by
	 * severity then publishing order, and covers the membership and expiry
	 * tests so that positions of other subscriptions cost an index entry.
	 * cursors: per subscription and severity, floor (every position at or
	 * below it settled), sent (the highest position ever sent) and pending
	 * (positions above the floor not settled). marks: positions above the
	 * floor acknowledged out of order (1), delivered more than once or
	 * out of the usual count (0, attempts: deliveries so far), dead-lettered
	 * (2, kept below the floor too, until retention removes the alert) or
	 * dropped as expired (3). audit_alerts: the journal's batch records by
	 * the alerts they name (receipts), keyed by the alert's seq (an
	 * integer key: a text id key cost twice as much per row), one b-tree;
	 * its rows go with their alert. A store with deliveries rows is
	 * carried over: the alerts get their recipients from them, the cursors
	 * and marks are computed from their states and attempts, and the table
	 * goes.
	 */
	("ALTER TABLE alerts ADD COLUMN severity INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE alerts ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE alerts ADD COLUMN rcpt TEXT;"
	"CREATE TABLE cursors ("
	"  dsub INTEGER NOT NULL,"
	"  severity INTEGER NOT NULL,"
	"  floor INTEGER NOT NULL DEFAULT 0,"
	"  sent INTEGER NOT NULL DEFAULT 0,"
	"  pending INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (dsub, severity)) WITHOUT ROWID;"
	/* retention: the cursors whose floor is below an alert (STORE_HELD) */
	"CREATE INDEX cursors_floor ON cursors (severity, floor);"
	"CREATE TABLE marks ("
	"  dsub INTEGER NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  severity INTEGER NOT NULL,"
	"  state INTEGER NOT NULL,"	/* 0 attempts only, 1 acked, 2 dead, 3 expired */
	"  attempts INTEGER NOT NULL,"
	"  PRIMARY KEY (dsub, seq)) WITHOUT ROWID;"
	"CREATE INDEX marks_seq ON marks (seq);"
	"CREATE INDEX marks_dead ON marks (dsub) WHERE state = 2;"
	"CREATE TABLE audit_alerts ("
	"  seq INTEGER NOT NULL,"	/* the alert's */
	"  rec INTEGER NOT NULL,"	/* the audit record's */
	"  PRIMARY KEY (seq, rec)) WITHOUT ROWID;"
	/* the deliveries of subscriptions that exist, one per (dsub, alert) */
	"CREATE TEMP TABLE old_deliveries AS SELECT d.dsub AS dsub, d.alert AS "
	"  alert, d.state AS state, d.attempts AS attempts, d.severity AS "
	"  severity, d.expires_at AS expires_at FROM deliveries d JOIN dsubs s "
	"  ON s.id = d.dsub JOIN alerts a ON a.seq = d.alert ORDER BY d.alert, "
	"  d.dsub;"
	"UPDATE alerts SET severity = o.severity, expires_at = o.expires_at, "
	"  rcpt = o.rcpt FROM (SELECT alert, max(severity) AS severity, "
	"  max(expires_at) AS expires_at, ',' || group_concat(dsub, ',') || ',' "
	"  AS rcpt FROM old_deliveries GROUP BY alert) AS o "
	"  WHERE alerts.seq = o.alert;"
	"INSERT INTO cursors (dsub, severity, floor, sent, pending) "
	"  SELECT dsub, severity, CASE WHEN minopen IS NULL THEN maxall ELSE "
	"  minopen - 1 END, coalesce(maxsent, 0), nopen FROM (SELECT o.dsub AS "
	"  dsub, a.severity AS severity, min(CASE WHEN o.state = 0 THEN o.alert "
	"  END) AS minopen, max(o.alert) AS maxall, max(CASE WHEN o.attempts > 0 "
	"  THEN o.alert END) AS maxsent, sum(o.state = 0) AS nopen FROM "
	"  old_deliveries o JOIN alerts a ON a.seq = o.alert "
	"  GROUP BY o.dsub, a.severity);"
	"INSERT INTO marks (dsub, seq, severity, state, attempts) "
	"  SELECT o.dsub, o.alert, a.severity, o.state, o.attempts FROM "
	"  old_deliveries o JOIN alerts a ON a.seq = o.alert JOIN cursors c ON "
	"  c.dsub = o.dsub AND c.severity = a.severity WHERE o.state = 2 OR "
	"  (o.alert > c.floor AND (o.state IN (1, 3) OR (o.state = 0 AND "
	"  o.attempts <> (o.alert <= c.sent))));"
	"DROP TABLE old_deliveries;"
	"DROP TABLE deliveries;"
	/* the removal of exercise alerts tests STORE_HELD off the index */
	"DROP INDEX alerts_exercise;"
	"CREATE INDEX alerts_exercise ON alerts (seq, severity, rcpt) WHERE "
	STORE_EXERCISE ";"
	"CREATE INDEX alerts_rcpt ON alerts (severity, seq, rcpt, expires_at) "
	"  WHERE rcpt IS NOT NULL;"),
	/*
	 * 14: a cursor's sent reserved ahead (store_fetch): reserved is at or
	 * above sent and synced before a fetch sends a position at or below
	 * it, so that a fetch need not wait for the sync of its sent. It
	 * starts at sent. (assumed_lo, assumed_hi]: the positions an open
	 * after a crash took as sent from the reservation (none yet), which
	 * are sent once before they can be dead-lettered.
	 */
	("ALTER TABLE cursors ADD COLUMN reserved INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE cursors ADD COLUMN assumed_lo INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE cursors ADD COLUMN assumed_hi INTEGER NOT NULL DEFAULT 0;"
	"UPDATE cursors SET reserved = sent;"),
};
#define STORE_VERSION	((int)(sizeof(store_migrations) / sizeof(store_migrations[0])))

int
store_version(void)
{
	return STORE_VERSION;
}

/* Apply the migrations the file lacks, each in its own transaction. */
int
store_migrate(struct store_sqlite *st, char *err, size_t errlen)
{
	char why[256];
	int64_t v;
	int version;

	if (store_int(st, "PRAGMA user_version", &v) < 0) {
		snprintf(err, errlen, "cannot read the schema version: %s",
		    sqlite3_errmsg(st->db));
		return -1;
	}
	version = (int)v;
	if (version > STORE_VERSION) {
		snprintf(err, errlen, "schema version %d is newer than this cccd "
		    "understands (%d); use a newer cccd", version, STORE_VERSION);
		return -1;
	}
	for (; version < STORE_VERSION; version++) {
		char sql[64];

		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version + 1);
		if (store_exec(st, "BEGIN IMMEDIATE", why, sizeof(why)) < 0 ||
		    store_exec(st, store_migrations[version], why, sizeof(why)) < 0 ||
		    store_exec(st, sql, why, sizeof(why)) < 0 ||
		    store_exec(st, "COMMIT", why, sizeof(why)) < 0) {
			store_exec(st, "ROLLBACK", sql, sizeof(sql));
			snprintf(err, errlen, "migration to schema version %d "
			    "failed: %s", version + 1, why);
			return -1;
		}
		log_info("store: schema migrated to version %d", version + 1);
	}
	return 0;
}
