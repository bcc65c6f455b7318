/*
 * pages: procctl.node's releaseFilePages() -> bytes advised.
 *
 * madvise(MADV_DONTNEED) over every private, read-only mapping of a file (the node
 * binary, the C and C++ libraries, the addons) that holds no page of its own. Start-up
 * reads far more of them (relocations, the V8 snapshot, code run once) than a running
 * half needs. The pages stay in the page cache; one that is used again comes back with
 * a minor fault, from the file, which is what the mapping held.
 *
 * A private mapping holds pages of its own once it was written (copy-on-write: the
 * relocated read-only data under RELRO). MADV_DONTNEED would put the file's bytes back
 * there, so a mapping with any anonymous page is left alone; so is anything not mapped
 * from a file by path (text a runtime copied to huge pages is anonymous). The first call
 * picks the mappings from /proc/self/smaps and keeps the list; a call told to reread
 * them again (every call made before the sandbox, so that a mapping that went away
 * since is never advised), and a call in the sandbox, which opens no file, uses the
 * list of the last one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "sandbox.h"

#define MAX_RANGES 512

static struct {
	uintptr_t start, end;
} ranges[MAX_RANGES];
static size_t range_count;
static int ranges_known;

/* Reads the qualifying mappings once; on any failure the list stays empty. */
static void find_ranges(void) {
	FILE *f = fopen("/proc/self/smaps", "re");
	if (f == NULL) return;
	char line[4096];
	uintptr_t start = 0, end = 0;
	int candidate = 0;
	while (fgets(line, sizeof line, f) != NULL && range_count < MAX_RANGES) {
		unsigned long s, e;
		char perms[5];
		int path_at = 0;
		if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %n", &s, &e, perms, &path_at) == 3 && path_at > 0) {
			/* A mapping of a file by path, readable, not writable, private. */
			candidate = perms[0] == 'r' && perms[1] == '-' && perms[3] == 'p' && line[path_at] == '/';
			start = s;
			end = e;
			continue;
		}
		unsigned long anonymous;
		if (candidate && sscanf(line, "Anonymous: %lu kB", &anonymous) == 1) {
			if (anonymous == 0) {
				ranges[range_count].start = start;
				ranges[range_count].end = end;
				range_count++;
			}
			candidate = 0;
		}
	}
	fclose(f);
}

napi_value pages_release_file_pages(napi_env env, napi_callback_info info) {
	size_t argc = 1;
	napi_value arg;
	bool reread = false;
	if (napi_get_cb_info(env, info, &argc, &arg, NULL, NULL) != napi_ok) return NULL;
	if (argc >= 1 && napi_get_value_bool(env, arg, &reread) != napi_ok) {
		napi_throw_type_error(env, NULL, "releaseFilePages takes a boolean: read the mappings again");
		return NULL;
	}
	if (reread || !ranges_known) {
		range_count = 0;
		find_ranges();
		ranges_known = 1;
	}
	double released = 0;
	for (size_t i = 0; i < range_count; i++)
		if (madvise((void *)ranges[i].start, ranges[i].end - ranges[i].start, MADV_DONTNEED) == 0)
			released += (double)(ranges[i].end - ranges[i].start);
	napi_value out;
	if (napi_create_double(env, released, &out) != napi_ok) return NULL;
	return out;
}
