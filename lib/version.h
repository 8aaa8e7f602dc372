/*
 * The build's version (the top-level VERSION file) and git commit, for
 * --version and berth_build_info. Only lib/version.c sees them as -D
 * defines, so a new commit recompiles that one file.
 */
#ifndef BERTH_VERSION_H
#define BERTH_VERSION_H

extern const char berth_version[];	/* "0.9.0" */
extern const char berth_commit[];	/* "abc1234", or "unknown" */

/* Prints "<program> <version> (commit <commit>)" on stdout. */
void version_print(const char *program);

#endif
