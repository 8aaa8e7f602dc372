/*
 * The version strings (see version.h). The Makefile compiles this file
 * with -DBERTH_VERSION and -DBERTH_COMMIT and rebuilds it whenever either
 * changes; a build without them says "unknown".
 */
#include <stdio.h>

#include "version.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "unknown"
#endif
#ifndef BERTH_COMMIT
#define BERTH_COMMIT "unknown"
#endif

const char berth_version[] = BERTH_VERSION;
const char berth_commit[] = BERTH_COMMIT;

void
version_print(const char *program)
{
	printf("%s %s (commit %s)\n", program, berth_version, berth_commit);
}
