/* SPDX-License-Identifier: MIT */
/*
 * sm_contract.h: what sagemaker_async promises write_cloudwatch (and any
 * other writer) about the values and notifications it dispatches: the
 * plugin and type names, and every meta data key. Both plugins' glue use
 * these names and nothing else, so that the compiler catches a mismatch.
 * README.md ("What it dispatches") documents the same contract for users.
 */
#ifndef SM_CONTRACT_H
#define SM_CONTRACT_H 1

/* Plugin names, as in LoadPlugin and in value lists. */
#define SM_PLUGIN_ASYNC "sagemaker_async"
#define SM_PLUGIN_WRITE "write_cloudwatch"

/* The types sagemaker_async registers (contrib/types.db lists them too). */
#define SM_TYPE_GAUGE "sagemaker_gauge" /* one gauge */
#define SM_TYPE_COUNT "sagemaker_count" /* one gauge: a per-interval count */
#define SM_TYPE_STATS "sagemaker_stats" /* count, sum, min, max */
/* One DERIVE: a running total of a count since collectd started (the
 * option Totals), for writers other than write_cloudwatch, which ignores
 * it. */
#define SM_TYPE_COUNTER "sagemaker_counter"
/* The notifications' type: one per failed or expired request. */
#define SM_TYPE_REQUEST "sagemaker_request"

/* Meta data of value lists (all) and notifications (all but the
 * sketch, seq_first and seq_last). */
#define SM_META_ENDPOINT_NAME "sagemaker:endpoint_name"
#define SM_META_VARIANT_NAME "sagemaker:variant_name"
#define SM_META_INSTANCE_ID "sagemaker:instance_id"
#define SM_META_BOOT_ID "sagemaker:boot_id"
/* Counts and statistic sets: the runtime's records the interval covers. */
#define SM_META_SEQ_FIRST "sagemaker:seq_first"
#define SM_META_SEQ_LAST "sagemaker:seq_last"
/* A timing's sketch of its samples, in sm_sketch's text form. */
#define SM_META_SKETCH "sagemaker:sketch"
/* Notifications of requests. */
#define SM_META_INFERENCE_ID "sagemaker:inference_id"
#define SM_META_OUTCOME "sagemaker:outcome"
#define SM_META_STAGE "sagemaker:stage"
#define SM_META_STATUS_CODE "sagemaker:status_code"
#define SM_META_ERROR "sagemaker:error"
#define SM_META_SEQ "sagemaker:seq"
#define SM_META_RECEIVED_MS "sagemaker:received_ms"
#define SM_META_COMPLETED_MS "sagemaker:completed_ms"

#endif /* SM_CONTRACT_H */
