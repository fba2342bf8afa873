/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "templates/validate.h"

/*
 * The unattended-install medium: for a Linux guest a cloud-init NoCloud seed (volume "cidata"
 * holding meta-data and user-data), for Windows 11 an autounattend.xml that Setup finds on
 * any removable drive. Every value below is escaped where it is written (YAML double-quoted
 * scalars, XML text); values that no escaping can carry (control characters, invalid UTF-8)
 * are refused.
 */
struct gpv_seed {
	const char *name;     /* libvirt domain name; cloud-init's instance-id */
	const char *hostname; /* the guest's host name (Linux) or computer name (Windows) */
	const char *user;     /* the user made, an administrator (sudo on Linux) */
	const char *password; /* the user's password, plain text; never logged */
	bool ssh_pwauth;      /* Linux: let sshd accept passwords */
	unsigned autologon;   /* Windows: logons Windows makes on its own; 0 for none */
	const char *locale;   /* NULL: "en-US" on Windows, the image's own on Linux */
	const char *keyboard; /* Windows input locale ("de-DE", "0407:00000407"); NULL: locale */
	const char *timezone; /* NULL: "UTC" on Windows ("W. Europe Standard Time"), the
			       * image's own on Linux ("Europe/Berlin") */
	const char *edition;  /* Windows: the image to install ("Windows 11 Pro"); NULL: Setup
			       * asks when the medium holds several */
};

/* Volume id of the Linux seed, as cloud-init's NoCloud data source looks for it. */
#define GPV_SEED_CIDATA "cidata"

/*
 * The NoCloud seed's two files. user-data holds the password only as a SHA-512 crypt(3) hash
 * with a random salt. On success *ret_meta_data and *ret_user_data are owned by the caller.
 * Returns 0, -EINVAL with *why (caller frees) for a value the rules of templates/validate.h
 * refuse or an empty password, -EOPNOTSUPP when libcrypt is missing, -ENOMEM.
 */
int gpv_seed_cloud_init(
	const struct gpv_seed *s, char **ret_meta_data, char **ret_user_data, char **why);

/*
 * autounattend.xml for Windows 11. It holds the password in plain text, as unattend files do:
 * free it with gpv_password_free() (templates/password.h), which wipes it. Errors as above.
 */
int gpv_seed_windows(const struct gpv_seed *s, char **ret_xml, char **why);

/*
 * Builds the medium for os and writes it to path (mode 0600, replaced atomically; see
 * gpv_iso_write()). Errors as above, or those of gpv_iso_write().
 */
int gpv_seed_write_iso(
	const struct gpv_seed *s, enum gpv_guest_os os, const char *path, char **why);
