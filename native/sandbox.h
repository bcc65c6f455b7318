/* The functions of procctl.node that live in their own files (native/sandbox.c,
 * native/exec.c, native/pages.c), registered by procctl.c. */
#ifndef SCANLOGD_SANDBOX_H
#define SCANLOGD_SANDBOX_H
#include <node_api.h>

napi_value sandbox_seccomp(napi_env env, napi_callback_info info);
napi_value sandbox_export(napi_env env, napi_callback_info info);
napi_value sandbox_landlock(napi_env env, napi_callback_info info);
napi_value exec_execve(napi_env env, napi_callback_info info);
napi_value exec_refusal(napi_env env, napi_callback_info info);
napi_value pages_release_file_pages(napi_env env, napi_callback_info info);

#endif
