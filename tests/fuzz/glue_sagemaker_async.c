/* SPDX-License-Identifier: MIT */
/*
 * The sagemaker_async plugin for fuzz_config: its module_register is renamed
 * so that both plugins' glue links into one program.
 */
#define module_register sagemaker_async_module_register
#include "../../plugin/sagemaker_async.c"
