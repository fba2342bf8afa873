/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the node device parser (probes/nodedev.c): the input is libvirt node
 * device XML, split into documents at each NUL byte, as a remote host's libvirt might send
 * them. Whatever they hold, the parser returns 0 with a consistent device list, or -EINVAL
 * with a message, and frees everything.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "probes/nodedev.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *xmls[8];
	struct gpv_pci *pci = NULL;
	char *why = NULL;
	size_t n = 0;
	int r;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (char *p = buf; n < ELEMENTSOF(xmls) && p <= buf + size; p += strlen(p) + 1)
		xmls[n++] = p;
	r = gpv_pci_from_nodedev(xmls, n, &pci, &why);
	assert(r == 0 || r == -EINVAL || r == -ENOMEM || r == -EOPNOTSUPP);
	if (r == 0) {
		assert(pci);
		for (size_t i = 0; i < pci->n; i++) {
			assert(strlen(pci->devs[i].addr) == 12);
			assert(gpv_pci_find(pci, pci->devs[i].addr) == &pci->devs[i]);
		}
		for (size_t i = 0; i < pci->n_groups; i++)
			assert(gpv_pci_group(pci, pci->groups[i].id) == &pci->groups[i]);
		gpv_pci_free(pci);
	}
	free(why);
	free(buf);
	return 0;
}
