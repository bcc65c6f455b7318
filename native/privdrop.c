/*
 * privdrop: the calls of the capture process's start as root that Node has no
 * function for. Loaded by the capture process alone, as root, before the drop.
 *
 *   getpwnam(name) -> { name, uid, gid, home, shell }, or null when there is no such
 *                     user; throws strerror's words when the lookup itself failed (an
 *                     unreadable /etc/passwd, an NSS service that is down), which must
 *                     not be taken for an unknown user. getpwnam_r(3): no static buffer.
 *   chroot(path)      chroot(2); throws strerror's words, with the number in `errno`.
 *   lockFile(fd)      flock(fd, LOCK_EX | LOCK_NB): true when taken, false when another
 *                     open file description holds it; the lock lasts as long as fd.
 *   entryOf(dirFd, name, fd)
 *                     What the entry `name` of the directory open at dirFd is now:
 *                     "held" when it is the file open at fd (same st_dev and st_ino),
 *                     "replaced" when it is another file, "absent" when there is none.
 *                     fstatat(2) without following a link; throws strerror's words.
 *   unlinkAt(dirFd, name)
 *                     unlinkat(dirFd, name, 0): true when removed, false when it was
 *                     already gone; throws strerror's words otherwise.
 *
 * The last two are the pidfile's at the capture process's end, after the chroot: the
 * directory was opened before it, and the name is a plain file name.
 *
 * No state, no threads.
 */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addon.h"

/* Where getpwnam_r's strings go; grown on ERANGE, up to a bound no real entry reaches. */
#define PASSWD_BUFFER_START 1024
#define PASSWD_BUFFER_MAX (1024 * 1024)

static int set_string(napi_env env, napi_value object, const char *key, const char *value) {
	napi_value v;
	return napi_create_string_utf8(env, value != NULL ? value : "", NAPI_AUTO_LENGTH, &v) == napi_ok &&
	       napi_set_named_property(env, object, key, v) == napi_ok;
}

static int set_uint(napi_env env, napi_value object, const char *key, uint32_t value) {
	napi_value v;
	return napi_create_uint32(env, value, &v) == napi_ok && napi_set_named_property(env, object, key, v) == napi_ok;
}

static napi_value js_getpwnam(napi_env env, napi_callback_info info) {
	napi_value argv[1];
	/* LOGIN_NAME_MAX is 256 on Linux; longer is no account name. */
	char name[LOGIN_NAME_MAX + 1];
	if (!addon_one_argument(env, info, &argv[0], "privdrop.getpwnam(name)")) return NULL;
	size_t length = 0;
	napi_value out = NULL;
	if (napi_get_value_string_utf8(env, argv[0], NULL, 0, &length) != napi_ok) {
		napi_throw_type_error(env, NULL, "privdrop.getpwnam: name must be a string");
		return NULL;
	}
	/* A name too long for an account, or with a NUL in it, names no user. */
	if (length >= sizeof name || napi_get_value_string_utf8(env, argv[0], name, sizeof name, &length) != napi_ok ||
	    strlen(name) != length) {
		napi_get_null(env, &out);
		return out;
	}
	struct passwd pw, *found = NULL;
	char *buffer = NULL;
	int err = ERANGE;
	for (size_t size = PASSWD_BUFFER_START; err == ERANGE && size <= PASSWD_BUFFER_MAX; size *= 2) {
		char *bigger = realloc(buffer, size);
		if (bigger == NULL) {
			err = ENOMEM;
			break;
		}
		buffer = bigger;
		err = getpwnam_r(name, &pw, buffer, size, &found);
	}
	if (found != NULL) {
		if (napi_create_object(env, &out) != napi_ok || !set_string(env, out, "name", pw.pw_name) ||
		    !set_uint(env, out, "uid", pw.pw_uid) || !set_uint(env, out, "gid", pw.pw_gid) ||
		    !set_string(env, out, "home", pw.pw_dir) || !set_string(env, out, "shell", pw.pw_shell))
			out = NULL;
	} else if (err == 0 || err == ENOENT) {
		/* glibc says "not found" with 0; ENOENT is what some NSS modules return. */
		napi_get_null(env, &out);
	} else {
		addon_throw_errno(env, NULL, err);
	}
	free(buffer);
	return out;
}

static napi_value js_chroot(napi_env env, napi_callback_info info) {
	napi_value arg;
	char path[PATH_MAX];
	if (!addon_one_argument(env, info, &arg, "privdrop.chroot(path)")) return NULL;
	if (!addon_string(env, arg, path, sizeof path, "privdrop.chroot: path")) return NULL;
	if (chroot(path) != 0) return addon_throw_errno(env, NULL, errno);
	return NULL;
}

static napi_value js_lock_file(napi_env env, napi_callback_info info) {
	int32_t fd;
	napi_value result;
	if (!addon_int32_argument(env, info, &fd, "privdrop.lockFile(fd)")) return NULL;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK) return addon_throw_errno(env, NULL, errno);
		napi_get_boolean(env, false, &result);
		return result;
	}
	napi_get_boolean(env, true, &result);
	return result;
}

/* A descriptor and a file name (no slash) from the first two arguments; false (a TypeError thrown) otherwise. */
static int dir_and_name(napi_env env, napi_value *argv, int32_t *dir_fd, char *name, size_t size, const char *usage) {
	if (napi_get_value_int32(env, argv[0], dir_fd) != napi_ok) {
		napi_throw_type_error(env, NULL, usage);
		return 0;
	}
	if (!addon_string(env, argv[1], name, size, usage)) return 0;
	if (name[0] == '\0' || strchr(name, '/') != NULL) {
		napi_throw_type_error(env, NULL, usage);
		return 0;
	}
	return 1;
}

static napi_value js_entry_of(napi_env env, napi_callback_info info) {
	static const char usage[] = "privdrop.entryOf(dirFd, name, fd)";
	size_t argc = 3;
	napi_value argv[3];
	int32_t dir_fd, fd;
	char name[NAME_MAX + 1];
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3) {
		napi_throw_type_error(env, NULL, usage);
		return NULL;
	}
	if (!dir_and_name(env, argv, &dir_fd, name, sizeof name, usage)) return NULL;
	if (napi_get_value_int32(env, argv[2], &fd) != napi_ok) {
		napi_throw_type_error(env, NULL, usage);
		return NULL;
	}
	struct stat held, entry;
	if (fstat(fd, &held) != 0) return addon_throw_errno(env, NULL, errno);
	const char *verdict;
	if (fstatat(dir_fd, name, &entry, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno != ENOENT) return addon_throw_errno(env, NULL, errno);
		verdict = "absent";
	} else {
		verdict = entry.st_dev == held.st_dev && entry.st_ino == held.st_ino ? "held" : "replaced";
	}
	napi_value out;
	napi_create_string_utf8(env, verdict, NAPI_AUTO_LENGTH, &out);
	return out;
}

static napi_value js_unlink_at(napi_env env, napi_callback_info info) {
	static const char usage[] = "privdrop.unlinkAt(dirFd, name)";
	size_t argc = 2;
	napi_value argv[2];
	int32_t dir_fd;
	char name[NAME_MAX + 1];
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2) {
		napi_throw_type_error(env, NULL, usage);
		return NULL;
	}
	if (!dir_and_name(env, argv, &dir_fd, name, sizeof name, usage)) return NULL;
	napi_value result;
	if (unlinkat(dir_fd, name, 0) != 0) {
		if (errno != ENOENT) return addon_throw_errno(env, NULL, errno);
		napi_get_boolean(env, false, &result);
		return result;
	}
	napi_get_boolean(env, true, &result);
	return result;
}

NAPI_MODULE_INIT() {
	static const addon_function functions[] = {{"getpwnam", js_getpwnam}, {"chroot", js_chroot}, {"lockFile", js_lock_file},
						   {"entryOf", js_entry_of},   {"unlinkAt", js_unlink_at}};
	return addon_export(env, exports, functions, sizeof functions / sizeof functions[0]);
}
