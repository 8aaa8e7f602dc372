/*
 * The Signature Version 4 signer against AWS's published examples:
 * vectors of the aws-sig-v4-test-suite (service "service", 20150830),
 * and the S3 examples of "Signature Calculations for the Authorization
 * Header: Transferring Payload in a Single Chunk" and "Authenticating
 * Requests: Using Query Parameters" in AWS's S3 API reference
 * (examplebucket, 20130524). botocore and AWS::Signature4 are compared
 * with it over generated requests by t_sigv4_oracle.
 */
#include <stdlib.h>
#include <string.h>

#include "s3.h"
#include "sigv4.h"
#include "test.h"

#define EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static const struct sigv4_creds suite = {
	"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL,
	"us-east-1", "service"
};
static const struct sigv4_creds s3ex = {
	"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	NULL, "us-east-1", "s3"
};

/* 2015-08-30T12:36:00Z and 2013-05-24T00:00:00Z */
#define SUITE_TIME 1440938160
#define S3_TIME 1369353600

static void
check_sig(const struct sigv4_creds *c, const struct sigv4_req *r,
	  const char *want)
{
	struct sigv4_result res;

	CHECK(sigv4_sign(c, r, &res) == 0);
	if (strcmp(res.signature, want) != 0)
		fprintf(stderr, "sigv4 %s %s?%s:\n%s\n---\n%s\n", r->method,
			r->path, r->query ? r->query : "", res.canonical_request,
			res.string_to_sign);
	CHECK(strcmp(res.signature, want) == 0);
	sigv4_result_release(&res);
}

static void
test_suite_vectors(void)
{
	struct sigv4_req r = { "GET", "example.amazonaws.com", "/", NULL, NULL,
			       0, EMPTY, SUITE_TIME };
	struct sigv4_result res;
	struct sigv4_header dup[3] = { { "My-Header1", "value2" },
				       { "My-Header1", "value2" },
				       { "My-Header1", "value1" } };

	/* get-vanilla: every piece. */
	CHECK(sigv4_sign(&suite, &r, &res) == 0);
	CHECK(strcmp(res.canonical_request,
		     "GET\n/\n\nhost:example.amazonaws.com\n"
		     "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY) ==
	      0);
	CHECK(strcmp(res.string_to_sign,
		     "AWS4-HMAC-SHA256\n20150830T123600Z\n"
		     "20150830/us-east-1/service/aws4_request\n"
		     "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292"
		     "927e63") == 0);
	CHECK(strcmp(res.signature, "5fa00fa31553b73ebf1942676e86291e8372ff2a"
				    "2260956d9b8aae1d763fbf31") == 0);
	CHECK(strcmp(res.authorization,
		     "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/"
		     "us-east-1/service/aws4_request, SignedHeaders=host;"
		     "x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372"
		     "ff2a2260956d9b8aae1d763fbf31") == 0);
	sigv4_result_release(&res);
	/* get-vanilla-query-order-key-case */
	r.query = "Param2=value2&Param1=value1";
	check_sig(&suite, &r, "b97d918cfa904a5beff61c982a1b6f458b799221646efd99"
			      "d3219ec94cdf2500");
	/* post-vanilla */
	r.method = "POST";
	r.query = NULL;
	check_sig(&suite, &r, "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37d"
			      "ddb68e92efbe5d6b");
	/* get-header-key-duplicate */
	r.method = "GET";
	r.headers = dup;
	r.n_headers = 3;
	check_sig(&suite, &r, "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f"
			      "858259531a5138ea");
}

static void
test_s3_examples(void)
{
	struct sigv4_header get[2] = { { "Range", "bytes=0-9" },
				       { "x-amz-content-sha256", EMPTY } };
	struct sigv4_header put[3] = {
		{ "Date", "Fri, 24 May 2013 00:00:00 GMT" },
		{ "x-amz-storage-class", "REDUCED_REDUNDANCY" },
		{ "x-amz-content-sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4"
					  "b4e99e42034a8b803f8b072" }
	};
	struct sigv4_req r = { "GET", "examplebucket.s3.amazonaws.com",
			       "/test.txt", NULL, get, 2, EMPTY, S3_TIME };
	char *url;

	check_sig(&s3ex, &r, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48d"
			     "d91039c6036bdb41");
	r = (struct sigv4_req){ "PUT", "examplebucket.s3.amazonaws.com",
				"/test%24file.text", NULL, put, 3,
				put[2].value, S3_TIME };
	check_sig(&s3ex, &r, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1"
			     "b5971af0ece108bd");
	r = (struct sigv4_req){ "GET", "examplebucket.s3.amazonaws.com", "/",
				"lifecycle", get + 1, 1, EMPTY, S3_TIME };
	check_sig(&s3ex, &r, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac"
			     "7a200a0136783543");
	r.query = "max-keys=2&prefix=J";
	check_sig(&s3ex, &r, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db667"
			     "0ed5711ef69dc6f7");
	/* The presigned GET of test.txt, valid a day. */
	r = (struct sigv4_req){ "GET", "examplebucket.s3.amazonaws.com",
				"/test.txt", NULL, NULL, 0, "UNSIGNED-PAYLOAD",
				S3_TIME };
	url = sigv4_presign(&s3ex, &r, 86400);
	CHECK(url != NULL);
	CHECK(url && strcmp(url,
			    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
			    "AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2F"
			    "aws4_request&X-Amz-Date=20130524T000000Z&"
			    "X-Amz-Expires=86400&X-Amz-SignedHeaders=host&"
			    "X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f99"
			    "5330da4c265957d157751f604d404") == 0);
	free(url);
}

static void
test_bad_input(void)
{
	struct sigv4_header crlf[1] = { { "x-evil", "a\r\nHost: b" } };
	struct sigv4_req r = { "GET", "h", "/", NULL, crlf, 1, EMPTY, 0 };
	struct sigv4_result res;

	CHECK(sigv4_sign(&s3ex, &r, &res) < 0);
	CHECK(res.authorization == NULL);
	r.n_headers = 0;
	r.host = NULL;
	CHECK(sigv4_sign(&s3ex, &r, &res) < 0);
	r.host = "h";
	r.payload_hash = NULL;
	CHECK(sigv4_sign(&s3ex, &r, &res) < 0);
	r.payload_hash = EMPTY;
	CHECK(sigv4_presign(&s3ex, &r, 0) == NULL);
	CHECK(sigv4_presign(&s3ex, &r, 604801) == NULL);
	/* "?uploads" is signed as "uploads=", keys sorted, '+' and '/'
	 * encoded: the forms real servers check. */
	r.query = "uploads";
	CHECK(sigv4_sign(&s3ex, &r, &res) == 0);
	CHECK(strstr(res.canonical_request, "\nuploads=\n") != NULL);
	sigv4_result_release(&res);
	r.query = "prefix=a/b+c&list-type=2&continuation-token=x%2By";
	CHECK(sigv4_sign(&s3ex, &r, &res) == 0);
	CHECK(strstr(res.canonical_request,
		     "\ncontinuation-token=x%2By&list-type=2&prefix=a%2Fb%2Bc\n") !=
	      NULL);
	sigv4_result_release(&res);
}

void
test_sigv4(void)
{
	test_suite_vectors();
	test_s3_examples();
	test_bad_input();
}

/* The S3 client's retry delays: full jitter under a doubling ceiling
 * from 100 ms, never past 5 s. */
void
test_s3_backoff(void)
{
	CHECK(s3_backoff_ms(0, 0) == 0);
	CHECK(s3_backoff_ms(0, 100) == 100);
	CHECK(s3_backoff_ms(0, 101) == 0);
	CHECK(s3_backoff_ms(1, 200) == 200);
	CHECK(s3_backoff_ms(3, 0xffffffffu) <= 800);
	for (unsigned a = 0; a < 40; a++)
		CHECK(s3_backoff_ms(a, 0xfffffffeu - a) <= 5000);
	CHECK(s3_backoff_ms(10, 5000) == 5000);
}
