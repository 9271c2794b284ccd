"""S3InspectHook against the local stack: bucket region, encryption, listings page by page."""

from __future__ import annotations

import json
import types

import pytest

from airflow_redshift_s3.exceptions import ResourceNotFoundError
from airflow_redshift_s3.hooks.s3_inspect import S3InspectHook

pytestmark = pytest.mark.integration


def test_bucket_region_from_head_bucket(aws, s3_bucket, eu_bucket, api_calls):
    hook = S3InspectHook()
    api_calls.watch(hook.conn)
    assert hook.get_bucket_region(s3_bucket) == "us-east-1"
    # the connection's client is in us-east-1; the region header still names the bucket's region
    assert hook.get_bucket_region(eu_bucket) == "eu-west-1"
    assert api_calls["HeadBucket"] == 2
    assert api_calls["GetBucketLocation"] == 0
    probe = hook.probe_bucket(eu_bucket)
    assert (probe.region, probe.accessible) == ("eu-west-1", True)


def test_get_bucket_location_quirks(aws, s3_bucket, eu_bucket):
    hook = S3InspectHook()
    # us-east-1 buckets answer LocationConstraint None
    assert hook.conn.get_bucket_location(Bucket=s3_bucket)["LocationConstraint"] is None
    assert hook.get_bucket_location(s3_bucket) == "us-east-1"
    assert hook.get_bucket_location(eu_bucket) == "eu-west-1"


def test_region_falls_back_to_get_bucket_location_without_the_header(aws, eu_bucket, api_calls):
    hook = S3InspectHook()

    def drop_region(parsed, **_):
        # What an S3-compatible store that sends no x-amz-bucket-region looks like.
        parsed.pop("BucketRegion", None)
        parsed["ResponseMetadata"]["HTTPHeaders"].pop("x-amz-bucket-region", None)

    hook.conn.meta.events.register("after-call.s3.HeadBucket", drop_region)
    api_calls.watch(hook.conn)
    assert hook.get_bucket_region(eu_bucket) == "eu-west-1"
    assert api_calls["GetBucketLocation"] == 1


def test_missing_bucket_is_a_resource_error(aws):
    with pytest.raises(ResourceNotFoundError) as error:
        S3InspectHook().get_bucket_region("no-such-bucket-4711")
    assert "S3 bucket 'no-such-bucket-4711' does not exist" in str(error.value)
    assert "head-bucket" in str(error.value)
    with pytest.raises(ResourceNotFoundError):
        list(S3InspectHook().iter_objects("no-such-bucket-4711", "x/"))


def test_bucket_encryption(aws, s3_bucket, eu_bucket):
    s3 = aws.aws_client("s3")
    hook = S3InspectHook()
    assert hook.get_bucket_encryption(s3_bucket).kind == "none"
    s3.put_bucket_encryption(
        Bucket=s3_bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    sse_s3 = hook.get_bucket_encryption(s3_bucket)
    assert (sse_s3.kind, sse_s3.uses_kms, sse_s3.kms_key_id) == ("SSE-S3", False, None)
    key = aws.aws_client("kms").create_key()["KeyMetadata"]["Arn"]
    s3.put_bucket_encryption(
        Bucket=eu_bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key},
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    sse_kms = hook.get_bucket_encryption(eu_bucket)
    assert sse_kms.to_dict() == {"type": "SSE-KMS", "kms_key_id": key, "bucket_key_enabled": True}
    assert sse_kms.uses_kms


def test_listing_is_a_lazy_generator_of_1000_key_pages(aws, s3_bucket, seed_objects, api_calls):
    # The 25,000-object listing is tested through S3PrefixSensor (tests/integration/sensors).
    keys = [f"big/part-{n:05d}.csv" for n in range(2_500)]
    seed_objects(s3_bucket, [*keys, "big_other/x.csv", "small/a.csv"])
    hook = S3InspectHook()
    api_calls.watch(hook.conn)
    pages = hook.iter_object_pages(s3_bucket, "big/")
    assert isinstance(pages, types.GeneratorType)
    first = next(pages)
    assert (api_calls["ListObjectsV2"], len(first)) == (1, 1000)  # one call for the first page
    assert [len(page) for page in pages] == [1000, 500]
    assert api_calls["ListObjectsV2"] == 3
    summary = hook.summarize_prefix(s3_bucket, "big/", exclude_keys=[keys[-1]])
    assert api_calls["ListObjectsV2"] == 6
    assert (summary.object_count, summary.total_bytes, summary.keys_seen) == (2_499, 2_499, 2_500)
    assert (summary.first_key, summary.last_key) == (keys[0], keys[-2])
    assert len(json.dumps(summary.to_dict())) < 500


def test_list_objects_only_when_asked_and_key_patterns(aws, s3_bucket, put_objects):
    put_objects(s3_bucket, ["d/a.csv", "d/b.json", "d/sub/c.csv", "d_old.csv"])
    hook = S3InspectHook()
    assert [o["Key"] for o in hook.list_objects(s3_bucket, "d/")] == ["d/a.csv", "d/b.json", "d/sub/c.csv"]
    assert len(hook.list_objects(s3_bucket, "d/", max_objects=2)) == 2
    summary = hook.summarize_prefix(s3_bucket, "d/", key_pattern="*.csv", page_size=1)
    assert (summary.object_count, summary.first_key, summary.last_key) == (2, "d/a.csv", "d/sub/c.csv")
    assert hook.summarize_prefix(s3_bucket, "d").object_count == 4  # no '/' boundary: d_old.csv too
    assert hook.object_exists(s3_bucket, "d/a.csv")
    assert not hook.object_exists(s3_bucket, "d/nope")


async def test_async_listing_matches_the_sync_one(aws, s3_bucket, put_objects, api_calls):
    put_objects(s3_bucket, [f"a/{n}.csv" for n in range(5)] + ["a/_SUCCESS"])
    hook = S3InspectHook()
    expected = hook.summarize_prefix(s3_bucket, "a/", exclude_keys=["a/_SUCCESS"])
    async with await hook.get_async_conn() as client:
        api_calls.watch(client)
        summary = await hook.summarize_prefix_async(
            client, s3_bucket, "a/", exclude_keys=["a/_SUCCESS"], page_size=2
        )
        assert await hook.object_exists_async(client, s3_bucket, "a/_SUCCESS")
        assert not await hook.object_exists_async(client, s3_bucket, "a/_NOPE")
        with pytest.raises(ResourceNotFoundError):
            await hook.summarize_prefix_async(client, "no-such-bucket-4711", "a/")
    assert api_calls["ListObjectsV2"] == 3 + 1  # 6 keys, 2 a page; then the missing bucket
    assert summary.to_dict() == expected.to_dict()
    assert summary.object_count == 5


def _head_bucket_error(status: int, code: str, region: str | None):
    """Answer HeadBucket with an S3 error, as real S3 does for a forbidden or other-region bucket.

    moto's server neither enforces bucket policies nor redirects across regions, so that answer is
    produced through botocore's event system; everything else is the real call path.
    """
    from botocore.awsrequest import AWSResponse

    headers = {"x-amz-bucket-region": region} if region else {}

    def answer(**_):
        parsed = {
            "Error": {"Code": code, "Message": ""},
            "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": headers},
        }
        return AWSResponse("", status, headers, None), parsed

    return answer


def test_a_forbidden_bucket_still_tells_its_region(aws, eu_bucket, api_calls):
    hook = S3InspectHook()
    hook.conn.meta.events.register("before-call.s3.HeadBucket", _head_bucket_error(403, "403", "eu-west-1"))
    probe = hook.probe_bucket(eu_bucket)
    assert (probe.region, probe.accessible, probe.error) == ("eu-west-1", False, "403")
    assert hook.get_bucket_region(eu_bucket) == "eu-west-1"


def test_a_redirect_that_botocore_did_not_follow_still_tells_the_region(aws, eu_bucket):
    hook = S3InspectHook()
    hook.conn.meta.events.register("before-call.s3.HeadBucket", _head_bucket_error(301, "301", "eu-west-1"))
    assert hook.probe_bucket(eu_bucket).region == "eu-west-1"


@pytest.mark.parametrize("requester_pays", [True, False])
def test_requester_pays_is_sent_on_the_hooks_own_calls(aws, s3_bucket, put_objects, requester_pays):
    """``requester_pays`` is the hook's own argument (S3Hook takes one only from Amazon provider 9.9.0)."""
    put_objects(s3_bucket, ["p/a.csv"])
    hook = S3InspectHook(requester_pays=requester_pays)
    payer: dict[str, str | None] = {}

    def record(request, event_name, **_):
        payer[event_name.rsplit(".", 1)[-1]] = request.headers.get("x-amz-request-payer")

    hook.conn.meta.events.register("before-send.s3", record)
    hook.probe_bucket(s3_bucket)
    assert hook.summarize_prefix(s3_bucket, "p/").object_count == 1
    expected = b"requester" if requester_pays else None
    # HeadBucket has no RequestPayer parameter (botocore refuses it); listings and HeadObject carry it
    assert payer == {"HeadBucket": None, "ListObjectsV2": expected}
