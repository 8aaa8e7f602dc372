/*
 * The statement tables: every slot of each daemon's table is filled (an
 * empty one would be prepared as nothing and found only at its first
 * use), and the check that db_setup makes at start sees a gap.
 */
#include "authd.h"
#include "db.h"
#include "sql.h"
#include "test.h"

void
test_db(void)
{
	static const struct db_stmt gap[3] = {
		{ "a", "SELECT 1" },
		[2] = { "c", "SELECT 3" },
	};
	static const struct db_stmt empty_sql[1] = { { "a", "" } };

	CHECK(db_stmts_check(registry_stmts, Q_COUNT) == 0);
	CHECK(db_stmts_check(authd_stmts, A_COUNT) == 0);
	CHECK(db_stmts_check(api_stmts, api_stmts_count) == 0);
	CHECK(db_stmts_check(gap, 3) == -1);
	CHECK(db_stmts_check(gap, 1) == 0);
	CHECK(db_stmts_check(empty_sql, 1) == -1);
}
