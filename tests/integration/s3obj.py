#!/usr/bin/env python3
"""The tests' own look into the bucket, through botocore rather than
Berth's S3 client, so that what the registry stored is checked by another
implementation. Reads S3_ENDPOINT, S3_REGION, S3_ACCESS_KEY, S3_SECRET_KEY,
S3_BUCKET and S3_PREFIX from the environment.

  s3obj.py get KEY FILE     the object's bytes into FILE (exit 1: none)
  s3obj.py head KEY         its size (exit 1: none)
  s3obj.py ls PREFIX        "KEY SIZE" lines, sorted
  s3obj.py put KEY FILE     stores FILE as KEY
  s3obj.py rm KEY...        deletes the keys
  s3obj.py mpu PREFIX       the keys of multipart uploads in progress
"""
import os
import sys

import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError


def client():
    s = botocore.session.get_session()
    return s.create_client(
        "s3",
        endpoint_url=os.environ["S3_ENDPOINT"],
        region_name=os.environ.get("S3_REGION", "us-east-1"),
        aws_access_key_id=os.environ["S3_ACCESS_KEY"],
        aws_secret_access_key=os.environ["S3_SECRET_KEY"],
        config=Config(s3={"addressing_style": "path"},
                      retries={"max_attempts": 2}))


def main(argv):
    c = client()
    bucket = os.environ["S3_BUCKET"]
    pre = os.environ.get("S3_PREFIX", "")
    cmd, args = argv[1], argv[2:]
    try:
        if cmd == "get":
            r = c.get_object(Bucket=bucket, Key=pre + args[0])
            with open(args[1], "wb") as f:
                f.write(r["Body"].read())
        elif cmd == "head":
            r = c.head_object(Bucket=bucket, Key=pre + args[0])
            print(r["ContentLength"])
        elif cmd == "ls":
            out = []
            for page in c.get_paginator("list_objects_v2").paginate(
                    Bucket=bucket, Prefix=pre + args[0]):
                for o in page.get("Contents", []):
                    out.append("%s %d" % (o["Key"][len(pre):], o["Size"]))
            for line in sorted(out):
                print(line)
        elif cmd == "put":
            with open(args[1], "rb") as f:
                c.put_object(Bucket=bucket, Key=pre + args[0], Body=f.read())
        elif cmd == "rm":
            for k in args:
                c.delete_object(Bucket=bucket, Key=pre + k)
        elif cmd == "mpu":
            r = c.list_multipart_uploads(Bucket=bucket, Prefix=pre + args[0])
            for u in r.get("Uploads", []):
                print(u["Key"][len(pre):])
        else:
            print("s3obj.py: unknown command " + cmd, file=sys.stderr)
            return 2
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code", "")
        if code in ("404", "NoSuchKey", "NotFound"):
            return 1
        print("s3obj.py: %s: %s" % (cmd, e), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
