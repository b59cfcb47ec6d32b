/*
 * store_wal.h — the SQLite store's files from outside SQLite
 * (store_wal.c): the write-ahead log's scan, the ccc.db-head anchor, the
 * files' identity. Private to the SQLite backend.
 *
 * Owns: the names of the store's files, the anchor's and the log's place
 * as the backend keeps them.
 * Must never: be included outside the SQLite backend.
 */
#ifndef CCC_STORE_WAL_H
#define CCC_STORE_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <sqlite3.h>

#define STORE_FILE	"ccc.db"
#define STORE_HEAD	"-head"		/* suffix: the anchored end of the audit chain */
#define STORE_HEAD_SYNC_US (200 * INT64_C(1000))	/* syncer: head synced at most this often */

struct store_walpos {				/* a place in the WAL */
	uint8_t		 salts[8];	/* salt-1, salt-2 of its header: the log's generation */
	int64_t		 frames;	/* frames of that generation, from the first */
};

/* How the last run left the store (ccc.db-head, version 3; 0 while open). */
#define STORE_HEAD_CLOSED	1u	/* closed cleanly: every sync succeeded,
					   the files were its own to the end, no
					   operation met damage, the writer met
					   no I/O error (SQLITE_IOERR), no
					   checkpoint failed */
#define STORE_HEAD_CHECKED	2u	/* and its integrity check passed in that run */

struct store_anchor {				/* what ccc.db-head says */
	int64_t		 seq;		/* last synced audit record (0: none) */
	uint8_t		 hash[32];
	bool		 has_wal;	/* wal holds (not a head of version 1) */
	struct store_walpos wal;	/* the log as far as it was synced */
	unsigned	 state;		/* STORE_HEAD_CLOSED | STORE_HEAD_CHECKED, or 0:
					   open, or left by a crash (versions 1, 2: 0) */
};

struct store_head {				/* ccc.db-head, open (syncer) */
	int		 fd;
	struct store_anchor anchor;	/* what it says */
	uint64_t	 writes;	/* slots written since start-up
					   (alternates them; the newer one's count) */
	bool		 dirty;		/* written, not synced yet */
	int64_t		 synced_us;
};

struct store_ident {				/* a file as opened */
	dev_t		 dev;
	ino_t		 ino;
};

int	store_wal_scan(const char *path, const struct store_anchor *a,
	    char *why, size_t whylen);
int	store_head_read(const char *path, struct store_anchor *a, char *why,
	    size_t whylen);
int	store_head_reached(sqlite3 *db, const struct store_anchor *a,
	    char *why, size_t whylen);
int	store_head_reset(struct store_head *h, const struct store_anchor *a);
int	store_head_write(struct store_head *h, const struct store_anchor *a);
int	store_head_mark(const char *path, int fd, const struct store_anchor *a,
	    unsigned state, char *why, size_t whylen);
void	store_head_sync(struct store_head *h, const char *path, bool last);
int	store_files_note(const char *path, int walfd, int headfd,
	    struct store_ident ident[3], char *why, size_t whylen);
bool	store_files_moved(const char *path, const struct store_ident ident[3],
	    char *why, size_t whylen);

#endif
