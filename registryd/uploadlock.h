/*
 * The lock that lets one request at a time write an upload kept in object
 * storage, where no file lock exists: a node-wide table of the uploads
 * its requests hold (two requests on one node, even on one thread and
 * database session, exclude each other), and a PostgreSQL session
 * advisory lock for the other nodes, which a dead node's session drops.
 * The filesystem driver uses its file locks instead.
 */
#ifndef BERTH_UPLOADLOCK_H
#define BERTH_UPLOADLOCK_H

/* Takes id's lock without waiting: 0, or -1 with errno EAGAIN (held
 * elsewhere) or EIO (the database). For storage_s3_config's lock. */
int uploadlock_take(const char *id, void *arg);

/* Releases what uploadlock_take took, on the same thread. */
void uploadlock_drop(const char *id, void *arg);

#endif
