/* SPDX-License-Identifier: MIT */
/*
 * The write_cloudwatch plugin for fuzz_config: its module_register is renamed
 * so that both plugins' glue links into one program.
 */
#define module_register write_cloudwatch_module_register
#include "../../plugin/write_cloudwatch.c"
