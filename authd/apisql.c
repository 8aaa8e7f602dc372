/*
 * The management API's prepared statements, numbered from A_COUNT on (see
 * enum api_stmt in api.h).
 */
#include "authd.h"

const struct db_stmt api_stmts[] = {
	{ "api_ping", "SELECT 1" },
};
const int api_stmts_count = (int)ARRAY_SIZE(api_stmts);
