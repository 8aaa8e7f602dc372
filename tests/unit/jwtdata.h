/*
 * What the key and token suites share: the fixture keys under
 * tests/data/jwt, their libtrust ids and the claims' iss, aud and time.
 */
#ifndef BERTH_JWTDATA_H
#define BERTH_JWTDATA_H

#include <stdbool.h>
#include <stdint.h>

struct jwt_key;

#define NOW INT64_C(1700000000)
#define ISS "auth.berth.test"
#define AUD "registry.berth.test"

/* libtrust ids, computed with Python from `openssl pkey -pubout -outform
 * DER`; the EC one is also the kid the Docker token spec gives its key */
#define KID_EC "PYYO:TEWU:V7JH:26JV:AQTZ:LJC3:SXVJ:XGHA:34F2:2LAQ:ZRMK:Z7Q6"
#define KID_EC2 "FFWT:5D2V:EDWX:MEFP:25P3:5ULP:VVTL:5SEQ:JDIX:Q4MN:H2VI:6CHJ"
#define KID_RSA "YSWC:ZYD4:MBEN:W2QX:LML4:F3BG:FWDM:V3H4:7LPW:4XJO:G3C7:MOK5"

/* the Docker token spec's example key, as a JWK */
#define SPEC_X "m7zUpx3b-zmVE5cymSs64POG9QcyEpJaYCD82-549_Q"
#define SPEC_Y "dU3biz8sZ_8GPB-odm8Wxz3lNDr1xcAQQPQaOcr1fmc"

/* tests/data/jwt/<name>; caller frees. */
char *test_jwk_path(const char *name);
/* tests/data/jwt/<name> as a private (signing) or public key, or NULL. */
struct jwt_key *test_jwk_load(const char *name, bool private);

#endif
