/*
 * Content-Range of upload chunks and Range of blob GETs.
 */
#include "range.h"
#include "test.h"

void
test_range(void)
{
	uint64_t a, b, off, len;

	CHECK(range_parse_upload("0-99", &a, &b) == 0 && a == 0 && b == 99);
	CHECK(range_parse_upload("100-100", &a, &b) == 0 && a == 100 &&
	      b == 100);
	CHECK(range_parse_upload("bytes 5-9/10", &a, &b) == 0 && a == 5 &&
	      b == 9);
	CHECK(range_parse_upload("bytes 5-9/*", &a, &b) == 0);
	CHECK(range_parse_upload("9-5", &a, &b) == -1);
	CHECK(range_parse_upload("-5", &a, &b) == -1);
	CHECK(range_parse_upload("5-", &a, &b) == -1);
	CHECK(range_parse_upload("a-b", &a, &b) == -1);
	CHECK(range_parse_upload("1-2x", &a, &b) == -1);
	CHECK(range_parse_upload("", &a, &b) == -1);
	CHECK(range_parse_upload(NULL, &a, &b) == -1);
	CHECK(range_parse_upload("0-99999999999999999999999", &a, &b) == -1);
	/* Lengths beyond 2^63 are refused, not wrapped into int64_t. */
	CHECK(range_parse_upload("0-18446744073709551615", &a, &b) == -1);
	CHECK(range_parse_upload("0-9223372036854775807", &a, &b) == -1);
	CHECK(range_parse_upload("0-9223372036854775806", &a, &b) == 0 &&
	      b == 9223372036854775806u);
	CHECK(range_parse_upload("5-9223372036854775808/*", &a, &b) == -1);

	CHECK(range_parse_request("bytes=0-9", 100, &off, &len) == 0 &&
	      off == 0 && len == 10);
	CHECK(range_parse_request("bytes=90-", 100, &off, &len) == 0 &&
	      off == 90 && len == 10);
	CHECK(range_parse_request("bytes=90-500", 100, &off, &len) == 0 &&
	      off == 90 && len == 10);
	CHECK(range_parse_request("bytes=-10", 100, &off, &len) == 0 &&
	      off == 90 && len == 10);
	CHECK(range_parse_request("bytes=-1000", 100, &off, &len) == 0 &&
	      off == 0 && len == 100);
	CHECK(range_parse_request("bytes=100-", 100, &off, &len) == -2);
	CHECK(range_parse_request("bytes=-0", 100, &off, &len) == -2);
	CHECK(range_parse_request("bytes=5-1", 100, &off, &len) == -1);
	CHECK(range_parse_request("items=0-1", 100, &off, &len) == -1);
	CHECK(range_parse_request("bytes=0-1,5-6", 100, &off, &len) == -1);
}
