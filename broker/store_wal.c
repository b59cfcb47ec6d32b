/*
 * store_wal.c — the SQLite store's files seen from outside SQLite: its
 * write-ahead log read before SQLite recovers it, the anchor of the audit
 * chain's newest synced record, of how far the log was synced and of how
 * the last run left the store (closed cleanly, checked) in ccc.db-head,
 * and whether the files are still the ones at their paths.
 * Part of the SQLite backend (store_sqlite.c), which decides when each
 * runs.
 *
 * Owns: the format of ccc.db-head, the reading of SQLite's WAL format.
 * Must never: write the database or its log; anchor in ccc.db-head more
 * than its caller says was synced; take damage after the synced frames
 * for damage on disk (a power failure's unsynced tail starts).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "store_audit.h"
#include "store_wal.h"
#include "timeutil.h"
#include "xmalloc.h"

static uint32_t
store_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static uint32_t
store_get_le32(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[1] << 8 | p[0];
}

/* SQLite's WAL checksum of n bytes (n a multiple of 8), continuing s. */
static void
store_wal_sum(bool be, const uint8_t *p, size_t n, uint32_t s[2])
{
	for (size_t i = 0; i + 8 <= n; i += 8) {
		s[0] += (be ? store_get_be32(p + i) : store_get_le32(p + i)) + s[1];
		s[1] += (be ? store_get_be32(p + i + 4) :
		    store_get_le32(p + i + 4)) + s[0];
	}
}

/*
 * Is frame f (24-byte header, then the page) a frame of the log whose
 * header is hdr, with a checksum that matches when the sum starts at s?
 * s ends as the frame's computed checksum.
 */
static bool
store_wal_frame_ok(const uint8_t *hdr, const uint8_t *f, size_t pgsz,
    bool be, uint32_t s[2])
{
	if (memcmp(f + 8, hdr + 16, 8) != 0 || store_get_be32(f) == 0)
		return false;
	store_wal_sum(be, f, 8, s);
	store_wal_sum(be, f + 24, pgsz, s);
	return s[0] == store_get_be32(f + 16) && s[1] == store_get_be32(f + 20);
}

/* What store_wal_scan read in a write-ahead log. */
struct store_walscan {
	uint8_t		 salts[8];	/* salt-1, salt-2 of its header */
	bool		 hdr_ok;	/* the header's checksum holds */
	int64_t		 frames;	/* whole frames in the file */
	int64_t		 bad;		/* first frame failing its checksum, or -1 */
	int64_t		 later;		/* commit frames after it that check */
};

/*
 * Read the write-ahead log open on fd (format: sqlite.org/fileformat2.html
 * #walformat) into w. SQLite keeps the frames up to the
 * last commit frame before the first frame that fails its checksum (or
 * has other salts: a frame of an older generation of the log, left behind
 * when a checkpoint restarted it), and drops the rest without a word.
 *
 * The checksum is cumulative: each frame's sum starts from the one stored
 * in the frame before, so after a damaged frame the running sum is wrong
 * for every frame after it. But each frame also stores its own sum, so a
 * frame after the damage is checked by starting from the sum stored in the
 * frame before it: a frame with the log's salts whose checksum matches
 * that way was written by SQLite after the damaged one, in the same
 * generation; w->later counts those that are commit frames. A damaged log
 * header (SQLite then ignores the whole log) counts as damage at frame 0.
 * Returns false when there is no log header (SQLite ignores the file).
 */
static bool
store_wal_read(int fd, struct store_walscan *w)
{
	uint8_t hdr[32], *f;
	uint32_t s[2] = { 0, 0 }, t[2];
	size_t pgsz, fsz;
	bool be;

	if (pread(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr) ||
	    (store_get_be32(hdr) & ~1U) != 0x377f0682)
		return false;
	be = hdr[3] & 1;
	pgsz = store_get_be32(hdr + 8);
	if (pgsz == 1)
		pgsz = 65536;
	if (pgsz < 512 || pgsz > 65536 || (pgsz & (pgsz - 1)) != 0)
		return false;
	memcpy(w->salts, hdr + 16, 8);
	store_wal_sum(be, hdr, 24, s);
	w->hdr_ok = s[0] == store_get_be32(hdr + 24) && s[1] ==
	    store_get_be32(hdr + 28);
	w->bad = w->hdr_ok ? -1 : 0;
	w->later = 0;
	fsz = 24 + pgsz;
	f = xmalloc(fsz);
	t[0] = store_get_be32(hdr + 24);
	t[1] = store_get_be32(hdr + 28);
	for (w->frames = 0; pread(fd, f, fsz, 32 + w->frames * (off_t)fsz) ==
	    (ssize_t)fsz; w->frames++) {
		if (w->bad < 0 && !store_wal_frame_ok(hdr, f, pgsz, be, s))
			w->bad = w->frames;
		else if (w->bad >= 0 && store_wal_frame_ok(hdr, f, pgsz, be, t) &&
		    store_get_be32(f + 4) != 0)
			w->later++;
		t[0] = store_get_be32(f + 16);
		t[1] = store_get_be32(f + 20);
	}
	free(f);
	return true;
}

/* "frame N of M" or "its header": where w's damage is. */
static const char *
store_wal_where(const struct store_walscan *w, char *buf, size_t len)
{
	if (!w->hdr_ok)
		return "its header";
	snprintf(buf, len, "frame %lld of %lld", (long long)w->bad + 1,
	    (long long)w->frames);
	return buf;
}

/*
 * The exact rule, with ccc.db-head saying that synced->frames frames of
 * the log with synced->salts were synced: a frame of the synced part that fails its checksum, or is
 * missing, is damage on disk, and every transaction after it would be
 * lost; refused (-1, why set). Damage past the synced part is the tail of
 * a power failure (the kernel may write unsynced pages out of order),
 * none of it confirmed: SQLite drops it, and the broker starts. A log of
 * other salts was restarted after the last anchored sync: none of it was
 * synced yet (an anchored record lost with it is missing from the journal,
 * which store_head_reached finds).
 */
static int
store_wal_exact(const char *wal, const struct store_walscan *w,
    const struct store_walpos *synced, char *why, size_t whylen)
{
	char where[64];

	if (memcmp(w->salts, synced->salts, 8) != 0)
		return 0;
	if (w->bad < 0 && w->frames < synced->frames) {
		snprintf(why, whylen, "the write-ahead log %.200s is damaged: it "
		    "ends after frame %lld, but %lld frames of it were synced "
		    "(" STORE_FILE STORE_HEAD ")", wal, (long long)w->frames,
		    (long long)synced->frames);
		return -1;
	}
	if (w->bad >= 0 && w->bad < synced->frames) {
		snprintf(why, whylen, "the write-ahead log %.200s is damaged: %s "
		    "fails its checksum, but %lld frames of it were synced "
		    "(" STORE_FILE STORE_HEAD "); SQLite would drop every "
		    "transaction after it", wal, store_wal_where(w, where,
		    sizeof(where)), (long long)synced->frames);
		return -1;
	}
	if (w->later > 0)
		log_warn("store: the write-ahead log %s ends in frames written "
		    "after its last sync, out of order or damaged: %s fails its "
		    "checksum after the %lld synced, and %lld commit frames "
		    "follow it; SQLite drops them, none was confirmed", wal,
		    store_wal_where(w, where, sizeof(where)),
		    (long long)synced->frames, (long long)w->later);
	return 0;
}

/*
 * Check the write-ahead log of the database at path before SQLite
 * recovers it, against a, what ccc.db-head says was synced (NULL: no
 * head). With a's place in the log, the exact rule (store_wal_exact).
 * Without it (no head, or one of version 1), a commit frame of the log's
 * generation that checks after a damaged frame is taken for damage on
 * disk: a crash of the broker cannot leave valid frames after an invalid
 * one (the log is written in order, and the kernel keeps what was
 * written), but a power failure can, for the transactions not synced yet,
 * and then --accept-store-loss starts the broker with what precedes them.
 * Returns 0 (nothing found, or no log), -1 with why set on damage.
 */
int
store_wal_scan(const char *path, const struct store_anchor *a, char *why,
    size_t whylen)
{
	struct store_walscan w;
	char wal[600], where[64];
	int fd, rc = 0;

	snprintf(wal, sizeof(wal), "%s-wal", path);
	if ((fd = open(wal, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;	/* none; anything else SQLite reports */
	if (!store_wal_read(fd, &w))
		rc = 0;		/* no log header: SQLite ignores the file */
	else if (a != NULL && a->has_wal)
		rc = store_wal_exact(wal, &w, &a->wal, why, whylen);
	else if (w.later > 0) {
		snprintf(why, whylen, "the write-ahead log %.300s is damaged: %s "
		    "fails its checksum and %lld committed transactions follow "
		    "it, which SQLite would drop", wal, store_wal_where(&w,
		    where, sizeof(where)), (long long)w.later);
		rc = -1;
	}
	close(fd);
	return rc;
}

#define STORE_HEAD_MAGIC	"cccHEAD3"	/* its last byte: the version */
#define STORE_HEAD_MAGIC2	"cccHEAD2"
#define STORE_HEAD_MAGIC1	"cccHEAD1"
#define STORE_HEAD_SLOT		96
#define STORE_HEAD_SLOT2	88		/* version 2 */
#define STORE_HEAD_SLOT1	64		/* version 1 */

/*
 * ccc.db-head holds two slots, written in turn, so that a torn write
 * leaves the other one whole. A slot (version 3) is the magic, the count
 * of slot writes since start-up (the newer slot has the higher count),
 * the sequence number of the last synced audit record and its hash, the
 * WAL's salts and how many frames of that log were synced, how the last
 * run left the store (STORE_HEAD_CLOSED, STORE_HEAD_CHECKED; 0 while it
 * is open), then the first 16 bytes of the SHA-256 of those 80 bytes;
 * numbers are big-endian. Version 2 was the same without the state (88
 * bytes). Version 1 had 64-byte slots: the magic, the sequence number (the
 * newer slot has the higher one), the hash and 16 bytes of the SHA-256 of
 * those 48; it says nothing of the log. Both are still read, with the
 * state 0: a store an older cccd ran is checked before it is served.
 */
static void
store_head_encode(const struct store_anchor *a, uint64_t writes,
    unsigned state, uint8_t *slot)
{
	uint8_t md[32];

	memcpy(slot, STORE_HEAD_MAGIC, 8);
	store_put_be(slot + 8, writes, 8);
	store_put_be(slot + 16, (uint64_t)a->seq, 8);
	memcpy(slot + 24, a->hash, 32);
	memcpy(slot + 56, a->wal.salts, 8);
	store_put_be(slot + 64, (uint64_t)a->wal.frames, 8);
	store_put_be(slot + 72, state, 8);
	EVP_Digest(slot, 80, md, NULL, EVP_sha256(), NULL);
	memcpy(slot + 80, md, 16);
}

static uint64_t
store_get_be64(const uint8_t *p)
{
	return (uint64_t)store_get_be32(p) << 32 | store_get_be32(p + 4);
}

/* The head's versions, newest first: magic, slot size, bytes hashed. */
static const struct {
	const char	*magic;
	size_t		 slot;
	size_t		 hashed;
} store_head_versions[] = {
	{ STORE_HEAD_MAGIC, STORE_HEAD_SLOT, 80 },	/* 3 */
	{ STORE_HEAD_MAGIC2, STORE_HEAD_SLOT2, 72 },	/* 2 */
	{ STORE_HEAD_MAGIC1, STORE_HEAD_SLOT1, 48 },	/* 1 */
};

/*
 * Decode a slot of store_head_versions[v] into *a; *order: the newer,
 * the higher.
 */
static bool
store_head_decode(const uint8_t *slot, size_t v, struct store_anchor *a,
    uint64_t *order)
{
	size_t len = store_head_versions[v].hashed;
	bool v1 = v == 2;
	const uint8_t *p = slot + (v1 ? 8 : 16);
	uint8_t md[32];

	if (memcmp(slot, store_head_versions[v].magic, 8) != 0 ||
	    !EVP_Digest(slot, len, md, NULL, EVP_sha256(), NULL) ||
	    memcmp(md, slot + len, 16) != 0)
		return false;
	a->seq = (int64_t)store_get_be64(p);
	memcpy(a->hash, p + 8, 32);
	*order = v1 ? (uint64_t)a->seq : store_get_be64(slot + 8);
	a->has_wal = !v1;
	memset(&a->wal, 0, sizeof(a->wal));
	if (a->has_wal) {
		memcpy(a->wal.salts, slot + 56, 8);
		a->wal.frames = (int64_t)store_get_be64(slot + 64);
	}
	a->state = v == 0 ? (unsigned)(store_get_be64(slot + 72) &
	    (STORE_HEAD_CLOSED | STORE_HEAD_CHECKED)) : 0;
	return true;
}

/*
 * What the head file at path anchors: 1 with *a set (the newer slot), 0
 * when there is no file or it is empty, -1 with why set when it cannot be
 * read or neither slot is whole.
 */
int
store_head_read(const char *path, struct store_anchor *a, char *why,
    size_t whylen)
{
	uint8_t buf[2 * STORE_HEAD_SLOT];
	struct store_anchor s;
	uint64_t order, newest = 0;
	ssize_t n, size;
	int fd, found = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(why, whylen, "cannot read %.300s: %s", path,
		    strerror(errno));
		return -1;
	}
	n = pread(fd, buf, sizeof(buf), 0);
	close(fd);
	if (n == 0)
		return 0;
	for (size_t v = 0; v < sizeof(store_head_versions) /
	    sizeof(store_head_versions[0]) && found == 0; v++) {
		size = (ssize_t)store_head_versions[v].slot;
		for (int k = 0; k < 2; k++)
			if ((k + 1) * size <= n &&
			    store_head_decode(buf + k * size, v, &s, &order) &&
			    (found == 0 || order > newest)) {
				*a = s;
				newest = order;
				found = 1;
			}
	}
	if (found == 0)
		snprintf(why, whylen, "%.300s is damaged: it no longer says "
		    "which audit record was synced last", path);
	return found == 0 ? -1 : 1;
}

/*
 * Does the audit chain in db reach the anchored record a: is there a
 * record a->seq with a->hash (or, when retention purged it, later ones)?
 * 0 yes; -1 with why set saying what is missing.
 */
int
store_head_reached(sqlite3 *db, const struct store_anchor *a, char *why,
    size_t whylen)
{
	sqlite3_stmt *stmt;
	int64_t last;
	int result = -1;

	if (a->seq == 0)
		return 0;
	if (sqlite3_prepare_v2(db, "SELECT (SELECT max(seq) FROM audit), "
	    "(SELECT hash FROM audit WHERE seq = ?1)", -1, &stmt, NULL) !=
	    SQLITE_OK) {
		snprintf(why, whylen, "cannot read the audit journal: %s",
		    sqlite3_errmsg(db));
		return -1;
	}
	sqlite3_bind_int64(stmt, 1, a->seq);
	if (sqlite3_step(stmt) != SQLITE_ROW)
		snprintf(why, whylen, "cannot read the audit journal: %s",
		    sqlite3_errmsg(db));
	else if ((last = sqlite3_column_int64(stmt, 0)) < a->seq)
		snprintf(why, whylen, "its newest records are missing: the audit "
		    "journal ends at record %lld, but record %lld was synced "
		    "(" STORE_FILE STORE_HEAD ")", (long long)last,
		    (long long)a->seq);
	else if (sqlite3_column_type(stmt, 1) != SQLITE_NULL &&
	    (sqlite3_column_bytes(stmt, 1) != 32 ||
	    memcmp(sqlite3_column_blob(stmt, 1), a->hash, 32) != 0))
		snprintf(why, whylen, "audit record %lld is not the one synced "
		    "(" STORE_FILE STORE_HEAD "): the store is another one, or "
		    "an older copy", (long long)a->seq);
	else
		result = 0;
	sqlite3_finalize(stmt);
	return result;
}

/* Write a with state in both slots of the head open on fd and sync it. */
static int
store_head_both(int fd, const struct store_anchor *a, unsigned state)
{
	uint8_t buf[2 * STORE_HEAD_SLOT];

	store_head_encode(a, 0, state, buf);
	memcpy(buf + STORE_HEAD_SLOT, buf, STORE_HEAD_SLOT);
	if (pwrite(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf) ||
	    fdatasync(fd) < 0)
		return -1;
	return 0;
}

/* Anchor a in both slots of the head open in h and sync it (start-up). */
int
store_head_reset(struct store_head *h, const struct store_anchor *a)
{
	if (store_head_both(h->fd, a, 0) < 0)
		return -1;
	h->writes = 1;
	h->anchor = *a;
	return 0;
}

/*
 * Write a with how the run leaves the store (state: STORE_HEAD_CLOSED,
 * STORE_HEAD_CHECKED; 0 while open) in both slots of the head at path
 * (open on fd, or opened here when fd is -1) and sync it: at start-up,
 * to clear the last run's state before anything is written (a crash from
 * then on must not look like a clean close), and at a clean close. 0, or
 * -1 with why set.
 */
int
store_head_mark(const char *path, int fd, const struct store_anchor *a,
    unsigned state, char *why, size_t whylen)
{
	int hfd = fd, rc = 0;

	if (hfd < 0 && (hfd = open(path, O_RDWR | O_CLOEXEC)) < 0) {
		snprintf(why, whylen, "cannot open %.300s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (store_head_both(hfd, a, state) < 0) {
		snprintf(why, whylen, "cannot write %.300s: %s", path,
		    strerror(errno));
		rc = -1;
	}
	if (fd < 0)
		close(hfd);
	return rc;
}

/*
 * Syncer: anchor a, the chain's end of what was just synced and how far
 * the log was, in the next slot of the head open in h. The file is synced
 * later (store_head_sync): an anchor behind the store is safe, and one
 * ahead of it cannot happen.
 */
int
store_head_write(struct store_head *h, const struct store_anchor *a)
{
	uint8_t slot[STORE_HEAD_SLOT];

	store_head_encode(a, h->writes, 0, slot);
	if (pwrite(h->fd, slot, sizeof(slot), (off_t)(h->writes++ & 1) *
	    STORE_HEAD_SLOT) != (ssize_t)sizeof(slot))
		return -1;
	h->anchor = *a;
	h->dirty = true;
	return 0;
}

/*
 * Syncer: sync the head open in h when it was written STORE_HEAD_SYNC_US
 * ago or more (last: now in any case). path names it in the log.
 */
void
store_head_sync(struct store_head *h, const char *path, bool last)
{
	int64_t now = time_mono_us();

	if (!h->dirty || (!last && now - h->synced_us < STORE_HEAD_SYNC_US))
		return;
	if (fdatasync(h->fd) < 0)
		log_error("store: cannot sync %s%s: %s", path, STORE_HEAD,
		    strerror(errno));
	h->dirty = false;
	h->synced_us = now;
}

static const char *const store_suffixes[3] = { "", "-wal", STORE_HEAD };

/*
 * Note which files the database at path, its WAL (open on walfd) and its
 * head (headfd) are, in ident (start-up).
 */
int
store_files_note(const char *path, int walfd, int headfd,
    struct store_ident ident[3], char *why, size_t whylen)
{
	struct stat sb[3];

	if (stat(path, &sb[0]) < 0 || fstat(walfd, &sb[1]) < 0 ||
	    fstat(headfd, &sb[2]) < 0) {
		snprintf(why, whylen, "stat: %s", strerror(errno));
		return -1;
	}
	for (int i = 0; i < 3; i++) {
		ident[i].dev = sb[i].st_dev;
		ident[i].ino = sb[i].st_ino;
	}
	return 0;
}

/*
 * Is each of the files of the database at path still the one ident
 * noted? false, or true
 * with why set: one was removed or replaced (renamed over) while cccd
 * runs, so what it writes from now on would be lost at the next start.
 */
bool
store_files_moved(const char *path, const struct store_ident ident[3],
    char *why, size_t whylen)
{
	struct stat sb;
	char p[600];
	bool gone;

	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", path, store_suffixes[i]);
		if (!(gone = stat(p, &sb) < 0) && sb.st_dev == ident[i].dev &&
		    sb.st_ino == ident[i].ino)
			continue;
		snprintf(why, whylen, "%.300s was %s while cccd runs: what it "
		    "stored is in files no longer there, so from now on it "
		    "stores nothing and refuses every publish; stop cccd, put "
		    "the store back (see \"The store\" in docs/operations.md) "
		    "and start it again", p, gone ? "removed" :
		    "replaced by another file");
		return true;
	}
	return false;
}
