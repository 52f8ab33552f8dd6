// Routes libfido2 to in-process virtual keys. This file defines
// fido_dev_open and fido_dev_info_manifest: inside a binary that links this
// package they win symbol resolution over libfido2's, handle "virtual:NAME"
// paths through fido_dev_set_io_functions, and delegate everything else to
// the real functions found with dlsym(RTLD_NEXT). Only tests and the demo
// build link it.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <string.h>
#include <fido.h>
#include "_cgo_export.h"

static void *vk_open(const char *path) { return (void *)(uintptr_t)tkVirtOpen((char *)path); }
static void vk_close(void *h) { tkVirtClose((uintptr_t)h); }
static int vk_read(void *h, unsigned char *buf, size_t len, int ms) { return tkVirtRead((uintptr_t)h, buf, len, ms); }
static int vk_write(void *h, const unsigned char *buf, size_t len) { return tkVirtWrite((uintptr_t)h, (unsigned char *)buf, len); }

static const fido_dev_io_t vk_io = {vk_open, vk_close, vk_read, vk_write};

int fido_dev_open(fido_dev_t *dev, const char *path) {
	static int (*real_open)(fido_dev_t *, const char *);
	if (real_open == NULL)
		real_open = (int (*)(fido_dev_t *, const char *))dlsym(RTLD_NEXT, "fido_dev_open");
	if (real_open == NULL)
		return FIDO_ERR_INTERNAL;
	if (path != NULL && strncmp(path, "virtual:", 8) == 0) {
		int r = fido_dev_set_io_functions(dev, &vk_io);
		if (r != FIDO_OK)
			return r;
	}
	return real_open(dev, path);
}

int fido_dev_info_manifest(fido_dev_info_t *devlist, size_t ilen, size_t *olen) {
	static int (*real_manifest)(fido_dev_info_t *, size_t, size_t *);
	if (real_manifest == NULL)
		real_manifest = (int (*)(fido_dev_info_t *, size_t, size_t *))dlsym(RTLD_NEXT, "fido_dev_info_manifest");
	if (real_manifest == NULL)
		return FIDO_ERR_INTERNAL;
	int r = real_manifest(devlist, ilen, olen);
	if (r != FIDO_OK)
		return r;
	size_t n = tkVirtCount();
	for (size_t i = 0; i < n && *olen < ilen; i++) {
		char path[256], product[128], manufacturer[128];
		if (!tkVirtEntry(i, path, sizeof path, product, sizeof product, manufacturer, sizeof manufacturer))
			continue;
		fido_dev_transport_t t;
		memset(&t, 0, sizeof t);
		if (fido_dev_info_set(devlist, *olen, path, manufacturer, product, &vk_io, &t) == FIDO_OK)
			(*olen)++;
	}
	return FIDO_OK;
}
