/*
 * berthctl: the operators' command-line client for authd's management API
 * (placeholder until the client lands).
 */
#include <stdio.h>

int
main(void)
{
	fprintf(stderr, "berthctl: not implemented yet\n");
	return 2;
}
