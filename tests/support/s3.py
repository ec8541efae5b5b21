"""A local S3-compatible server for the media store tests: moto's server on 127.0.0.1, spoken to through
boto3 as any S3 client would, with a fresh bucket per test."""

from __future__ import annotations

import itertools
import json
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

ACCESS_KEY, SECRET_KEY, REGION = "fedigen-test", "fedigen-test-secret", "us-east-1"
_buckets = itertools.count(1)


class S3Server:
    """moto's S3 on a free loopback port; ``admin`` is a path-style client that sees everything."""

    def __init__(self) -> None:
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        self.port = self.server.get_host_and_port()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.admin: Any = boto3.client(
            "s3", endpoint_url=self.endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )  # fmt: skip

    def bucket(self, public_prefix: str | None = "media/") -> str:
        """A new, empty bucket; objects under ``public_prefix`` may be read by anyone (a bucket policy,
        as an operator would set for public_base_url)."""
        name = f"fedigen-test-{next(_buckets)}"
        self.admin.create_bucket(Bucket=name)
        if public_prefix is not None:
            statement = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                         "Resource": f"arn:aws:s3:::{name}/{public_prefix}*"}  # fmt: skip
            policy = {"Version": "2012-10-17", "Statement": [statement]}
            self.admin.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))
        return name

    def objects(self, bucket: str, prefix: str = "") -> dict[str, bytes]:
        """Every object of ``bucket`` under ``prefix``, by name, with its bytes."""
        found: dict[str, bytes] = {}
        for page in self.admin.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                found[item["Key"]] = self.admin.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        return found

    def settings(self, bucket: str, **extra: Any) -> dict[str, Any]:
        """The [media.s3] table for ``bucket``."""
        return {"endpoint": self.endpoint, "bucket": bucket, "region": REGION, "access_key": ACCESS_KEY,
                "secret_key": SECRET_KEY, **extra}  # fmt: skip

    def stop(self) -> None:
        self.server.stop()
